// What the SD and PixArt pipelines share: the run options and result, negative-prompt
// normalisation, noise, size checks and the VAE decode to a [0, 1] image.
import { EngineError } from '../errors.ts';
import type { HostTensor, Vae } from '../models/index.ts';
import { latentsToZ } from '../models/latents.ts';
import type { Guidance, GuidanceOptions } from '../guidance/types.ts';
import type { NoiseKind, NoiseSource } from './rng.ts';
import type { StageTimes } from './progress.ts';

export interface GenerateOptions {
  /** One prompt per image of the batch. */
  prompts: string[];
  /** One negative prompt per prompt (or one for all); undefined/null = no negative prompt. */
  negatives?: (string | null)[] | null;
  guidance?: GuidanceOptions;
  steps?: number;
  /** Custom descending timesteps (e.g. DMD2's [399]); overrides steps. */
  timesteps?: number[];
  seed?: number;
  noise?: NoiseKind;
  width?: number;
  height?: number;
  /** Unit-variance initial noise (B, C, h, w): diffusers' `latents=` argument (FLUX: packed (B, L, 64)). */
  latents?: HostTensor;
  /** FLUX: T5 token count (default 256 for schnell, 512 for guidance-distilled -dev). */
  maxSequenceLength?: number;
  /** FLUX.1-dev: the embedded guidance value (diffusers' guidance_scale, default 3.5). */
  guidanceScale?: number;
  /** Called after each denoising step (progress bars). */
  onStep?: (step: number, total: number) => void;
  /** Awaited after each step with its latents and x0 estimate (step previews, src/pipeline/preview.ts). */
  onLatents?: (s: StepLatents) => Promise<void> | void;
  /** Decodes the final latents instead of the pipeline's own VAE (generate --vae, e.g. a TAESD). */
  decoder?: LatentDecoder;
}

/** One step's latents as diffusers' callback_on_step_end sees them, plus the scheduler's x0. */
export interface StepLatents {
  step: number;
  total: number;
  /** The scheduler's prev_sample: the (still noisy) latents entering the next step. */
  latents: HostTensor;
  /** pred_original_sample: the clean-latent estimate of this step. */
  x0: HostTensor;
}

/** What decodes UNet-space latents: an AutoencoderKL (Vae) or an AutoencoderTiny (Taesd). */
export interface LatentDecoder {
  readonly config: { scaling_factor: number; shift_factor: number | null; latent_channels: number };
  decode(inputs: { z: HostTensor }): Promise<Record<string, HostTensor>>;
}

export interface GenerateResult {
  /** (B, 3, H, W) in [0, 1]. */
  image: HostTensor;
  /** Final denoised latent before VAE scaling, (B, C, h, w) (FLUX: still packed, (B, L, 64)). */
  latents: HostTensor;
  guidance: Guidance;
  timesteps: number[];
  scheduler: string;
  seed: number;
  width: number;
  height: number;
  times: StageTimes;
}

/** A loaded text-to-image model, whatever its family. */
export interface ImagePipeline {
  readonly family: string | null;
  generate(o: GenerateOptions): Promise<GenerateResult>;
  destroy(): void;
}

export function normaliseNegatives(o: GenerateOptions, B: number): string[] | null {
  const n = o.negatives;
  if (!n || n.length === 0 || n.every((v) => v === null || v === undefined)) return null;
  if (n.length !== 1 && n.length !== B) throw new EngineError(`${n.length} negative prompts for ${B} prompts (give one, or one per prompt)`);
  const out = (n.length === 1 ? new Array(B).fill(n[0]) : [...n]).map((v) => v ?? '');
  // An empty negative without an explicit mode is no negative: no guidance, no extra cost.
  if (!o.guidance?.mode && out.every((v) => v === '')) return null;
  return out;
}

/** The unit latents given, or the generator's (the denoise loop scales them by init_noise_sigma). */
export function unitLatents(o: GenerateOptions, lat: number[], gen: NoiseSource, size: string): Float32Array {
  if (!o.latents) return gen.randn(lat.reduce((a, b) => a * b, 1));
  if (o.latents.shape.join() !== lat.join()) {
    throw new EngineError(`--latents: tensor 'latents' has shape [${o.latents.shape}], expected [${lat}] for ${lat[0]} prompt(s) at ${size}`);
  }
  return Float32Array.from(o.latents.data);
}

/** Width and height from the options, the latents given, or the model's default. */
export function imageSize(o: GenerateOptions, vaeScale: number, defaultSize: () => number, multiple: number, why: string): { width: number; height: number } {
  const fromLatents = (d: number) => (o.latents ? o.latents.shape[d] * vaeScale : defaultSize());
  const width = o.width ?? fromLatents(3);
  const height = o.height ?? fromLatents(2);
  for (const [name, v] of [['--width', width], ['--height', height]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new EngineError(`${name} must be a positive integer, got ${v}`);
    if (v % multiple) throw new EngineError(`${name} ${v} is not divisible by ${multiple} (${why})`);
  }
  return { width, height };
}

/** VAE decode of latents / scaling_factor (+ shift), then (x/2 + 0.5) clamped to [0, 1]. */
export async function decodeLatents(vae: LatentDecoder, x: Float32Array, lat: number[]): Promise<HostTensor> {
  const out = (await vae.decode({ z: { shape: lat, data: latentsToZ(x, vae.config) } })).sample;
  const d = out.data as Float32Array;
  const img = new Float32Array(d.length);
  let bad = 0;
  for (let i = 0; i < d.length; i++) {
    const v = Math.fround(Math.fround(d[i] / 2) + 0.5);
    if (!Number.isFinite(v)) bad++;
    img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  if (bad) throw new EngineError(`VAE decode produced ${bad} non-finite values; try --dtype f32`);
  return { shape: out.shape, data: img };
}

export function vaeScaleOf(vae: Vae): number {
  return 2 ** (vae.config.block_out_channels.length - 1);
}

/**
 * CFG from one batched evaluation [uncond; cond] (each half n values):
 * eps = eps_u + k (eps_c - eps_u), in float32 with diffusers' operation order.
 */
export function cfgCombine(out: ArrayLike<number>, n: number, k: number): Float32Array {
  const eps = new Float32Array(n);
  for (let i = 0; i < n; i++) eps[i] = Math.fround(out[i] + Math.fround(k * Math.fround(out[n + i] - out[i])));
  return eps;
}

/** [a; b] along the batch dimension (typed arrays of one kind). */
export function joinBatch<T extends Float32Array | Int32Array>(a: T, b: T): T {
  const out = new (a.constructor as { new (n: number): T })(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
