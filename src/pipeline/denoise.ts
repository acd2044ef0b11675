// The denoising loop every text-to-image pipeline runs (diffusers' `for i, t in
// enumerate(timesteps)` in each pipeline's __call__), independent of the model family:
//   x = initial * init_noise_sigma
//   per step i: out = denoiser(scheduler.scale_model_input(x, i), t_i, i)
//               x = scheduler.step(out, i, x, noise).prev_sample
// The denoiser callback holds what differs between families (UNet or transformer, CFG as a
// batch of two, NASA inside attention, FLUX's packing and t/1000); the latent shape is
// whatever the denoiser and scheduler work on ((B, C, h, w) for SD and PixArt, packed
// (B, L, 64) for FLUX).
import { EngineError } from '../errors.ts';
import { numel } from '../tensor/dtype.ts';
import type { StepLatents } from './common.ts';
import type { StageTimes } from './progress.ts';
import type { NoiseFn, Scheduler } from './scheduler.ts';

/** The model's output (epsilon, v, x0 or velocity, as the scheduler expects) for latents x at timestep t. */
export type Denoiser = (x: Float32Array, t: number, step: number) => Promise<Float32Array>;

export interface DenoiseLoopOptions {
  scheduler: Scheduler;
  /** Shape of the latents the denoiser and the scheduler see. */
  latentShape: readonly number[];
  /** Unit-variance initial latents of that shape (the caller's noise or its --latents). */
  initial: Float32Array;
  denoiser: Denoiser;
  /** Noise for the steps of schedulers that draw some (multi-step ancestral, LCM, DDPM). */
  noise?: NoiseFn;
  /** Denoiser calls are timed under 'denoise'. */
  times?: StageTimes;
  onStep?: (step: number, total: number) => void;
  /** Awaited after each step with its latents and the scheduler's x0 (step previews). */
  onLatents?: (s: StepLatents) => Promise<void> | void;
}

/** Runs every step of the scheduler; returns the final latents. */
export async function denoiseLoop(o: DenoiseLoopOptions): Promise<Float32Array> {
  const s = o.scheduler, n = numel(o.latentShape);
  if (o.initial.length !== n) throw new EngineError(`denoise loop: ${o.initial.length} initial latent values for shape [${o.latentShape}] (${n})`);
  let x: Float32Array = o.initial.map((v) => Math.fround(v * s.initNoiseSigma));
  for (let i = 0; i < s.numSteps; i++) {
    const input = s.scaleModelInput(x, i), t = s.timesteps[i];
    const out = o.times ? await o.times.time('denoise', () => o.denoiser(input, t, i)) : await o.denoiser(input, t, i);
    if (out.length !== n) throw new EngineError(`denoise loop: the denoiser returned ${out.length} values at step ${i}, expected ${n} for latents [${o.latentShape}]`);
    const st = s.step(out, i, x, o.noise);
    x = st.prevSample;
    o.onStep?.(i + 1, s.numSteps);
    if (o.onLatents) {
      const shape = [...o.latentShape];
      await o.onLatents({ step: i + 1, total: s.numSteps, latents: { shape, data: x }, x0: { shape, data: st.predOriginalSample } });
    }
  }
  return x;
}
