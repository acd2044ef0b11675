import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { timestepEmbedding, type TimestepEmbeddingOptions } from '../../src/ops/timestep_embedding.ts';
import { timestepEmbedding as ref } from '../../src/ref/timestep_embedding.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { FIXTURES, readFixtureTensors } from '../util/fixture.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

// Timesteps up to 1000 (integer and fractional), zero and negative.
const ts = Float32Array.from([999, 0, 500.5, 1, 0.123, 981, -3.25, ...Array.from(rand(9, 5, 1), (v) => Math.fround(500 + 500 * v))]);
const cases: [number, TimestepEmbeddingOptions][] = [
  [32, { flipSinToCos: true, downscaleFreqShift: 0 }], // diffusers UNet2DConditionModel (SD)
  [320, { flipSinToCos: true, downscaleFreqShift: 0 }],
  [256, { flipSinToCos: true, downscaleFreqShift: 0 }], // PixArt adaLN-single
  [7, { flipSinToCos: false, downscaleFreqShift: 1 }], // odd dim: zero column
  [12, { downscaleFreqShift: 1, maxPeriod: 1000, scale: 2.5 }],
];

for (const [dim, opts] of cases) {
  test(`timestep_embedding f32 dim=${dim} ${JSON.stringify(opts)}`, async () => {
    const out = await runGraph('f32', (g) => ({ y: timestepEmbedding(g.input('t', [ts.length]), dim, opts) }), { t: ts });
    const o = { flipSinToCos: false, downscaleFreqShift: 1, maxPeriod: 10000, scale: 1, ...opts };
    // Float64 reference; the kernel's argument reduction keeps the error ~1e-6 at 1000 rad.
    assertClose(`temb dim=${dim}`, out.y, ref(ts, dim, o.flipSinToCos, o.downscaleFreqShift, o.maxPeriod, o.scale), 3e-6, 0);
  });
}

test('timestep_embedding f16 graph, timesteps given as f32 or f16', async () => {
  for (const tDtype of ['f32', 'f16'] as const) {
    const t = tDtype === 'f16' ? roundF16(ts) : ts;
    const out = await runGraph('f16', (g) => ({
      y: timestepEmbedding(g.input('t', [t.length], tDtype), 33, { flipSinToCos: true, downscaleFreqShift: 0 }),
    }), { t });
    assertClose(`temb f16 (t ${tDtype})`, out.y, ref(t, 33, true, 0), 1e-3, 0); // f16 output rounding
  }
});

test('timestep_embedding matches diffusers goldens (unet-sd21 time_proj, unet-sdxl add_time_proj)', async () => {
  const sd21 = readFixtureTensors(join(FIXTURES, 'unet-sd21', 'io.safetensors'));
  const t = Float32Array.from([sd21.get('timesteps')!.data[0]]);
  assert.is(t[0], 999);
  const gold = sd21.get('debug_t999.time_proj')!;
  let out = await runGraph('f32', (g) => ({ y: timestepEmbedding(g.input('t', [1]), 32, { flipSinToCos: true, downscaleFreqShift: 0 }) }), { t });
  assertClose('sd21 time_proj', out.y, gold.data, 1e-4, 1e-3); // case.json atol_f32
  const sdxl = readFixtureTensors(join(FIXTURES, 'unet-sdxl', 'io.safetensors'));
  const ids = Float32Array.from(sdxl.get('time_ids')!.data);
  const addGold = sdxl.get('debug_t999.add_time_proj')!;
  out = await runGraph('f32', (g) => ({ y: timestepEmbedding(g.input('t', [6]), 8, { flipSinToCos: true, downscaleFreqShift: 0 }) }), { t: ids });
  assertClose('sdxl add_time_proj', out.y, addGold.data, 1e-4, 1e-3);
});

test('timestep_embedding rejects bad arguments at build time', () => {
  const g = new Graph();
  assert.throws(() => timestepEmbedding(g.input('t', [2, 1]), 32), /timestep_embedding: timesteps must be 1-D \[N\] \(got \[2, 1\] f32\)/);
  assert.throws(() => timestepEmbedding(g.input('t2', [2]), 2, { downscaleFreqShift: 1 }), /downscaleFreqShift 1 must differ from dim\/2 = 1/);
});

test.run();
