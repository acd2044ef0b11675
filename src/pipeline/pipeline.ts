// Text-to-image for the Stable Diffusion family (SD1.x / SD2.x / SD-Turbo / SDXL-Turbo /
// DMD2 / SwiftBrush-style one-step students), following diffusers'
// StableDiffusionPipeline.__call__ (and StableDiffusionXLPipeline for SDXL):
//   tokenize -> text encoder once for [prompts; negatives] -> noise * init_noise_sigma ->
//   per step: UNet (none / NASA / NAG / VSF inside cross-attention; CFG as two evaluations)
//   -> scheduler step -> VAE decode of latents / scaling_factor (+ shift) -> [0, 1] image.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py
import { EngineError } from '../errors.ts';
import { getDevice, type Device } from '../gpu/device.ts';
import { openModel, type ModelSource, type OpenModelOptions } from '../io/open.ts';
import { ClipTextEncoder, UNet, Vae, type LoadOptions } from '../models/index.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizers/index.ts';
import { resolveGuidance } from '../guidance/resolve.ts';
import type { Guidance } from '../guidance/types.ts';
import { noiseSource } from './rng.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { StageTimes } from './progress.ts';
import { cfgCombine, decodeLatents, imageSize, joinBatch, normaliseNegatives, unitLatents, vaeScaleOf, type GenerateOptions, type GenerateResult, type ImagePipeline } from './common.ts';
import { encodeText, type TextConditioning } from './text.ts';
import { denoiseLoop } from './denoise.ts';

export type { GenerateOptions, GenerateResult } from './common.ts';

export interface PipelineLoadOptions extends LoadOptions, OpenModelOptions {
  /** FLUX: a transformer single file (BFL .safetensors or GGUF) used instead of the folder's transformer/. */
  transformer?: string;
}

export class TextToImagePipeline implements ImagePipeline {
  /** The device the models run on: its memory counters give each stage's peak. */
  private device?: Promise<Device>; // the shared device unless LoadOptions.device named one

  private constructor(
    readonly source: ModelSource,
    readonly tokenizers: Tokenizer[],
    readonly textEncoders: ClipTextEncoder[],
    readonly unet: UNet,
    readonly vae: Vae,
    readonly schedulerConfig: Record<string, unknown>,
  ) {}

  /** A diffusers pipeline folder or a single-file checkpoint (`config`/`preset` for the latter). */
  static load(modelPath: string, opts: PipelineLoadOptions = {}): TextToImagePipeline {
    return TextToImagePipeline.fromSource(openModel(modelPath, opts), opts);
  }

  static fromSource(src: ModelSource, opts: LoadOptions = {}): TextToImagePipeline {
    const modelPath = src.path;
    const comp = (name: string) => {
      const c = src.components[name];
      if (!c) throw new EngineError(`${modelPath}: no '${name}' component (found: ${Object.keys(src.components).join(', ') || 'none'})`);
      return c;
    };
    const sdxl = 'text_encoder_2' in src.components;
    const encNames = sdxl ? ['text_encoder', 'text_encoder_2'] : ['text_encoder'];
    const tokNames = sdxl ? ['tokenizer', 'tokenizer_2'] : ['tokenizer'];
    const tokenizers = tokNames.map((t) => {
      const dir = src.tokenizers[t];
      if (!dir) throw new EngineError(`${modelPath}: no ${t}/ folder; for a single-file checkpoint pass --config <diffusers folder> so the tokenizer comes from there`);
      return loadTokenizer(dir);
    });
    // f16 where it pays on the adapter (src/ops/f16_policy.ts), else f32: the SD family's
    // weights fit in f32 (PixArt's T5-XXL and FLUX keep what they are asked).
    const lo: LoadOptions = { dtype: opts.dtype, device: opts.device, f16: opts.f16 ?? 'auto' };
    const encoders = encNames.map((n) => ClipTextEncoder.fromComponent(`${modelPath}/${n}`, comp(n), lo));
    const unet = UNet.fromComponent(`${modelPath}/unet`, comp('unet'), lo);
    const vae = Vae.fromComponent(`${modelPath}/vae`, comp('vae'), lo);
    if (!src.scheduler) throw new EngineError(`${modelPath}: no scheduler/scheduler_config.json`);
    const pipe = new TextToImagePipeline(src, tokenizers, encoders, unet, vae, src.scheduler);
    if (opts.device) pipe.device = Promise.resolve(opts.device);
    return pipe;
  }

  get family(): string | null { return this.source.family; }

  /** Latent downsampling factor of the VAE (8 for real SD models). */
  get vaeScale(): number { return vaeScaleOf(this.vae); }

  get defaultSize(): number {
    const s = this.unet.config.sample_size;
    if (s === null) throw new EngineError(`${this.source.path}: unet config has no sample_size; give --width and --height`);
    return s * this.vaeScale;
  }

  scheduler(o: GenerateOptions): Scheduler {
    return createScheduler(this.schedulerConfig, `${this.source.path} scheduler config`, { steps: o.steps ?? 1, timesteps: o.timesteps });
  }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    const times = new StageTimes(undefined, o.stageProbe, (await (this.device ??= getDevice())).memory);
    const B = o.prompts.length;
    if (B === 0) throw new EngineError('generate: no prompt given');
    const negatives = normaliseNegatives(o, B);
    const requested = o.guidance?.mode ?? (negatives ? 'nasa' : 'none');
    const guidance = resolveGuidance({ ...o.guidance, mode: requested }, this.family);
    if (guidance.mode !== 'none' && guidance.mode !== 'cfg' && !negatives) {
      throw new EngineError(`--guidance ${guidance.mode} needs a negative prompt (-n/--negative)`);
    }
    const { width, height } = this.checkSize(o);
    const f = this.vaeScale;
    const lat = [B, this.unet.config.in_channels, height / f, width / f];
    const seed = o.seed ?? 0;

    // Text: one encoder run over [prompts; negatives] (diffusers encodes "" for CFG's uncond).
    const negTexts = guidance.mode === 'none' ? null : (negatives ?? new Array(B).fill(''));
    // SDXL pipelines (force_zeros_for_empty_prompt, true in SDXL and SDXL-Turbo) use zeros,
    // not the encoding of "", as CFG's unconditional input when no negative prompt is given.
    const zeroNegatives = !negatives && this.textEncoders.length === 2;
    const text = await times.time('text encode', () => encodeText(this, o.prompts, negTexts, { height, width }, zeroNegatives));

    // Noise: the unit latents given, or the seeded generator's, times init_noise_sigma.
    const sched = this.scheduler(o);
    const gen = noiseSource(o.noise ?? 'torch', seed);
    const x = await denoiseLoop({
      scheduler: sched, latentShape: lat, initial: unitLatents(o, lat, gen, `${width}x${height}`),
      denoiser: (xIn, t) => this.denoise(xIn, t, lat, text, guidance), noise: (n) => gen.randn(n), times, onStep: o.onStep, onLatents: o.onLatents,
    });

    const image = await times.time('decode', () => decodeLatents(o.decoder ?? this.vae, x, lat));
    return {
      image, latents: { shape: lat, data: x }, guidance, timesteps: [...sched.timesteps], scheduler: sched.className,
      seed, width, height, times,
    };
  }

  /** One UNet evaluation under the run's guidance; returns the model output (B, C, h, w). */
  private async denoise(xIn: Float32Array, t: number, lat: number[], text: TextConditioning, g: Guidance): Promise<Float32Array> {
    const sample = { shape: lat, data: xIn };
    if (g.mode === 'cfg') {
      // Two evaluations as one batch [uncond; cond], as diffusers does.
      const both = { shape: [2 * lat[0], ...lat.slice(1)], data: joinBatch(xIn, xIn) };
      const out = (await this.unet.forward({ sample: both, timestep: t, ...text.cfgInputs! })).sample.data as Float32Array;
      return cfgCombine(out, xIn.length, g.scale);
    }
    const guidance = g.mode === 'none' ? null : g;
    const extra = guidance ? { negative_encoder_hidden_states: text.negative! } : {};
    const out = await this.unet.forward({ sample, timestep: t, ...text.inputs, ...extra }, { guidance });
    return out.sample.data as Float32Array;
  }

  private checkSize(o: GenerateOptions): { width: number; height: number } {
    // The UNet halves the latent once per down block but the last.
    const down = 2 ** (this.unet.config.down_block_types.length - 1);
    return imageSize(o, this.vaeScale, () => this.defaultSize, this.vaeScale * down, `VAE factor ${this.vaeScale} x UNet downsampling ${down}`);
  }

  destroy(): void {
    for (const e of this.textEncoders) e.destroy();
    this.unet.destroy();
    this.vae.destroy();
  }
}
