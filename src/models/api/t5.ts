// Typed API of the T5 encoder: load a transformers `text_encoder/` folder, run forward() on
// token ids and their attention mask.
//
// Memory. The token embedding is looked up on the host (only the rows of the prompt's ids
// are read from disk; T5-XXL's 32128 x 4096 table never goes to the device). The blocks
// run as graphs of consecutive blocks whose weights fit `groupBytes` (default 1 GiB):
//   - if all blocks fit `residentBytes` (default 2 GiB) they form ONE graph, compiled once
//     and kept with its weights on the device until destroy() (small encoders, tests);
//   - otherwise each group is compiled (its weights streamed from disk), run and destroyed
//     before the next, so the device never holds more than one group's weights. T5-XXL
//     (PixArt-α's encoder, 9.3 GB of blocks in f16): 24 blocks of 386 MB (q,k,v,o 4 x 4096^2,
//     wi_0/wi_1/wo 3 x 4096 x 10240) -> 12 groups of 2 blocks; the planner puts one group's
//     graph at 800 MB (772 MB weights + 28 MB activations, B = 2, S = 120). In f32: 24 groups
//     of one block, 821 MB. Set residentBytes high to keep everything on a big GPU.
// Between groups the hidden states travel through the host in f32.
//
// f16. T5 v1.1's activations are known to overflow f16 on real checkpoints (transformers
// keeps `wo` in f32 and clamps for this). Here a group whose f16 input does not fit f16, or
// whose f16 output holds inf/NaN, is re-run in f32, with a line on stderr; the groups that
// needed f32 are remembered for later calls.
import { EngineError } from '../../errors.ts';
import { getDevice, type Device } from '../../gpu/device.ts';
import { Graph, type Float, type Node } from '../../graph/graph.ts';
import { Executable } from '../../graph/run.ts';
import { toFloat32 } from '../../io/dtype.ts';
import { bytesFor, type WeightSource } from '../../io/safetensors.ts';
import { add } from '../../ops/index.ts';
import { recordTaps } from '../nn.ts';
import { t5Config, type T5Config } from '../pixart_configs.ts';
import { maskBias, positionBias, T5EncoderModel } from '../t5.ts';
import { allFinite, runF16OrF32 } from './f16.ts';
import { buildModel, openForLoad, checkInputs, GraphCache, type HostTensor, type InputSpec, type LoadOptions, type RunOptions, type Component } from './common.ts';

export interface T5LoadOptions extends LoadOptions {
  /** Most weight bytes one block graph may hold (default 1 GiB; at least one block). */
  groupBytes?: number;
  /** Keep the whole encoder on the device as one graph when its blocks fit (default 2 GiB). */
  residentBytes?: number;
}

/** What the last forward() did, for tests and logs. */
export interface T5RunStats {
  /** Block ranges [from, to) run as one graph each. */
  groups: [number, number][];
  resident: boolean;
  /** Groups re-run (or run) in f32 because f16 did not hold. */
  f32Groups: number[];
  /** Largest weight bytes of one group graph: what the device holds at once. */
  peakWeightBytes: number;
  /** Largest planned device bytes of one group graph (weights + activations + inputs/outputs). */
  peakBytes: number;
}

export class T5Encoder {
  readonly className = 'T5EncoderModel';
  readonly groups: [number, number][];
  readonly resident: boolean;
  private cache: GraphCache;
  private device: Promise<Device>;
  private relBias: Float32Array | null = null;
  private f32Groups = new Set<number>();
  /** Where f16 overflow notes go (stderr by default; tests capture it). */
  warn: (msg: string) => void = (m) => console.error(m);
  lastRun: T5RunStats | null = null;

  private constructor(readonly model: T5EncoderModel, readonly config: T5Config, opts: T5LoadOptions) {
    this.device = opts.device ? Promise.resolve(opts.device) : getDevice();
    const dtype = opts.dtype ?? 'f32';
    const bytes = model.encoder.block.map((b) => b.weightBytes(dtype === 'f16' ? 2 : 4));
    const total = bytes.reduce((a, b) => a + b, 0);
    this.resident = total <= (opts.residentBytes ?? 2 ** 31);
    this.groups = this.resident ? [[0, bytes.length]] : groupBlocks(bytes, opts.groupBytes ?? 2 ** 30);
    this.cache = new GraphCache(dtype, this.device, 2);
  }

  static load(dir: string, opts: T5LoadOptions = {}): T5Encoder {
    return T5Encoder.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  static fromComponent(where: string, comp: Component, opts: T5LoadOptions = {}): T5Encoder {
    // A full T5 (encoder-decoder) folder: only the encoder is used.
    const { model, config } = buildModel(where, comp, t5Config, T5EncoderModel, [/^decoder\./, /^lm_head\./]);
    return new T5Encoder(model, config, opts);
  }

  get dtype() { return this.cache.dtype; }

  signature(): InputSpec[] {
    return [
      { name: 'input_ids', shapes: [['B', 'S']], kind: 'int', doc: 'token ids (with </s>, padded)' },
      { name: 'attention_mask', shapes: [['B', 'S']], kind: 'int', optional: true, doc: '1 = token, 0 = padding (default: all 1)' },
    ];
  }

  /**
   * input_ids [B, S], attention_mask [B, S] -> last_hidden_state [B, S, d_model]; with
   * opts.debug also debug.hidden_states.0..N as transformers numbers them.
   */
  async forward(inputs: { input_ids: HostTensor; attention_mask?: HostTensor }, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const c = this.config, what = `${this.className} forward`;
    const { B, S } = checkInputs(what, this.signature(), inputs);
    const ids = inputs.input_ids.data;
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < c.vocab_size)) throw new EngineError(`${what}: input_ids[${Math.floor(i / S)}, ${i % S}] = ${ids[i]} is outside the vocabulary [0, ${c.vocab_size})`);
    }
    const mask = inputs.attention_mask?.data ?? new Int32Array(B * S).fill(1);
    for (let b = 0; b < B; b++) {
      let any = false;
      for (let s = 0; s < S; s++) {
        const m = mask[b * S + s];
        if (m !== 0 && m !== 1) throw new EngineError(`${what}: attention_mask[${b}, ${s}] = ${m}, expected 0 or 1`);
        any ||= m === 1;
      }
      if (!any) throw new EngineError(`${what}: attention_mask row ${b} is all 0 (every prompt keeps at least its </s> token)`);
    }

    const D = c.d_model, H = c.num_heads;
    let h: HostTensor = { shape: [B, S, D], data: embedRows(this.model.shared.weight, ids, D) };
    const out: Record<string, HostTensor> = {};
    if (opts.debug) out['debug.hidden_states.0'] = h;
    this.relBias ??= toFloat32(this.model.relativeAttentionBias);
    const pos = positionBias(this.relBias, H, S, c.relative_attention_num_buckets, c.relative_attention_max_distance);
    const stats: T5RunStats = { groups: this.groups, resident: this.resident, f32Groups: [], peakWeightBytes: 0, peakBytes: 0 };

    for (let gi = 0; gi < this.groups.length; gi++) {
      const [from, to] = this.groups[gi];
      const last = to === c.num_layers;
      const build = (g: Graph): Record<string, Node> => {
        const x = g.input('hidden', [B, S, D]);
        const bias = add(g.input('position_bias', [1, H, S, S]), g.input('mask', [B, 1, 1, S])); // [B, H, S, S]
        const y = this.model.blocks(x, bias, from, to);
        return last ? { hidden: y, last_hidden_state: this.model.finalNorm(y) } : { hidden: y };
      };
      const run = async (dtype: Float) => {
        const feed = { hidden: h.data, position_bias: pos, mask: maskBias(mask, dtype) };
        return this.runGroup(gi, `${B}x${S}`, build, feed, dtype, !!opts.debug, stats);
      };
      let r: Record<string, HostTensor>;
      if (this.dtype === 'f16') {
        const res = await runF16OrF32('t5', `blocks ${from}..${to - 1}`, h, this.f32Groups.has(gi), run, this.warn);
        if (res.usedF32) {
          this.f32Groups.add(gi);
          stats.f32Groups.push(gi);
        }
        r = res.out;
      } else r = await run(this.dtype);
      h = r.hidden;
      for (const [k, v] of Object.entries(r)) if (k.startsWith('debug.')) out[k] = v;
      if (last) out.last_hidden_state = r.last_hidden_state;
    }
    if (opts.debug) out[`debug.hidden_states.${c.num_layers}`] = out.last_hidden_state;
    if (!allFinite(out.last_hidden_state)) throw new EngineError(`${what}: the output holds inf/NaN`);
    this.lastRun = stats;
    return out;
  }

  /** Runs one block group: cached when resident, else compiled, run and destroyed. */
  private async runGroup(gi: number, shape: string, build: (g: Graph) => Record<string, Node>, feed: Record<string, ArrayLike<number>>,
    dtype: Float, debug: boolean, stats: T5RunStats): Promise<Record<string, HostTensor>> {
    let ex: Executable, names: string[];
    if (this.resident) {
      ({ ex, outputs: names } = await this.cache.get(`group${gi}|${shape}`, build, { dtype, debug }));
    } else {
      const g = new Graph(dtype);
      const taps = debug ? recordTaps(g) : null;
      for (const [name, n] of Object.entries(build(g))) g.output(name, n);
      if (taps) for (const [path, n] of taps) g.output(`debug.${path}`, n);
      ex = await Executable.compile(await this.device, g);
      names = [...g.outputs.keys()];
    }
    try {
      const m = ex.memory;
      stats.peakWeightBytes = Math.max(stats.peakWeightBytes, m.weights);
      stats.peakBytes = Math.max(stats.peakBytes, m.peakBytes);
      const raw = await ex.run(feed);
      const out: Record<string, HostTensor> = {};
      for (const name of names) out[name] = { shape: [...ex.plan.graph.outputs.get(name)!.shape], data: raw[name] as Float32Array };
      return out;
    } finally {
      if (!this.resident) ex.destroy();
    }
  }

  destroy(): void {
    this.cache.destroy();
  }
}

/** Consecutive blocks packed into groups of at most `budget` bytes (one block at least). */
export function groupBlocks(bytes: number[], budget: number): [number, number][] {
  const groups: [number, number][] = [];
  let start = 0, sum = 0;
  bytes.forEach((b, i) => {
    if (i > start && sum + b > budget) {
      groups.push([start, i]);
      start = i;
      sum = 0;
    }
    sum += b;
  });
  if (bytes.length) groups.push([start, bytes.length]);
  return groups;
}

/** Rows `ids` of an embedding table [V, D] read from its file (only those rows), as f32. */
export function embedRows(table: WeightSource, ids: ArrayLike<number>, D: number): Float32Array {
  const rowBytes = bytesFor(table.dtype, D);
  const rows = new Map<number, Float32Array>();
  const out = new Float32Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    let r = rows.get(id);
    if (!r) {
      const at = id * rowBytes;
      const src: WeightSource = { ...table, name: `${table.name}[${id}]`, shape: [D], byteOffset: table.byteOffset + at, byteLength: rowBytes };
      if (table.data) src.data = table.data.subarray(at, at + rowBytes);
      rows.set(id, (r = toFloat32(src)));
    }
    out.set(r, i * D);
  }
  return out;
}
