// DDPM / DDIM / LCM against diffusers 0.31.0's own scheduler code: multi-step trajectories
// (timesteps, pred_original_sample and prev_sample of every step, with the same model
// outputs and noise) recorded in scheduler_goldens.ts by tools/reference/scheduler_goldens.py.
// The engine computes in float32 with torch's operation order, so every value must be
// bit-identical (the largest difference, in float32 ulps, is printed). The recording used
// torch's scalar linspace formula for the betas (see the script for why).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createScheduler } from '../../src/pipeline/scheduler.ts';
import { CASES, NOISES, OUTPUTS, SAMPLE } from './scheduler_goldens.ts';

const bits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0];
const ulps = (a: number, b: number) => Math.abs(bits(a) - bits(b));

for (const c of CASES) {
  const what = `${c.className} ${JSON.stringify(c.config)} ${c.timesteps ? `timesteps=[${c.timesteps}]` : `steps=${c.steps}`}`;
  test(`${what} matches diffusers 0.31.0`, () => {
    const s = createScheduler({ _class_name: c.className, ...c.config }, 'reference', { steps: c.steps ?? c.timesteps!.length, timesteps: c.timesteps });
    assert.equal([...s.timesteps], c.got_timesteps, 'timesteps');
    let x: Float32Array = Float32Array.from(SAMPLE);
    let worst = 0, draws = 0;
    const check = (label: string, got: Float32Array, want: number[]) => {
      assert.is(got.length, want.length, label);
      for (let k = 0; k < want.length; k++) {
        const u = ulps(got[k], want[k]);
        worst = Math.max(worst, u);
        assert.ok(u === 0, `${label}[${k}]: engine ${got[k]} vs diffusers ${want[k]} (${u} ulps)`);
      }
    };
    for (let i = 0; i < s.numSteps; i++) {
      const before = draws;
      const r = s.step(Float32Array.from(OUTPUTS[i]), i, x, (n) => { draws++; assert.is(n, SAMPLE.length); return Float32Array.from(NOISES[i]); });
      assert.is(draws - before, s.usesNoise(i) ? 1 : 0, `step ${i}: noise draws vs usesNoise`);
      check(`step ${i} x0`, r.predOriginalSample, c.x0[i]);
      check(`step ${i} prev_sample`, r.prevSample, c.prev[i]);
      x = r.prevSample;
    }
    console.log(`  ${c.className} ${c.got_timesteps.length} steps: largest difference ${worst} float32 ulps`);
  });
}

test.run();
