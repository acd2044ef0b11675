// What the typed model API shares: host tensors, input checking against a model's
// declared signature (so a wrong or missing input names what the model expects), and a
// small cache of compiled graphs keyed by what changes the graph (shapes, dtype, mode;
// never runtime scalars such as guidance strengths, which each run sets).
import { EngineError } from '../../errors.ts';
import { getDevice, type Device } from '../../gpu/device.ts';
import { Graph, type Float, type Node } from '../../graph/graph.ts';
import { Executable, type HostArray } from '../../graph/run.ts';
import { openComponent } from '../../io/folder.ts';
import { WeightScope, type WeightStore } from '../../io/store.ts';
import { shapeStr } from '../../tensor/dtype.ts';
import '../../ops/index.ts';
import { recordTaps } from '../nn.ts';

/** A tensor in JS memory, row-major. Floats as Float32Array, ids as Int32Array. */
export type { HostTensor } from '../../io/host.ts';
import type { HostTensor } from '../../io/host.ts';

export interface LoadOptions {
  /** Compute dtype: weights are converted on upload; stats/softmax stay f32 in kernels. */
  dtype?: Float;
  /** Weight variant to read (e.g. 'fp16' for `*.fp16.safetensors`); default: the plain file. */
  variant?: string;
  device?: Device;
}

export interface RunOptions {
  /** Also return intermediates as `debug.<module path>` (parity debugging). */
  debug?: boolean;
}

/**
 * One input of a model method. `shapes` lists the accepted shapes (alternatives); a
 * string is a symbolic dimension bound by the first input that has it.
 */
export interface InputSpec {
  name: string;
  shapes: (number | string)[][];
  kind: 'float' | 'int';
  optional?: boolean;
  doc: string;
}

const fmtSpec = (s: InputSpec) => `${s.name} ${s.shapes.map((sh) => `[${sh.join(', ')}]`).join(' | ')} ${s.kind}${s.optional ? ' (optional)' : ''}`;

export function describeSignature(specs: InputSpec[]): string {
  return specs.map(fmtSpec).join('; ');
}

/** Checks names, kinds and shapes; returns the bound symbolic dims (B, H, W, ...). */
export function checkInputs(what: string, specs: InputSpec[], inputs: Record<string, HostTensor | undefined>): Record<string, number> {
  const expects = `expected inputs: ${describeSignature(specs)}`;
  for (const name of Object.keys(inputs)) {
    if (inputs[name] !== undefined && !specs.some((s) => s.name === name)) throw new EngineError(`${what}: unexpected input '${name}'; ${expects}`);
  }
  const dims: Record<string, number> = {};
  for (const s of specs) {
    const t = inputs[s.name];
    if (!t) {
      if (s.optional) continue;
      throw new EngineError(`${what}: missing input '${s.name}'; ${expects}`);
    }
    if (s.kind === 'int' && !(t.data instanceof Int32Array)) throw new EngineError(`${what}: input '${s.name}' must hold integer ids; ${expects}`);
    if (s.kind === 'float' && !(t.data instanceof Float32Array)) throw new EngineError(`${what}: input '${s.name}' must hold floats; ${expects}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new EngineError(`${what}: input '${s.name}' has ${t.data.length} values for shape ${shapeStr(t.shape)}`);
    const fits = (sh: (number | string)[]) => {
      if (sh.length !== t.shape.length) return null;
      const bound: Record<string, number> = {};
      for (let i = 0; i < sh.length; i++) {
        const want = sh[i], got = t.shape[i];
        if (typeof want === 'number') {
          if (want !== got) return null;
        } else {
          const prev = dims[want] ?? bound[want];
          if (prev !== undefined ? prev !== got : got < 1) return null;
          bound[want] = got;
        }
      }
      return bound;
    };
    let bound: Record<string, number> | null = null;
    for (const sh of s.shapes) if ((bound = fits(sh))) break;
    if (!bound) {
      const known = Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(', ');
      throw new EngineError(`${what}: input '${s.name}' has shape ${shapeStr(t.shape)}, expected ${s.shapes.map((sh) => `[${sh.join(', ')}]`).join(' or ')}${known ? ` with ${known}` : ''}; ${expects}`);
    }
    Object.assign(dims, bound);
  }
  return dims;
}

/**
 * After a model is built from `ws`: tensors nobody asked for usually mean a config that
 * does not match the checkpoint (e.g. fewer layers); say so once, on stderr.
 */
/** A component as opened from a folder or from a single-file checkpoint's part. */
export interface Component { config: Record<string, any>; store: WeightStore }

/** The component folder `load(dir, opts)` opens (config.json + weights under any diffusers file name). */
export function openForLoad(dir: string, opts: LoadOptions): Component {
  return openComponent(dir, { variant: opts.variant ?? null });
}

/**
 * What every `fromComponent` does: read config.json with `readConfig` (errors name
 * `where`/config.json), build `Model` on the component's weights, and warn about checkpoint
 * tensors it did not use (but those matching `ignore`).
 */
export function buildModel<C, M>(where: string, comp: Component, readConfig: (cfg: Record<string, any>, file: string) => C,
  Model: new (ws: WeightScope, config: C) => M, ignore: RegExp[] = []): { model: M; config: C } {
  const config = readConfig(comp.config, `${where}/config.json`);
  const ws = new WeightScope(comp.store);
  const model = new Model(ws, config);
  warnUnused(ws, where, ignore);
  return { model, config };
}

export function warnUnused(ws: WeightScope, where: string, ignore: RegExp[] = []): void {
  const extra = ws.unused().filter((n) => !ignore.some((re) => re.test(n)));
  if (extra.length) console.error(`warning: ${where}: ${extra.length} tensor(s) not used by the model, e.g. ${extra.slice(0, 4).map((n) => `'${n}'`).join(', ')}`);
}

export function checkFinite(what: string, name: string, t: HostTensor): void {
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) throw new EngineError(`${what}: input '${name}' has a non-finite value (${t.data[i]}) at flat index ${i}`);
  }
}

interface Compiled {
  ex: Executable;
  outputs: string[];
}

/**
 * Compiled graphs of one model, by key. Each holds its own copy of the weights on the GPU,
 * so only the most recent few are kept.
 */
export class GraphCache {
  private entries = new Map<string, Promise<Compiled>>();
  constructor(readonly dtype: Float, private readonly device: Promise<Device>, private readonly keep = 2) {}

  static forOptions(opts: LoadOptions): GraphCache {
    return new GraphCache(opts.dtype ?? 'f32', opts.device ? Promise.resolve(opts.device) : getDevice());
  }

  /** Another cache on the same device and dtype, keeping `keep` graphs. */
  sibling(keep: number): GraphCache {
    return new GraphCache(this.dtype, this.device, keep);
  }

  /** Compiles (once per key) the graph `build` records; `build` returns its outputs. */
  get(key: string, build: (g: Graph) => Record<string, Node>, opts: RunOptions & { dtype?: Float } = {}): Promise<Compiled> {
    const dtype = opts.dtype ?? this.dtype;
    const full = `${dtype}|${key}|${opts.debug ? 'debug' : ''}`;
    let e = this.entries.get(full);
    if (e) {
      this.entries.delete(full); // most recent last
      this.entries.set(full, e);
      return e;
    }
    e = (async () => {
      const g = new Graph(dtype);
      const taps = opts.debug ? recordTaps(g) : null;
      const outs = build(g);
      for (const [name, n] of Object.entries(outs)) g.output(name, n);
      if (taps) for (const [path, n] of taps) if (!g.outputs.has(`debug.${path}`)) g.output(`debug.${path}`, n);
      const ex = await Executable.compile(await this.device, g);
      return { ex, outputs: [...g.outputs.keys()] };
    })();
    this.entries.set(full, e);
    e.catch(() => this.entries.delete(full));
    while (this.entries.size > this.keep) {
      const [oldKey, old] = this.entries.entries().next().value as [string, Promise<Compiled>];
      this.entries.delete(oldKey);
      old.then((c) => c.ex.destroy(), () => {});
    }
    return e;
  }

  /** Runs the graph of `key` (compiled once) with these inputs and runtime scalar values. */
  async run(key: string, build: (g: Graph) => Record<string, Node>, inputs: Record<string, ArrayLike<number>>, opts: RunOptions & { dtype?: Float } = {}, scalars: Record<string, number> = {}): Promise<Record<string, HostTensor>> {
    const c = await this.get(key, build, opts);
    c.ex.setScalars(scalars);
    const raw = await c.ex.run(inputs);
    const outs: Record<string, HostTensor> = {};
    const graph = c.ex.plan.graph;
    for (const name of c.outputs) outs[name] = { shape: [...graph.outputs.get(name)!.shape], data: toHost(raw[name]) };
    return outs;
  }

  destroy(): void {
    for (const e of this.entries.values()) e.then((c) => c.ex.destroy(), () => {});
    this.entries.clear();
  }
}

function toHost(a: HostArray): Float32Array | Int32Array {
  if (a instanceof Float32Array || a instanceof Int32Array) return a;
  return Int32Array.from(a);
}

export const shapeKey = (...ts: (HostTensor | undefined | null)[]) => ts.map((t) => (t ? t.shape.join('x') : '-')).join(',');
