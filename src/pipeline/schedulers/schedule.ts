// Noise-schedule arithmetic shared by the schedulers, written to give the same float32
// values diffusers 0.31 gets from torch (float32 tensors) and numpy (float64 unless cast):
// every torch float32 operation is rounded with Math.fround, numpy float64 math is left in
// double, and numpy's round/arange/linspace/interp are ported with their exact semantics.
import { EngineError } from '../../errors.ts';
import { Reader as ConfigReader } from '../../models/config_reader.ts';

export const f32 = Math.fround;

/** scheduler_config.json is read by the one config reader (src/models/config_reader.ts). */
export { ConfigReader };

/** torch.linspace(start, end, n, dtype=float32) on CPU: float32 step, symmetric halves. */
export function torchLinspaceF32(start: number, end: number, n: number): Float32Array {
  const s = f32(start), e = f32(end);
  const out = new Float32Array(n);
  if (n === 1) { out[0] = s; return out; }
  const step = f32(f32(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f32(s + f32(step * i)) : f32(e - f32(step * (n - i - 1)));
  return out;
}

/** Glide's cosine schedule (betas_for_alpha_bar), computed in double, stored float32. */
function cosineBetas(n: number): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  return Float32Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
}

export interface BetaConfig {
  numTrainTimesteps: number;
  betas: Float32Array;
  alphasCumprod: Float32Array;
}

/** torch.cumprod on CPU accumulates float32 inputs in double, storing each prefix as float32. */
export function cumprodF32(alphas: Float32Array): Float32Array {
  const out = new Float32Array(alphas.length);
  let acc = 1;
  for (let i = 0; i < alphas.length; i++) { acc *= alphas[i]; out[i] = acc; }
  return out;
}

// rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1) in float32 like diffusers.
function rescaleZeroSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const ac = cumprodF32(betas.map((b) => f32(1 - b)));
  const sq = ac.map((a) => f32(Math.sqrt(a)));
  const a0 = sq[0], aT = sq[n - 1];
  const scale = f32(a0 / f32(a0 - aT));
  const bar = sq.map((s) => { const v = f32(f32(s - aT) * scale); return f32(v * v); });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(1 - (i === 0 ? bar[0] : f32(bar[i] / bar[i - 1])));
  return out;
}

/** betas and alphas_cumprod as every diffusers scheduler builds them in __init__. */
export function readBetas(c: ConfigReader, defaults: { beta_start: number; beta_end: number; beta_schedule: string }): BetaConfig {
  const n = c.int('num_train_timesteps', 1000, 1);
  const trained = c.numArray('trained_betas');
  const schedule = c.oneOf('beta_schedule', defaults.beta_schedule, ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const);
  const bs = c.num('beta_start', defaults.beta_start), be = c.num('beta_end', defaults.beta_end);
  let betas: Float32Array;
  if (trained) {
    if (trained.length !== n) throw new EngineError(`${c.file}: "trained_betas" has ${trained.length} values, expected num_train_timesteps = ${n}`);
    betas = Float32Array.from(trained);
  } else if (schedule === 'linear') betas = torchLinspaceF32(bs, be, n);
  else if (schedule === 'scaled_linear') betas = torchLinspaceF32(Math.sqrt(bs), Math.sqrt(be), n).map((x) => f32(x * x));
  else betas = cosineBetas(n);
  if (c.bool('rescale_betas_zero_snr', false)) betas = rescaleZeroSnr(betas);
  for (const b of betas) if (!(b > 0 && b < 1)) throw new EngineError(`${c.file}: betas must lie in (0, 1); this config gives ${b}`);
  return { numTrainTimesteps: n, betas, alphasCumprod: cumprodF32(betas.map((b) => f32(1 - b))) };
}

/** ((1 - ac) / ac) ** 0.5 as float32 torch ops. */
export function sigmasFromAlphas(ac: Float32Array): Float32Array {
  return ac.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** np.round / np.rint: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.arange(start, stop, step) for floats: length ceil((stop-start)/step), values start + i*delta
 *  where numpy recomputes delta as (start + step) - start. */
export function npArange(start: number, stop: number, step: number): number[] {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  if (len === 0) return [];
  const second = start + step;
  const delta = second - start;
  return Array.from({ length: len }, (_, i) => (i === 0 ? start : i === 1 ? second : start + i * delta));
}

/** np.linspace(start, stop, num) in double (endpoint included). */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

/** np.interp(x, arange(len(fp)), fp) for x inside [0, len-1] (float64 arithmetic). */
export function npInterpIndex(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0];
  if (x >= n - 1) return fp[n - 1];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}

export type Spacing = 'linspace' | 'leading' | 'trailing';
export const SPACINGS: readonly Spacing[] = ['linspace', 'leading', 'trailing'];

/**
 * The inference timesteps of set_timesteps(n) before any dtype cast: `linspace` keeps the
 * fractional np.linspace values (Euler casts them to float32, DDPM/DDIM round them),
 * `leading` is arange(n) * (N // n) + steps_offset, `trailing` is round(arange(N, 0, -N/n)) - 1.
 */
export function spacedTimesteps(spacing: Spacing, n: number, numTrain: number, stepsOffset: number): number[] {
  if (spacing === 'linspace') return npLinspace(0, numTrain - 1, n).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  return npArange(numTrain, 0, -numTrain / n).map((t) => roundHalfEven(t) - 1);
}

export function checkSteps(file: string, className: string, steps: number, numTrain: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new EngineError(`steps must be a positive integer, got ${steps}`);
  if (steps > numTrain) throw new EngineError(`${file}: ${className} cannot take ${steps} steps: num_train_timesteps is ${numTrain}`);
}

/** Custom timesteps (diffusers' `timesteps=` argument): integers, strictly descending, < N. */
export function checkCustomTimesteps(file: string, ts: readonly number[], numTrain: number): void {
  if (ts.length === 0) throw new EngineError('timesteps: the list is empty');
  for (let i = 0; i < ts.length; i++) {
    if (!Number.isInteger(ts[i]) || ts[i] < 0 || ts[i] >= numTrain) {
      throw new EngineError(`timesteps: ${ts[i]} is not an integer in [0, ${numTrain - 1}] (num_train_timesteps of ${file})`);
    }
    if (i > 0 && ts[i] >= ts[i - 1]) throw new EngineError(`timesteps: must be strictly descending, got ${ts.join(', ')}`);
  }
}
