// Schedulers that work on alphas_cumprod directly (latents start as unit noise, the UNet
// input is not rescaled): DDPMScheduler, DDIMScheduler (eta = 0, the pipelines' default)
// and LCMScheduler, as in diffusers 0.31 (scheduling_ddpm.py, scheduling_ddim.py,
// scheduling_lcm.py). These are what distilled one-step models such as DMD2 (LCMScheduler
// with timesteps [399] or a 4-step list) and x0-at-t=999 samplers (DDPM, 1 step) use.
// Arithmetic is float32 in torch's operation order.
import { EngineError } from '../../errors.ts';
import type { NoiseFn, Scheduler, SchedulerOptions, StepOutput } from '../scheduler.ts';
import {
  ConfigReader, SPACINGS, checkCustomTimesteps, checkSteps, f32, npLinspace, readBetas, roundHalfEven, spacedTimesteps,
} from './schedule.ts';

type Prediction = 'epsilon' | 'v_prediction' | 'sample';
const PREDICTIONS: readonly Prediction[] = ['epsilon', 'v_prediction', 'sample'];
const sqrt32 = (x: number) => f32(Math.sqrt(x));

abstract class AlphaBase implements Scheduler {
  abstract readonly className: string;
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  protected readonly ac: Float32Array;
  protected readonly N: number;
  protected readonly prediction: Prediction;
  protected readonly clipRange: number | null;

  constructor(readonly file: string, c: ConfigReader, betaDefaults: { beta_start: number; beta_end: number; beta_schedule: string }, clipDefault: boolean) {
    const b = readBetas(c, betaDefaults);
    this.ac = b.alphasCumprod;
    this.N = b.numTrainTimesteps;
    this.prediction = c.oneOf('prediction_type', 'epsilon', PREDICTIONS);
    c.unsupported('thresholding', false, 'dynamic thresholding is not implemented');
    this.clipRange = c.bool('clip_sample', clipDefault) ? c.num('clip_sample_range', 1) : null;
  }

  get numSteps(): number { return this.timesteps.length; }
  inputDivisor(): number { return 1; }
  scaleModelInput(sample: Float32Array): Float32Array { return Float32Array.from(sample); }

  protected t(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.timesteps.length) throw new EngineError(`${this.className}: step ${i} out of range 0..${this.timesteps.length - 1}`);
    return this.timesteps[i];
  }

  /** x0 (clipped if configured) and the implied epsilon, from alpha_prod_t. */
  protected predict(out: Float32Array, sample: Float32Array, a: number): { x0: Float32Array; eps: Float32Array } {
    const sa = sqrt32(a), sb = sqrt32(f32(1 - a));
    let x0: Float32Array, eps: Float32Array;
    if (this.prediction === 'epsilon') {
      x0 = sample.map((x, k) => f32(x - f32(sb * out[k])) / sa);
      eps = Float32Array.from(out);
    } else if (this.prediction === 'sample') {
      x0 = Float32Array.from(out);
      eps = sample.map((x, k) => f32(x - f32(sa * x0[k])) / sb);
    } else {
      x0 = sample.map((x, k) => f32(sa * x) - f32(sb * out[k]));
      eps = sample.map((x, k) => f32(sa * out[k]) + f32(sb * x));
    }
    if (this.clipRange !== null) {
      const r = this.clipRange;
      x0 = x0.map((v) => Math.min(r, Math.max(-r, v)));
    }
    return { x0, eps };
  }

  abstract usesNoise(i: number): boolean;
  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput;
}

function needNoise(name: string, i: number, noise?: NoiseFn): NoiseFn {
  if (!noise) throw new EngineError(`${name}: step ${i} needs a noise generator`);
  return noise;
}

/** Integer timesteps of DDPM/DDIM set_timesteps(n): linspace is rounded (half to even). */
function intTimesteps(c: ConfigReader, steps: number, N: number): number[] {
  const spacing = c.oneOf('timestep_spacing', 'leading', SPACINGS);
  const ts = spacedTimesteps(spacing, steps, N, c.int('steps_offset', 0));
  return spacing === 'linspace' ? ts.map(roundHalfEven) : ts;
}

export class DDPM extends AlphaBase {
  readonly className = 'DDPMScheduler';
  private readonly variance: 'fixed_small' | 'fixed_large';
  private readonly custom: boolean;

  constructor(file: string, c: ConfigReader, opts: SchedulerOptions) {
    super(file, c, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }, true);
    this.variance = c.oneOf('variance_type', 'fixed_small', ['fixed_small', 'fixed_large'] as const);
    this.custom = !!opts.timesteps;
    if (opts.timesteps) {
      checkCustomTimesteps(file, opts.timesteps, this.N);
      this.timesteps = [...opts.timesteps];
    } else {
      checkSteps(file, this.className, opts.steps, this.N);
      this.timesteps = intTimesteps(c, opts.steps, this.N);
    }
  }

  private prevT(i: number): number {
    if (this.custom) return i + 1 < this.timesteps.length ? this.timesteps[i + 1] : -1;
    return this.timesteps[i] - Math.floor(this.N / this.timesteps.length);
  }

  usesNoise(i: number): boolean { return this.t(i) > 0; }

  step(out: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput {
    const t = this.t(i), pt = this.prevT(i);
    const a = this.ac[t], ap = pt >= 0 ? this.ac[pt] : 1;
    const curAlpha = f32(a / ap), curBeta = f32(1 - curAlpha), bt = f32(1 - a), bp = f32(1 - ap);
    const { x0 } = this.predict(out, sample, a);
    const cx0 = f32(f32(sqrt32(ap) * curBeta) / bt);
    const cx = f32(f32(sqrt32(curAlpha) * bp) / bt);
    let prev = sample.map((x, k) => f32(cx0 * x0[k]) + f32(cx * x));
    if (t > 0) {
      const z = needNoise(this.className, i, noise)(sample.length);
      const small = Math.max(f32(f32(bp / bt) * curBeta), f32(1e-20));
      const sd = sqrt32(this.variance === 'fixed_small' ? small : curBeta);
      prev = prev.map((v, k) => v + f32(sd * z[k]));
    }
    return { prevSample: prev, predOriginalSample: x0 };
  }
}

export class DDIM extends AlphaBase {
  readonly className = 'DDIMScheduler';
  private readonly finalAlpha: number;

  constructor(file: string, c: ConfigReader, opts: SchedulerOptions) {
    super(file, c, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }, true);
    this.finalAlpha = c.bool('set_alpha_to_one', true) ? 1 : this.ac[0];
    if (opts.timesteps) throw new EngineError(`${file}: DDIMScheduler does not take custom timesteps`);
    checkSteps(file, this.className, opts.steps, this.N);
    this.timesteps = intTimesteps(c, opts.steps, this.N);
  }

  usesNoise(): boolean { return false; } // eta = 0

  step(out: Float32Array, i: number, sample: Float32Array): StepOutput {
    const t = this.t(i), pt = t - Math.floor(this.N / this.timesteps.length);
    const a = this.ac[t], ap = pt >= 0 ? this.ac[pt] : this.finalAlpha;
    const { x0, eps } = this.predict(out, sample, a);
    const dir = sqrt32(f32(1 - ap)); // (1 - alpha_prev - std_dev_t^2) ** 0.5 with std_dev_t = 0
    const sap = sqrt32(ap);
    const prev = x0.map((v, k) => f32(sap * v) + f32(dir * eps[k]));
    return { prevSample: prev, predOriginalSample: x0 };
  }
}

export class LCM extends AlphaBase {
  readonly className = 'LCMScheduler';
  private readonly finalAlpha: number;
  private readonly timestepScaling: number;

  constructor(file: string, c: ConfigReader, opts: SchedulerOptions) {
    super(file, c, { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' }, false);
    this.finalAlpha = c.bool('set_alpha_to_one', true) ? 1 : this.ac[0];
    this.timestepScaling = c.num('timestep_scaling', 10);
    const original = c.int('original_inference_steps', 50, 1);
    if (original > this.N) throw new EngineError(`${file}: original_inference_steps ${original} exceeds num_train_timesteps ${this.N}`);
    const k = Math.floor(this.N / original);
    const origin = Array.from({ length: original }, (_, j) => (original - j) * k - 1); // descending
    if (opts.timesteps) {
      checkCustomTimesteps(file, opts.timesteps, this.N);
      this.timesteps = [...opts.timesteps];
    } else {
      checkSteps(file, this.className, opts.steps, this.N);
      if (opts.steps > original) throw new EngineError(`${file}: LCMScheduler cannot take ${opts.steps} steps: original_inference_steps is ${original}`);
      const idx = npLinspace(0, original, opts.steps + 1).slice(0, opts.steps).map(Math.floor);
      this.timesteps = idx.map((j) => origin[j]);
    }
  }

  usesNoise(i: number): boolean { this.t(i); return i !== this.timesteps.length - 1; }

  step(out: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput {
    const t = this.t(i);
    const pt = i + 1 < this.timesteps.length ? this.timesteps[i + 1] : t;
    const a = this.ac[t], ap = pt >= 0 ? this.ac[pt] : this.finalAlpha;
    const st = f32(t * this.timestepScaling), st2 = f32(st * st);
    const cSkip = f32(0.25 / f32(st2 + 0.25)), cOut = f32(st / sqrt32(f32(st2 + 0.25)));
    const { x0 } = this.predict(out, sample, a);
    const denoised = x0.map((v, k) => f32(cOut * v) + f32(cSkip * sample[k]));
    if (!this.usesNoise(i)) return { prevSample: denoised, predOriginalSample: denoised };
    const z = needNoise(this.className, i, noise)(sample.length);
    const sa = sqrt32(ap), sb = sqrt32(f32(1 - ap));
    return { prevSample: denoised.map((v, k) => f32(sa * v) + f32(sb * z[k])), predOriginalSample: denoised };
  }
}
