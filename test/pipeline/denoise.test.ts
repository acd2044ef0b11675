// The shared denoise loop (src/pipeline/denoise.ts): what each step hands the denoiser
// (scaled input, timestep, index), init_noise_sigma, noise for drawing schedulers, progress,
// timing, any latent shape (packed FLUX-style too), and shape errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.ts';
import { denoiseLoop } from '../../src/pipeline/denoise.ts';
import { StageTimes } from '../../src/pipeline/progress.ts';
import { createScheduler } from '../../src/pipeline/scheduler.ts';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, timestep_spacing: 'trailing' };

test('each step gets x / input divisor at its timestep; x starts at initial * init_noise_sigma', async () => {
  const s = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler' }, 'euler', { steps: 2 }) as ReturnType<typeof createScheduler> & { sigmas: Float32Array };
  const initial = Float32Array.from([1, -2, 0.5, 0.25]);
  const seen: { x: number[]; t: number; i: number }[] = [], progress: number[][] = [];
  const times = new StageTimes();
  const out = await denoiseLoop({
    scheduler: s, latentShape: [1, 1, 2, 2], initial, times, onStep: (a, b) => progress.push([a, b]),
    denoiser: async (x, t, i) => { seen.push({ x: [...x], t, i }); return x.map((v) => v * 0.1); },
  });
  assert.equal(seen.map((c) => [c.t, c.i]), [[999, 0], [499, 1]]);
  const x0 = Array.from(initial, (v) => Math.fround(v * s.initNoiseSigma));
  assert.equal(seen[0].x, Array.from(Float32Array.from(x0, (v) => v / s.inputDivisor(0))), 'step 0 input = x / sqrt(sigma^2 + 1)');
  assert.equal(progress, [[1, 2], [2, 2]]);
  assert.equal(times.entries().map((e) => [e.stage, e.calls]), [['denoise', 2]]);
  // The result is the scheduler's, step by step (the loop adds nothing of its own).
  let x: Float32Array = Float32Array.from(x0);
  for (let i = 0; i < 2; i++) x = s.step(s.scaleModelInput(x, i).map((v) => v * 0.1), i, x).prevSample;
  assert.equal(Array.from(out), Array.from(x));
});

test('drawing schedulers get the noise function; packed (B, L, C) latents work the same', async () => {
  const s = createScheduler({ ...SD, _class_name: 'EulerAncestralDiscreteScheduler' }, 'euler-a', { steps: 3 });
  let draws = 0;
  const out = await denoiseLoop({
    scheduler: s, latentShape: [1, 4, 3], initial: new Float32Array(12).fill(1),
    denoiser: async (x) => new Float32Array(x.length), noise: (n) => { draws++; return new Float32Array(n); },
  });
  assert.is(out.length, 12);
  assert.is(draws, 3);
});

test('bad shapes fail with one clear error', async () => {
  const s = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler' }, 'euler', { steps: 1 });
  const run = (initial: number, returned: number) => denoiseLoop({ scheduler: s, latentShape: [1, 2, 2, 2], initial: new Float32Array(initial), denoiser: async () => new Float32Array(returned) })
    .then(() => null, (e: unknown) => e);
  const a = await run(7, 8), b = await run(8, 16);
  assert.ok(a instanceof EngineError && /7 initial latent values for shape \[1,2,2,2\] \(8\)/.test(a.message), String(a));
  assert.ok(b instanceof EngineError && /denoiser returned 16 values at step 0, expected 8/.test(b.message), String(b));
});

test.run();
