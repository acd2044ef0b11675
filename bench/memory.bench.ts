// Planned device memory per pipeline stage at real configs (SD-Turbo 512², SDXL-Turbo 512²
// and 1024²; f16 and f32), from the engine's own planner: each stage's graph is built on a
// shape-only weight scope (src/io/shape_scope.ts: no checkpoint, nothing runs) and laid out
// in the arena exactly as Executable.compile would on this adapter (its scratch requests,
// its chunk limit). Weights are what the stage's graph pins; the arena is the most
// activation bytes (inputs, outputs, intermediates, scratch) alive at once in that graph.
// Device peak during a stage = weights resident so far (text encoders, then UNet, then VAE:
// the pipeline keeps each model's graphs cached) + the largest arena so far (one per device).
// The stage graphs are the ones the pipeline runs: CLIP over [prompt; negative] (B=2), the
// UNet with NASA (B=1 + negative context), the VAE decoder as one graph.
//
//   npm run bench -- memory [--json] [--only sd-turbo-512|sdxl-512|sdxl-1024] [--dtype f16|f32]
import { parseArgs } from '../src/cli/args.ts';
import { getDevice } from '../src/gpu/device.ts';
import { Graph, type Float, type Node } from '../src/graph/graph.ts';
import { formatBytes, plan, type Plan } from '../src/graph/plan.ts';
import { ShapeOnlyScope } from '../src/io/shape_scope.ts';
import { PRESETS } from '../src/io/presets.ts';
import { CLIPTextModel } from '../src/models/clip.ts';
import { clipTextConfig, unetConfig, vaeConfig } from '../src/models/configs.ts';
import { UNet2DConditionModel } from '../src/models/unet.ts';
import { AutoencoderKL } from '../src/models/vae.ts';
import { getOp, type Scratch } from '../src/ops/registry.ts';
import '../src/ops/index.ts';

const { opts } = parseArgs('memory bench', process.argv.slice(2), {
  json: { type: 'boolean' }, quick: { type: 'boolean' }, only: { type: 'string' }, dtype: { type: 'string' },
});
const dev = await getDevice();
const ctx = { ...dev.facts, variants: {} };
const scratch = (n: Node): Scratch[] => getOp(n.op).encode(n, ctx).flatMap((c) => c.buffers.filter((o): o is Scratch => 'scratch' in o));
const limit = dev.arena.chunkLimit;

interface Stage { stage: string; weights: number; arena: number; largest: number; overLimit: boolean }

function planStage(stage: string, dtype: Float, build: (g: Graph) => Record<string, Node>): Stage {
  const g = new Graph(dtype);
  for (const [k, v] of Object.entries(build(g))) g.output(k, v);
  // Unbounded chunks: what the plan needs; tensors over this adapter's binding limit are flagged.
  const p: Plan = plan(g, { scratch, chunkBytes: Infinity });
  let largest = 0;
  for (const n of p.place.keys()) largest = Math.max(largest, n.numel * (n.dtype === 'f16' ? 2 : 4));
  return { stage, weights: p.pinned.weights + p.pinned.consts, arena: p.arenaBytes, largest, overLimit: largest > limit };
}

const CASES = [
  { name: 'sd-turbo-512', preset: 'sd-turbo', size: 512 },
  { name: 'sdxl-512', preset: 'sdxl', size: 512 },
  { name: 'sdxl-1024', preset: 'sdxl', size: 1024 },
].filter((c) => !opts.only || c.name === opts.only);
const dtypes = (opts.dtype ? [opts.dtype] : ['f16', 'f32']) as Float[];

const rows: any[] = [];
for (const c of CASES) {
  const pre = PRESETS[c.preset];
  for (const dtype of dtypes) {
    const bpv = dtype === 'f16' ? 2 : 4;
    const stages: Stage[] = [];
    const encoders = [pre.text_encoder, pre.text_encoder_2].filter(Boolean).map((cfg) => clipTextConfig(cfg as any, `${c.preset} text encoder`));
    encoders.forEach((cfg, i) => {
      const m = new CLIPTextModel(new ShapeOnlyScope('', bpv), cfg);
      stages.push(planStage(`text encode${encoders.length > 1 ? ` ${i + 1}` : ''}`, dtype, (g) => {
        const o = m.forward(g.input('input_ids', [2, 77], 'i32'), g.input('pooled_index', [2], 'i32'));
        return { last_hidden_state: o.last_hidden_state, hidden: o.hidden_states[o.hidden_states.length - 2], ...(o.text_embeds ? { text_embeds: o.text_embeds } : {}) };
      }));
    });
    const uc = unetConfig(pre.unet as any, `${c.preset} unet`);
    const unet = new UNet2DConditionModel(new ShapeOnlyScope('', bpv), uc);
    const h = c.size / 8, D = uc.cross_attention_dim[0];
    stages.push(planStage('denoise', dtype, (g) => {
      const sdxl = !!unet.add;
      const x = {
        sample: g.input('sample', [1, 4, h, h]), timestep: g.input('timestep', [1], 'f32'),
        encoder_hidden_states: g.input('encoder_hidden_states', [1, 77, D]),
        text_embeds: sdxl ? g.input('text_embeds', [1, 1280]) : null, time_ids: sdxl ? g.input('time_ids', [1, 6], 'f32') : null,
      };
      return { sample: unet.forward(x, { mode: 'nasa', negativeContext: g.input('negative_encoder_hidden_states', [1, 77, D]) }) };
    }));
    const vae = new AutoencoderKL(new ShapeOnlyScope('', bpv), vaeConfig(pre.vae as any, `${c.preset} vae`));
    stages.push(planStage('decode', dtype, (g) => ({ sample: vae.decode(g.input('z', [1, 4, h, h])) })));
    let weights = 0, arena = 0;
    for (const s of stages) {
      weights += s.weights;
      arena = Math.max(arena, s.arena);
      rows.push({ bench: 'memory', case: c.name, dtype, ...s, devicePeak: weights + arena, weightsSoFar: weights, adapter: dev.adapterName, chunkLimit: limit });
    }
  }
}

if (opts.json) for (const r of rows) console.log(JSON.stringify(r));
else {
  console.log(`planned device memory per stage (shape-only graphs, arena laid out for ${dev.adapterName}; binding limit ${formatBytes(limit)})`);
  console.log('case          dtype  stage          weights     arena (peak activations)  largest tensor        device peak (weights so far + max arena)');
  for (const r of rows) {
    console.log(`${r.case.padEnd(13)} ${r.dtype}    ${r.stage.padEnd(14)} ${formatBytes(r.weights).padStart(10)}  ${formatBytes(r.arena).padStart(12)}              ${formatBytes(r.largest).padStart(10)}${r.overLimit ? ' > limit' : '        '}   ${formatBytes(r.devicePeak).padStart(10)} (+${formatBytes(r.devicePeak - r.weightsSoFar)} over weights)`);
  }
}
process.exit(0);
