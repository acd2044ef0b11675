// EulerDiscreteScheduler and EulerAncestralDiscreteScheduler as in diffusers 0.31
// (src/diffusers/schedulers/scheduling_euler_discrete.py, scheduling_euler_ancestral_discrete.py).
// Per-element arithmetic is float32 in torch's operation order, so a step is bit-identical
// to diffusers on CPU given the same model output.
import { EngineError } from '../../errors.ts';
import type { NoiseFn, Scheduler, SchedulerOptions, StepOutput } from '../scheduler.ts';
import {
  ConfigReader, SPACINGS, checkCustomTimesteps, checkSteps, f32, npInterpIndex, npLinspace, readBetas,
  sigmasFromAlphas, spacedTimesteps, torchLinspaceF32,
} from './schedule.ts';

type Prediction = 'epsilon' | 'v_prediction' | 'sample';
const PREDICTIONS: readonly Prediction[] = ['epsilon', 'v_prediction', 'sample'];
const BETA_DEFAULTS = { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' };

// Karras et al. 2022 (rho = 7) in double, like diffusers' numpy code.
function karras(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7, lo = sigmaMin ** (1 / rho), hi = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (hi + r * (lo - hi)) ** rho);
}

// _sigma_to_t: the (fractional) training timestep whose log-sigma brackets `sigma`.
function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (ls - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const w = Math.min(1, Math.max(0, (logSigmas[low] - ls) / (logSigmas[low] - logSigmas[low + 1])));
  return (1 - w) * low + w * (low + 1);
}

abstract class EulerBase implements Scheduler {
  abstract readonly className: string;
  readonly timesteps: number[];
  /** sigmas[i] for each step plus the final sigma (float32 values). */
  readonly sigmas: Float32Array;
  readonly initNoiseSigma: number;
  protected readonly prediction: Prediction;

  constructor(readonly file: string, c: ConfigReader, opts: SchedulerOptions, ancestral: boolean) {
    const { numTrainTimesteps: N, alphasCumprod } = readBetas(c, BETA_DEFAULTS);
    const ac = Float32Array.from(alphasCumprod);
    const zeroSnr = c.bool('rescale_betas_zero_snr', false);
    if (zeroSnr) ac[N - 1] = 2 ** -24; // diffusers: keeps the first sigma finite
    this.prediction = c.oneOf('prediction_type', 'epsilon', PREDICTIONS);
    const spacing = c.oneOf('timestep_spacing', 'linspace', SPACINGS);
    const offset = c.int('steps_offset', 0);
    const trainSigmas = sigmasFromAlphas(ac);
    let ts: number[], sig: number[];
    if (ancestral) {
      if (opts.timesteps) throw new EngineError(`${file}: EulerAncestralDiscreteScheduler does not take custom timesteps`);
      checkSteps(file, 'EulerAncestralDiscreteScheduler', opts.steps, N);
      ts = spacedTimesteps(spacing, opts.steps, N, offset).map(f32);
      sig = ts.map((t) => npInterpIndex(t, trainSigmas));
      sig.push(0);
    } else {
      const interpolation = c.oneOf('interpolation_type', 'linear', ['linear', 'log_linear'] as const);
      const useKarras = c.bool('use_karras_sigmas', false);
      c.unsupported('use_exponential_sigmas', false, 'exponential sigmas are not implemented');
      c.unsupported('use_beta_sigmas', false, 'beta sigmas are not implemented');
      const finalType = c.oneOf('final_sigmas_type', 'zero', ['zero', 'sigma_min'] as const);
      const timestepType = c.oneOf('timestep_type', 'discrete', ['discrete', 'continuous'] as const);
      if (opts.timesteps) {
        if (useKarras) throw new EngineError(`${file}: custom timesteps cannot be combined with use_karras_sigmas`);
        checkCustomTimesteps(file, opts.timesteps, N);
        ts = opts.timesteps.map(f32);
      } else {
        checkSteps(file, 'EulerDiscreteScheduler', opts.steps, N);
        ts = spacedTimesteps(spacing, opts.steps, N, offset).map(f32);
      }
      const n = ts.length;
      if (interpolation === 'linear') sig = ts.map((t) => npInterpIndex(t, trainSigmas));
      else {
        // torch.linspace(log sigma_min, log sigma_max, n + 1).exp(): float32, increasing (as diffusers has it)
        const lo = Math.log(trainSigmas[N - 1]), hi = Math.log(trainSigmas[0]);
        sig = Array.from(torchLinspaceF32(lo, hi, n + 1), (x) => f32(Math.exp(x)));
      }
      if (useKarras) {
        const logSigmas = trainSigmas.map((s) => Math.log(s));
        sig = karras(c.optNum('sigma_min') ?? sig[sig.length - 1], c.optNum('sigma_max') ?? sig[0], n);
        ts = sig.map((s) => f32(sigmaToT(s, logSigmas)));
      }
      sig.push(finalType === 'zero' ? 0 : trainSigmas[0]);
      if (timestepType === 'continuous' && this.prediction === 'v_prediction') {
        ts = sig.slice(0, -1).map((s) => f32(0.25 * f32(Math.log(f32(s)))));
      }
    }
    this.timesteps = ts;
    this.sigmas = Float32Array.from(sig);
    const max = this.sigmas.reduce((a, b) => Math.max(a, b), 0);
    this.initNoiseSigma = spacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
  }

  get numSteps(): number { return this.timesteps.length; }

  protected sigmaAt(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.timesteps.length) throw new EngineError(`${this.className}: step ${i} out of range 0..${this.timesteps.length - 1}`);
    return this.sigmas[i];
  }

  inputDivisor(i: number): number {
    const s = this.sigmaAt(i);
    return f32(Math.sqrt(f32(f32(s * s) + 1)));
  }

  scaleModelInput(sample: Float32Array, i: number): Float32Array {
    const d = this.inputDivisor(i);
    return sample.map((x) => x / d);
  }

  /** x0 from the model output at sigma (float32, diffusers' operation order). */
  protected predictX0(out: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    if (this.prediction === 'sample') return Float32Array.from(out);
    if (this.prediction === 'epsilon') return sample.map((x, k) => x - f32(sigma * out[k]));
    const cOut = f32(-sigma / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
    const skipDiv = f32(f32(sigma * sigma) + 1);
    return sample.map((x, k) => f32(out[k] * cOut) + f32(x / skipDiv));
  }

  abstract usesNoise(i: number): boolean;
  abstract step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput;
}

export class EulerDiscrete extends EulerBase {
  readonly className = 'EulerDiscreteScheduler';
  constructor(file: string, c: ConfigReader, opts: SchedulerOptions) { super(file, c, opts, false); }

  usesNoise(): boolean { return false; } // s_churn = 0 in the pipelines: no noise

  step(out: Float32Array, i: number, sample: Float32Array): StepOutput {
    const sigma = this.sigmaAt(i); // sigma_hat = sigma * (gamma + 1) with gamma = 0
    const x0 = this.predictX0(out, sample, sigma);
    const dt = f32(this.sigmas[i + 1] - sigma);
    const prev = sample.map((x, k) => x + f32(f32(f32(x - x0[k]) / sigma) * dt));
    return { prevSample: prev, predOriginalSample: x0 };
  }
}

export class EulerAncestralDiscrete extends EulerBase {
  readonly className = 'EulerAncestralDiscreteScheduler';
  constructor(file: string, c: ConfigReader, opts: SchedulerOptions) {
    super(file, c, opts, true);
    if (this.prediction === 'sample') throw new EngineError(`${file}: EulerAncestralDiscreteScheduler does not support prediction_type 'sample'`);
  }

  usesNoise(): boolean { return true; } // diffusers draws noise every step, even when sigma_up = 0

  step(out: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput {
    const sigma = this.sigmaAt(i);
    const x0 = this.predictX0(out, sample, sigma);
    const from2 = f32(sigma * sigma), to = this.sigmas[i + 1], to2 = f32(to * to);
    const up = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const down = f32(Math.sqrt(f32(to2 - f32(up * up))));
    const dt = f32(down - sigma);
    if (!noise) throw new EngineError(`${this.className}: step ${i} needs a noise generator`);
    const z = noise(sample.length);
    const prev = sample.map((x, k) => f32(x + f32(f32(f32(x - x0[k]) / sigma) * dt)) + f32(z[k] * up));
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
