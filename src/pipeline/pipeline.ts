// Text-to-image for the Stable Diffusion family (SD1.x / SD2.x / SD-Turbo / SDXL-Turbo /
// DMD2 / SwiftBrush-style one-step students), following diffusers'
// StableDiffusionPipeline.__call__ (and StableDiffusionXLPipeline for SDXL):
//   tokenize -> text encoder once for [prompts; negatives] -> noise * init_noise_sigma ->
//   per step: UNet (none / NASA / NAG / VSF inside cross-attention; CFG as two evaluations)
//   -> scheduler step -> VAE decode of latents / scaling_factor (+ shift) -> [0, 1] image.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py
import { EngineError } from '../errors.ts';
import { openModel, type ModelSource, type OpenModelOptions } from '../io/open.ts';
import { ClipTextEncoder, UNet, Vae, type HostTensor, type LoadOptions } from '../models/index.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizers/index.ts';
import { resolveGuidance, type GuidanceOptions, type ResolvedGuidance } from './guidance.ts';
import { noiseSource, type NoiseKind } from './rng.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { StageTimes } from './progress.ts';
import { encodeText, type TextConditioning } from './text.ts';

export interface PipelineLoadOptions extends LoadOptions, OpenModelOptions {}

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
  /** Unit-variance initial noise (B, C, h, w): diffusers' `latents=` argument. */
  latents?: HostTensor;
  /** Called after each denoising step (progress bars). */
  onStep?: (step: number, total: number) => void;
}

export interface GenerateResult {
  /** (B, 3, H, W) in [0, 1]. */
  image: HostTensor;
  /** Final denoised latent before VAE scaling, (B, C, h, w). */
  latents: HostTensor;
  guidance: ResolvedGuidance;
  timesteps: number[];
  scheduler: string;
  seed: number;
  width: number;
  height: number;
  times: StageTimes;
}

export class TextToImagePipeline {
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
    const src = openModel(modelPath, opts);
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
    const lo: LoadOptions = { dtype: opts.dtype, device: opts.device };
    const encoders = encNames.map((n) => ClipTextEncoder.fromComponent(`${modelPath}/${n}`, comp(n), lo));
    const unet = UNet.fromComponent(`${modelPath}/unet`, comp('unet'), lo);
    const vae = Vae.fromComponent(`${modelPath}/vae`, comp('vae'), lo);
    if (!src.scheduler) throw new EngineError(`${modelPath}: no scheduler/scheduler_config.json`);
    return new TextToImagePipeline(src, tokenizers, encoders, unet, vae, src.scheduler);
  }

  get family(): string | null { return this.source.family; }

  /** Latent downsampling factor of the VAE (8 for real SD models). */
  get vaeScale(): number { return 2 ** (this.vae.config.block_out_channels.length - 1); }

  get defaultSize(): number {
    const s = this.unet.config.sample_size;
    if (s === null) throw new EngineError(`${this.source.path}: unet config has no sample_size; give --width and --height`);
    return s * this.vaeScale;
  }

  scheduler(o: GenerateOptions): Scheduler {
    return createScheduler(this.schedulerConfig, `${this.source.path} scheduler config`, { steps: o.steps ?? 1, timesteps: o.timesteps });
  }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    const times = new StageTimes();
    const B = o.prompts.length;
    if (B === 0) throw new EngineError('generate: no prompt given');
    let negatives = normaliseNegatives(o.negatives, B);
    // An empty negative without an explicit mode is no negative: no guidance, no extra cost.
    if (!o.guidance?.mode && negatives?.every((n) => n === '')) negatives = null;
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
    const text = await times.time('text encode', () => encodeText(this, o.prompts, negTexts, { height, width }));

    // Noise: the unit latents given, or the seeded generator's, times init_noise_sigma.
    const sched = this.scheduler(o);
    const gen = noiseSource(o.noise ?? 'torch', seed);
    let x: Float32Array;
    if (o.latents) {
      if (o.latents.shape.join() !== lat.join()) {
        throw new EngineError(`--latents: tensor 'latents' has shape [${o.latents.shape}], expected [${lat}] for ${B} prompt(s) at ${width}x${height}`);
      }
      x = Float32Array.from(o.latents.data);
    } else x = gen.randn(lat.reduce((a, b) => a * b, 1));
    x = x.map((v) => Math.fround(v * sched.initNoiseSigma));

    for (let i = 0; i < sched.numSteps; i++) {
      const eps = await times.time('denoise', () => this.denoise(sched.scaleModelInput(x, i), sched.timesteps[i], lat, text, guidance));
      x = sched.step(eps, i, x, (n) => gen.randn(n)).prevSample;
      o.onStep?.(i + 1, sched.numSteps);
    }

    const image = await times.time('decode', () => this.decode(x, lat));
    return {
      image, latents: { shape: lat, data: x }, guidance, timesteps: [...sched.timesteps], scheduler: sched.className,
      seed, width, height, times,
    };
  }

  /** One UNet evaluation under the run's guidance; returns the model output (B, C, h, w). */
  private async denoise(xIn: Float32Array, t: number, lat: number[], text: TextConditioning, g: ResolvedGuidance): Promise<Float32Array> {
    const sample = { shape: lat, data: xIn };
    if (g.mode === 'cfg') {
      // Two evaluations as one batch [uncond; cond], as diffusers does.
      const both = { shape: [2 * lat[0], ...lat.slice(1)], data: concat(xIn, xIn) };
      const out = (await this.unet.forward({ sample: both, timestep: t, ...text.cfgInputs! })).sample.data as Float32Array;
      const n = xIn.length;
      const eps = new Float32Array(n);
      for (let i = 0; i < n; i++) eps[i] = Math.fround(out[i] + Math.fround(g.scale * Math.fround(out[n + i] - out[i])));
      return eps;
    }
    const guidance = g.mode === 'none' ? null : g;
    const extra = guidance ? { negative_encoder_hidden_states: text.negative! } : {};
    const out = await this.unet.forward({ sample, timestep: t, ...text.inputs, ...extra }, { guidance });
    return out.sample.data as Float32Array;
  }

  private async decode(x: Float32Array, lat: number[]): Promise<HostTensor> {
    const c = this.vae.config;
    const z = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) z[i] = Math.fround(x[i] / c.scaling_factor) + (c.shift_factor ?? 0);
    const out = (await this.vae.decode({ z: { shape: lat, data: z } })).sample;
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

  private checkSize(o: GenerateOptions): { width: number; height: number } {
    const fromLatents = (d: number) => (o.latents ? o.latents.shape[d] * this.vaeScale : this.defaultSize);
    const width = o.width ?? fromLatents(3);
    const height = o.height ?? fromLatents(2);
    // The UNet halves the latent once per down block but the last.
    const m = this.vaeScale * 2 ** (this.unet.config.down_block_types.length - 1);
    for (const [name, v] of [['--width', width], ['--height', height]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new EngineError(`${name} must be a positive integer, got ${v}`);
      if (v % m) throw new EngineError(`${name} ${v} is not divisible by ${m} (VAE factor ${this.vaeScale} x UNet downsampling ${m / this.vaeScale})`);
    }
    return { width, height };
  }

  destroy(): void {
    for (const e of this.textEncoders) e.destroy();
    this.unet.destroy();
    this.vae.destroy();
  }
}

function normaliseNegatives(n: GenerateOptions['negatives'], B: number): string[] | null {
  if (!n || n.length === 0 || n.every((v) => v === null || v === undefined)) return null;
  if (n.length !== 1 && n.length !== B) throw new EngineError(`${n.length} negative prompts for ${B} prompts (give one, or one per prompt)`);
  const out = n.length === 1 ? new Array(B).fill(n[0]) : [...n];
  return out.map((v) => v ?? '');
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
