// Cost of negative-prompt guidance on one FLUX transformer evaluation, counted by the engine
// (src/graph/flops.ts) from the planned graph of FluxTransformer2DModel at a real config,
// built on a shape-only weight scope (no checkpoint needed, nothing runs). Modes: none,
// nasa / nag / vsf (negative text stream through every block, src/guidance/flux.ts) and cfg
// (the pipeline's batch of two). Also splits where the extra FLOPs go.
//
//   npm run bench -- flux_flops [--config schnell|dev|<config.json>] [--size 1024] [--text 256] [--json]
import * as fs from 'node:fs';
import { parseArgs } from '../src/cli/args.ts';
import { nodeFlops, planFlops } from '../src/graph/flops.ts';
import { Graph, type Node } from '../src/graph/graph.ts';
import { plan } from '../src/graph/plan.ts';
import type { GraphGuidance } from '../src/guidance/types.ts';
import { ShapeOnlyScope } from '../src/io/shape_scope.ts';
import { FluxTransformer2DModel } from '../src/models/flux.ts';
import { FLUX_DEV, FLUX_SCHNELL, fluxConfig } from '../src/models/flux_configs.ts';
import '../src/ops/index.ts';

const { opts } = parseArgs('flux_flops bench', process.argv.slice(2), {
  config: { type: 'string' }, size: { type: 'number' }, text: { type: 'number' }, json: { type: 'boolean' }, quick: { type: 'boolean' },
});
const which = (opts.config as string | undefined) ?? 'schnell';
const config = which === 'schnell' ? FLUX_SCHNELL : which === 'dev' ? FLUX_DEV : fluxConfig(JSON.parse(fs.readFileSync(which, 'utf8')), which);
const size = (opts.size as number | undefined) ?? 1024;
const T = (opts.text as number | undefined) ?? 256; // schnell's max_sequence_length (dev: 512)
const N = (size / 16) ** 2; // VAE factor 8, then 2x2 packing
const model = new FluxTransformer2DModel(new ShapeOnlyScope(), config);
const hd = config.attention_head_dim;

function build(mode: string): Graph {
  const g = new Graph('f16');
  const B = mode === 'cfg' ? 2 : 1;
  const rope = (p: string, n: number) => ({ cos: g.input(`${p}cos`, [n, hd], 'f32'), sin: g.input(`${p}sin`, [n, hd], 'f32') });
  const x = {
    hidden_states: g.input('hidden_states', [B, N, config.in_channels]),
    encoder_hidden_states: g.input('encoder_hidden_states', [B, T, config.joint_attention_dim]),
    pooled_projections: g.input('pooled_projections', [B, config.pooled_projection_dim]),
    timestep: g.input('timestep', [B], 'f32'),
    guidance: config.guidance_embeds ? g.input('guidance', [B], 'f32') : null,
    rope: rope('rope_', T + N),
    negative_rope: rope('negative_rope_', T),
  };
  const neg = g.input('negative_encoder_hidden_states', [1, T, config.joint_attention_dim]);
  // Strengths are runtime scalars: FLOPs do not depend on them.
  const guidance: GraphGuidance | null = mode === 'nasa' || mode === 'nag' || mode === 'vsf' ? { mode, negativeContext: neg } : null;
  g.output('sample', model.forward(x, guidance));
  return g;
}

/** FLOPs of the negative text stream's attention (src/guidance/flux.ts scopes it 'negative_txt'). */
function negStreamAttention(order: Node[]): number {
  return order.filter((n) => n.op === 'attention' && n.label.includes('negative_txt')).reduce((s, n) => s + nodeFlops(n), 0);
}

const rows = [];
let base = 0, baseAttn = 0, baseMatmul = 0;
for (const mode of ['none', 'nasa', 'nag', 'vsf', 'cfg']) {
  const p = plan(build(mode));
  const f = planFlops(p);
  const negStream = negStreamAttention(p.order);
  if (mode === 'none') [base, baseAttn, baseMatmul] = [f.total, f.byOp.attention, f.byOp.matmul];
  rows.push({
    mode, tflop: f.total / 1e12, overheadPct: 100 * (f.total / base - 1),
    extraMatmulT: ((f.byOp.matmul ?? 0) - baseMatmul) / 1e12,
    extraNegAttnT: negStream / 1e12, extraImageAttnT: (f.byOp.attention - negStream - baseAttn) / 1e12,
    activationsGiB: (p.peakBytes - p.pinned.weights) / 2 ** 30, weightsGiB: p.pinned.weights / 2 ** 30,
  });
}
if (opts.json) for (const r of rows) console.log(JSON.stringify({ bench: 'flux_flops', config: which, size, text: T, tokens: N, ...r }));
else {
  console.log(`FluxTransformer2DModel ${which} (${config.num_layers} double + ${config.num_single_layers} single blocks, ${config.num_attention_heads}x${hd}), ${size}x${size} = ${N} image tokens, ${T} text (+ ${T} negative) tokens, f16 plan, FLOPs only`);
  console.log('mode   TFLOP     +FLOPs    +matmul(T)  +neg-stream attn(T)  +image attn(T)  planned activations');
  for (const r of rows) {
    console.log(`${r.mode.padEnd(6)} ${r.tflop.toFixed(2).padStart(7)}  ${(r.mode === 'none' ? '-' : `+${r.overheadPct.toFixed(2)}%`).padStart(8)}  ${r.extraMatmulT.toFixed(3).padStart(10)}  ${r.extraNegAttnT.toFixed(3).padStart(19)}  ${r.extraImageAttnT.toFixed(3).padStart(14)}  ${r.activationsGiB.toFixed(2).padStart(8)} GiB`);
  }
  console.log(`(weights pinned: ${rows[0].weightsGiB.toFixed(2)} GiB in f16)`);
}
process.exit(0);
