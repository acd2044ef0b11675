// FlowMatchEulerDiscreteScheduler as in diffusers 0.31
// (src/diffusers/schedulers/scheduling_flow_match_euler_discrete.py), the scheduler of
// FLUX.1 and SD3: the model predicts the velocity v = noise - x0 along the straight path
// x_sigma = (1 - sigma) x0 + sigma noise, and a step is plain Euler on it,
//   x_next = x + (sigma_next - sigma) v          (float32, no noise drawn).
// Sigmas come from the pipeline (FluxPipeline passes linspace(1, 1/n, n), numpy float64)
// or, without them, from linspace(sigma_max, sigma_min, n) of the training schedule; then
//   use_dynamic_shifting false: sigma' = shift sigma / (1 + (shift - 1) sigma)
//   use_dynamic_shifting true:  sigma' = e^mu / (e^mu + (1/sigma - 1))   (time_shift, FLUX.1-dev)
// with mu from the image's token count (calculateShift, FluxPipeline's calculate_shift).
// The shift is numpy float64 math, the result is cast to float32; timesteps = sigma * 1000.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/schedulers/scheduling_flow_match_euler_discrete.py
import { EngineError } from '../../errors.ts';
import type { Scheduler, SchedulerOptions, StepOutput } from '../scheduler.ts';
import { ConfigReader, checkSteps, f32, npLinspace } from './schedule.ts';

/**
 * FluxPipeline's calculate_shift: mu linear in the image token count, from base_shift at
 * base_image_seq_len to max_shift at max_image_seq_len (float64).
 */
export function calculateShift(imageSeqLen: number, baseSeqLen = 256, maxSeqLen = 4096, baseShift = 0.5, maxShift = 1.16): number {
  const m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
  const b = baseShift - m * baseSeqLen;
  return imageSeqLen * m + b;
}

/** What FluxPipeline.__call__ hands set_timesteps: sigmas = linspace(1, 1/n, n) and mu for the token count. */
export function fluxSchedule(config: Record<string, unknown>, file: string, steps: number, imageSeqLen: number): Required<Pick<SchedulerOptions, 'sigmas' | 'mu'>> {
  if (!Number.isInteger(steps) || steps < 1) throw new EngineError(`steps must be a positive integer, got ${steps}`);
  const c = new ConfigReader(file, config);
  const mu = calculateShift(imageSeqLen, c.num('base_image_seq_len', 256), c.num('max_image_seq_len', 4096), c.num('base_shift', 0.5), c.num('max_shift', 1.15));
  return { sigmas: npLinspace(1, 1 / steps, steps), mu };
}

export class FlowMatchEulerDiscrete implements Scheduler {
  readonly className = 'FlowMatchEulerDiscreteScheduler';
  readonly timesteps: number[];
  /** sigmas[i] per step plus the final 0 (float32 values). */
  readonly sigmas: Float32Array;
  /** Flow matching starts from pure noise at sigma = 1: the unit noise is used as is. */
  readonly initNoiseSigma = 1;
  readonly mu: number | null;

  constructor(readonly file: string, c: ConfigReader, opts: SchedulerOptions) {
    const N = c.int('num_train_timesteps', 1000, 1);
    const shift = c.num('shift', 1);
    const dynamic = c.bool('use_dynamic_shifting', false);
    c.unsupported('invert_sigmas', false, 'inverted sigmas are not implemented');
    c.unsupported('shift_terminal', null, 'shift_terminal is not implemented');
    for (const k of ['use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas']) c.unsupported(k, false, `${k} is not implemented`);
    if (opts.timesteps) throw new EngineError(`${file}: FlowMatchEulerDiscreteScheduler does not take custom timesteps (give the number of steps)`);
    if (dynamic && opts.mu === undefined) throw new EngineError(`${file}: use_dynamic_shifting is true, so the pipeline must pass mu (the image-size shift)`);
    this.mu = dynamic ? opts.mu! : null;

    let s: number[];
    if (opts.sigmas) {
      if (!opts.sigmas.length || opts.sigmas.some((v) => !(v > 0 && v <= 1))) throw new EngineError(`sigmas must be a non-empty list in (0, 1], got [${opts.sigmas}]`);
      s = [...opts.sigmas];
    } else {
      checkSteps(file, this.className, opts.steps, N);
      // __init__'s float32 training sigmas (1000/N .. 1/N), shifted unless dynamic.
      const init = (t: number) => {
        const x = f32(f32(t) / N);
        return dynamic ? x : f32(f32(shift * x) / f32(1 + f32((shift - 1) * x)));
      };
      s = npLinspace(init(N) * N, init(1) * N, opts.steps).map((t) => t / N);
    }
    const shifted = dynamic
      ? s.map((x) => Math.exp(this.mu!) / (Math.exp(this.mu!) + (1 / x - 1)))
      : s.map((x) => (shift * x) / (1 + (shift - 1) * x));
    const sig = shifted.map(f32);
    this.timesteps = sig.map((x) => f32(x * N));
    this.sigmas = Float32Array.from([...sig, 0]);
  }

  get numSteps(): number { return this.timesteps.length; }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.timesteps.length) throw new EngineError(`${this.className}: step ${i} out of range 0..${this.timesteps.length - 1}`);
  }

  inputDivisor(i: number): number {
    this.check(i);
    return 1;
  }

  scaleModelInput(sample: Float32Array, i: number): Float32Array {
    this.check(i);
    return sample;
  }

  usesNoise(): boolean { return false; }

  /** x + (sigma_next - sigma) v; the clean estimate is x - sigma v. */
  step(v: Float32Array, i: number, sample: Float32Array): StepOutput {
    this.check(i);
    const sigma = this.sigmas[i];
    const dt = f32(this.sigmas[i + 1] - sigma);
    return {
      prevSample: sample.map((x, k) => x + f32(dt * v[k])),
      predOriginalSample: sample.map((x, k) => x - f32(sigma * v[k])),
    };
  }
}
