// UNet2DConditionModel against the diffusers goldens: SD1.5 layout (1x1-conv projections),
// SD2.1 layout (linear projections, per-block heads, upcast attention), SDXL layout
// (text_time conditioning, 2 transformer layers per block); f32 and f16, at t=999, t=500
// and on the low-variance probe (GroupNorm eps). Intermediates (debug_t999.*) are
// compared first so a failure names the first module that diverges.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UNet } from '../../src/models/index.ts';
import { expectClose, expectDebug, get, loadCase, note, unetInputs } from './fixtures.ts';

for (const name of ['unet-sd15', 'unet-sd21', 'unet-sdxl']) {
  const c = loadCase(name);
  const [t0, t1] = get(c, 'timesteps').data;
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${name} ${dtype}`, async () => {
      const unet = UNet.load(c.modelDir, { dtype });
      try {
        const x = unetInputs(c);
        // One compiled graph (with debug outputs) serves every run below.
        const a = await unet.forward({ ...x, timestep: t0 }, { debug: true });
        const seen = expectDebug(c, a, 'debug_t999.', dtype);
        assert.ok(seen.length >= 10, `compared only ${seen.length} intermediates: ${seen.join(', ')}`);
        const e999 = expectClose(c, 'sample t=999', a.sample, 'sample_t999', dtype);
        const b = await unet.forward({ ...x, timestep: { shape: [1], data: Float32Array.of(t1) } }, { debug: true });
        const e500 = expectClose(c, 'sample t=500', b.sample, 'sample_t500', dtype);
        const l = await unet.forward({ ...unetInputs(c, 'sample_lowvar'), timestep: { shape: [], data: Float32Array.of(t0) } }, { debug: true });
        const eLow = expectClose(c, 'sample lowvar', l.sample, 'sample_t999_lowvar', dtype);
        note(`${name} ${dtype}: max |diff| t999 ${e999.toExponential(1)}, t500 ${e500.toExponential(1)}, lowvar ${eLow.toExponential(1)}; ${seen.length} intermediates ok`);
      } finally {
        unet.destroy();
      }
    });
  }
}

test('unet-sd15: batch of 2 with per-item timesteps equals two single runs', async () => {
  const c = loadCase('unet-sd15');
  const unet = UNet.load(c.modelDir);
  try {
    const s = get(c, 'sample'), e = get(c, 'encoder_hidden_states');
    const cat = (t: typeof s) => ({ shape: [2, ...t.shape.slice(1)], data: Float32Array.from([...t.data, ...t.data]) });
    const out = await unet.forward({ sample: cat(s), encoder_hidden_states: cat(e), timestep: { shape: [2], data: Float32Array.of(999, 500) } });
    const half = s.data.length;
    expectClose(c, 'batch item 0', { shape: s.shape, data: out.sample.data.subarray(0, half) as Float32Array }, 'sample_t999', 'f32');
    expectClose(c, 'batch item 1', { shape: s.shape, data: out.sample.data.subarray(half) as Float32Array }, 'sample_t500', 'f32');
  } finally {
    unet.destroy();
  }
});

test.run();
