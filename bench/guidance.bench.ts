// Cost of negative-prompt guidance on one UNet evaluation: FLOPs counted by the engine from
// the planned graph, and measured time, for none / nasa / nag / vsf / cfg on the same model
// and size. The paper reports NASA +1.89% FLOPs and CFG +100%.
//
//   npm run bench -- guidance                                  embedded tiny model, its size
//   npx tsx tools/make-random-unet.ts /tmp/sd-turbo-unet        SD-Turbo's real UNet config,
//   npm run bench -- guidance --model /tmp/sd-turbo-unet --size 512   random F16 weights
//   options: --dtype f32|f16, --runs N, --modes none,nasa,cfg, --flops-only, --json
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../src/cli/args.ts';
import { getDevice } from '../src/gpu/device.ts';
import { planFlops } from '../src/graph/flops.ts';
import { Graph, type Float } from '../src/graph/graph.ts';
import { plan } from '../src/graph/plan.ts';
import { Executable } from '../src/graph/run.ts';
import { GUIDANCE_FAMILIES, layoutParts, SITE_LAYOUTS } from '../src/guidance/families.ts';
import { guidanceScalars } from '../src/guidance/scalars.ts';
import type { AttentionGuidance, GraphGuidance } from '../src/guidance/types.ts';
import { openComponent } from '../src/io/folder.ts';
import { WeightScope } from '../src/io/store.ts';
import { unetConfig } from '../src/models/configs.ts';
import { UNet2DConditionModel } from '../src/models/unet.ts';
import '../src/ops/index.ts';
import { seededUniform } from '../src/tensor/random.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const { opts } = parseArgs('guidance bench', process.argv.slice(2), {
  model: { type: 'string' }, size: { type: 'number' }, dtype: { type: 'string' }, runs: { type: 'number' },
  modes: { type: 'string' }, 'flops-only': { type: 'boolean' }, json: { type: 'boolean' }, quick: { type: 'boolean' },
});
const dir = (opts.model as string | undefined) ?? path.join(here, '..', 'weights', 'default', 'unet');
const dtype = ((opts.dtype as string | undefined) ?? 'f32') as Float;
const runs = (opts.runs as number | undefined) ?? (opts.quick ? 1 : 3);
const modes = ((opts.modes as string | undefined) ?? 'none,nasa,nag,vsf,cfg').split(',');

const comp = openComponent(dir);
const config = unetConfig(comp.config, `${dir}/config.json`);
const model = new UNet2DConditionModel(new WeightScope(comp.store), config);
const f = 8; // latent factor of real SD VAEs; the embedded model's VAE has the same 8x
const latent = Math.round(((opts.size as number | undefined) ?? (config.sample_size ?? 64) * f) / f);
const C = config.cross_attention_dim[0], S = 77;

function build(mode: string): Graph {
  const g = new Graph(dtype);
  const B = mode === 'cfg' ? 2 : 1; // CFG: [uncond; cond] in one batch, as diffusers does
  const x = {
    sample: g.input('sample', [B, config.in_channels, latent, latent]),
    timestep: g.input('timestep', [B], 'f32'),
    encoder_hidden_states: g.input('encoder_hidden_states', [B, S, C]),
    text_embeds: null, time_ids: null,
  };
  let guidance: GraphGuidance | null = null;
  if (mode === 'nasa' || mode === 'nag' || mode === 'vsf') guidance = { mode, negativeContext: g.input('negative', [1, S, C]) };
  g.output('sample', model.forward(x as any, guidance));
  return g;
}

/** SD2's default strengths for each attention-space mode, as runtime scalar values. */
function scalarsFor(mode: string): Record<string, number> {
  if (mode !== 'nasa' && mode !== 'nag' && mode !== 'vsf') return {};
  const settings = { mode, ...GUIDANCE_FAMILIES.sd2.defaults[mode] } as AttentionGuidance;
  return guidanceScalars(settings, model.crossAttnSites, layoutParts(SITE_LAYOUTS.unet));
}


const rows: { mode: string; gflops: number; flopsOverhead: number; ms: number | null; timeOverhead: number | null; peakMiB: number }[] = [];
const dev = opts['flops-only'] ? null : await getDevice();
// Compile every mode first, then time them in interleaved rounds (min per mode), so no mode
// pays the first-run costs (page faults on fresh buffers) and slow moments hit all alike.
const cases = [];
for (const mode of modes) {
  const g = build(mode);
  const p = plan(g);
  const B = mode === 'cfg' ? 2 : 1;
  const inputs: Record<string, Float32Array> = {
    sample: seededUniform(B * config.in_channels * latent * latent, 1), timestep: new Float32Array(B).fill(999),
    encoder_hidden_states: seededUniform(B * S * C, 2),
  };
  if (g.inputs.has('negative')) inputs.negative = seededUniform(S * C, 3);
  const ex = dev ? await Executable.compile(dev, g) : null;
  ex?.setScalars(scalarsFor(mode));
  if (ex) await ex.run(inputs); // warm-up
  cases.push({ mode, flops: planFlops(p).total, peak: ex ? ex.memory.peakBytes : p.peakBytes, ex, inputs, times: [] as number[] });
}
for (let r = 0; dev && r < runs; r++) {
  for (const c of cases) {
    // Per-dispatch timestamps are unreliable on CPU-emulated adapters (lavapipe): there the
    // wall clock of a whole run is the honest number.
    const prof = dev.isSoftware ? null : await c.ex!.profile(c.inputs);
    if (prof) c.times.push(prof.reduce((a, q) => a + q.ms, 0));
    else {
      const t0 = performance.now();
      await c.ex!.run(c.inputs);
      c.times.push(performance.now() - t0);
    }
  }
}
const base = cases[0];
const baseMs = base.times.length ? Math.min(...base.times) : null;
for (const c of cases) {
  const ms = c.times.length ? Math.min(...c.times) : null;
  rows.push({
    mode: c.mode, gflops: c.flops / 1e9, flopsOverhead: 100 * (c.flops / base.flops - 1), ms,
    timeOverhead: ms !== null && baseMs ? 100 * (ms / baseMs - 1) : null, peakMiB: c.peak / 2 ** 20,
  });
  c.ex?.destroy();
}

const head = `UNet ${path.basename(path.resolve(dir, '..'))}/${path.basename(dir)} (${(config.block_out_channels).join('/')}), ` +
  `${latent * f}x${latent * f} (latent ${latent}x${latent}), ${dtype}, ${dev ? dev.adapterName : 'FLOPs only'}`;
if (opts.json) for (const r of rows) console.log(JSON.stringify({ bench: 'guidance', model: dir, size: latent * f, dtype, adapter: dev?.adapterName ?? null, ...r }));
else {
  console.log(head);
  console.log('mode   GFLOP      +FLOPs   ms (min of ' + runs + ')   +time     planned peak');
  for (const r of rows) {
    console.log(`${r.mode.padEnd(6)} ${r.gflops.toFixed(3).padStart(9)}  ${fmtPct(r.flopsOverhead).padStart(8)}  ${(r.ms === null ? '-' : r.ms.toFixed(1)).padStart(12)}  ${fmtPct(r.timeOverhead).padStart(8)}  ${r.peakMiB.toFixed(1).padStart(9)} MiB`);
  }
}
process.exit(0);

function fmtPct(v: number | null): string {
  return v === null ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}%`;
}
