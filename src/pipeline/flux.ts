// Text-to-image for FLUX.1 folders (FluxPipeline: schnell, and -dev with its embedded
// guidance), after diffusers' FluxPipeline.__call__ (v0.31.0):
//   CLIP pooled + T5 states once for [prompts; negatives] -> packed unit noise (B, L, 64)
//   (flow matching starts at sigma = 1: no init_noise_sigma) -> per step: transformer on
//   the velocity at timestep t/1000 (none / NASA / NAG / VSF inside the MMDiT attention,
//   the negative prompt as a second text stream; CFG as a batch of two, v = v- + k (v+ - v-))
//   -> x += (sigma_next - sigma) v -> unpack -> VAE decode of latents / scaling + shift.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/flux/pipeline_flux.py
import * as fs from 'node:fs';
import { EngineError } from '../errors.ts';
import { getDevice, type Device } from '../gpu/device.ts';
import { openFluxFile, type FluxFile } from '../io/fluxfile.ts';
import type { ModelSource } from '../io/open.ts';
import { ClipTextEncoder, Flux, latentImageIds, packLatents, T5Encoder, unpackLatents, Vae, type FluxInputs, type FluxRunOptions, type HostTensor, type LoadOptions } from '../models/index.ts';
import { loadTokenizer } from '../tokenizers/index.ts';
import { cfgCombine, decodeLatents, imageSize, joinBatch, normaliseNegatives, unitLatents, type GenerateOptions, type GenerateResult, type ImagePipeline } from './common.ts';
import { encodeFluxText, type FluxTextEncoders } from './flux_text.ts';
import { resolveGuidance } from '../guidance/resolve.ts';
import type { Guidance } from '../guidance/types.ts';
import { StageTimes } from './progress.ts';
import { noiseSource } from './rng.ts';
import { denoiseLoop } from './denoise.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { fluxSchedule } from './schedulers/flowmatch.ts';
import { rows, stack } from './text.ts';

/** What the pipeline needs of the transformer: `Flux` (src/models/api/flux.ts), or a test double. */
export interface FluxDenoiser {
  readonly config: { in_channels: number; guidance_embeds: boolean };
  forward(inputs: FluxInputs, opts?: FluxRunOptions): Promise<Record<string, HostTensor>>;
  destroy(): void;
}

export type FluxTransformerLoader = (where: string, comp: ModelSource['components'][string], opts: LoadOptions) => FluxDenoiser;

export interface FluxLoadOptions extends LoadOptions {
  /** A FLUX transformer single file (BFL .safetensors or GGUF) replacing transformer/. */
  transformer?: string;
}

/** `file` as the transformer component, configured by the folder's transformer/config.json if any. */
function transformerFile(file: string, src: ModelSource): { config: Record<string, any>; store: FluxFile['store'] } {
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) throw new EngineError(`--transformer: ${file} is not a file (give a FLUX transformer .safetensors or .gguf)`);
  const cfg = src.components.transformer?.config ? `${src.path}/transformer` : undefined;
  const f = openFluxFile(file, { config: cfg && fs.existsSync(`${cfg}/config.json`) ? cfg : undefined });
  return { config: f.config, store: f.store };
}

/** FluxPipeline.__call__'s default guidance_scale (the -dev embedded guidance). */
export const FLUX_GUIDANCE_SCALE = 3.5;

export class FluxPipeline implements ImagePipeline {
  readonly family = 'flux';

  /** The device the models run on: its memory counters give each stage's peak. */
  private device?: Promise<Device>; // the shared device unless LoadOptions.device named one

  constructor(
    readonly source: ModelSource,
    readonly text: FluxTextEncoders,
    readonly transformer: FluxDenoiser,
    readonly vae: Vae,
  ) {}

  /**
   * `opts.transformer`: a single-file FLUX transformer (BFL-layout .safetensors or GGUF,
   * e.g. a quantized flux1-schnell-Q8_0.gguf) used instead of the folder's transformer/;
   * its config is the folder's transformer/config.json when there is one.
   */
  static fromSource(src: ModelSource, opts: FluxLoadOptions = {}, loadTransformer: FluxTransformerLoader = Flux.fromComponent): FluxPipeline {
    const comp = (name: string, what: string) => {
      const c = src.components[name];
      if (!c) throw new EngineError(`${src.path}: no '${name}' component (${what}; found: ${Object.keys(src.components).join(', ') || 'none'})`);
      return c;
    };
    const tok = (name: string, what: string) => {
      const dir = src.tokenizers[name];
      if (!dir) throw new EngineError(`${src.path}: no ${name}/ folder (${what})`);
      return loadTokenizer(dir);
    };
    if (!src.scheduler) throw new EngineError(`${src.path}: no scheduler/scheduler_config.json`);
    const lo: LoadOptions = { dtype: opts.dtype, device: opts.device };
    // Everything is opened (configs checked against weights) before anything is built.
    const parts = {
      clip: comp('text_encoder', 'the CLIP text encoder'), t5: comp('text_encoder_2', 'the T5 text encoder'),
      transformer: opts.transformer ? transformerFile(opts.transformer, src) : comp('transformer', 'FluxTransformer2DModel'),
      vae: comp('vae', 'the AutoencoderKL'),
    };
    const text: FluxTextEncoders = {
      clipTokenizer: tok('tokenizer', 'the CLIP tokenizer'), t5Tokenizer: tok('tokenizer_2', 'the T5 tokenizer'),
      clip: ClipTextEncoder.fromComponent(`${src.path}/text_encoder`, parts.clip, lo),
      t5: T5Encoder.fromComponent(`${src.path}/text_encoder_2`, parts.t5, lo),
    };
    const vae = Vae.fromComponent(`${src.path}/vae`, parts.vae, lo);
    const pipe = new FluxPipeline(src, text, loadTransformer(opts.transformer ?? `${src.path}/transformer`, parts.transformer, lo), vae);
    if (opts.device) pipe.device = Promise.resolve(opts.device);
    return pipe;
  }

  /** The VAE's real downsampling factor (8 for FLUX's VAE). */
  get vaeScale(): number { return 2 ** (this.vae.config.block_out_channels.length - 1); }

  /** Latent channels of the VAE = transformer in_channels / 4 (2x2 packing). */
  get latentChannels(): number { return this.vae.config.latent_channels; }

  scheduler(steps: number, imageSeqLen: number): Scheduler {
    const file = `${this.source.path} scheduler config`;
    return createScheduler(this.source.scheduler!, file, { steps, ...fluxSchedule(this.source.scheduler!, file, steps, imageSeqLen) });
  }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    const times = new StageTimes(undefined, o.stageProbe, (await (this.device ??= getDevice())).memory);
    const B = o.prompts.length;
    if (B === 0) throw new EngineError('generate: no prompt given');
    const negatives = normaliseNegatives(o, B);
    const guidance = resolveGuidance({ ...o.guidance, mode: o.guidance?.mode ?? (negatives ? 'nasa' : 'none') }, this.family);
    if (guidance.mode !== 'none' && guidance.mode !== 'cfg' && !negatives) throw new EngineError(`--guidance ${guidance.mode} needs a negative prompt (-n/--negative)`);
    if (o.timesteps) throw new EngineError('--timesteps: FLUX uses FluxPipeline\'s sigmas linspace(1, 1/n, n); give --steps');
    const embedded = this.embeddedGuidance(o);
    const { width, height } = this.size(o);
    const C = this.latentChannels, f = this.vaeScale;
    const h = height / f, w = width / f, L = (h / 2) * (w / 2);
    if (4 * C !== this.transformer.config.in_channels) {
      throw new EngineError(`${this.source.path}: transformer in_channels ${this.transformer.config.in_channels} != 4 x the VAE's ${C} latent channels (2x2 packing)`);
    }
    const S = o.maxSequenceLength ?? (this.transformer.config.guidance_embeds ? 512 : 256);

    const negTexts = guidance.mode === 'none' ? null : (negatives ?? new Array(B).fill(''));
    const text = await times.time('text encode', () => encodeFluxText(this.text, negTexts ? [...o.prompts, ...negTexts] : o.prompts, S));

    const seed = o.seed ?? 0;
    const gen = noiseSource(o.noise ?? 'torch', seed);
    const packed = [B, L, 4 * C];
    // Noise the pipeline draws itself is drawn unpacked (B, C, h, w), then packed (prepare_latents).
    const initial = o.latents ? unitLatents(o, packed, gen, `${width}x${height}`) : packLatents({ shape: [B, C, h, w], data: gen.randn(B * C * h * w) }).data as Float32Array;
    const sched = this.scheduler(o.steps ?? 1, L);
    const ids = { img_ids: latentImageIds(h, w), txt_ids: { shape: [S, 3], data: new Float32Array(S * 3) } }; // text: all positions 0
    const x = await denoiseLoop({
      scheduler: sched, latentShape: packed, initial, times, onStep: o.onStep,
      denoiser: (xIn, t) => this.velocity(xIn, Math.fround(t / 1000), B, text, ids, guidance, embedded),
    });
    const image = await times.time('decode', () => decodeLatents(o.decoder ?? this.vae, unpackLatents({ shape: packed, data: x }, h, w).data as Float32Array, [B, C, h, w]));
    return {
      image, latents: { shape: packed, data: x }, guidance, timesteps: [...sched.timesteps], scheduler: sched.className,
      seed, width, height, times,
    };
  }

  /** One transformer evaluation (CFG: one batch [negatives; prompts]) -> velocity (B, L, 64). */
  private async velocity(x: Float32Array, t: number, B: number, text: { states: HostTensor; pooled: HostTensor },
    ids: { img_ids: HostTensor; txt_ids: HostTensor }, g: Guidance, embedded: number | null): Promise<Float32Array> {
    const n = g.mode === 'cfg' ? 2 * B : B;
    const common = {
      ...ids, timestep: { shape: [n], data: new Float32Array(n).fill(t) },
      ...(embedded === null ? {} : { guidance: { shape: [n], data: new Float32Array(n).fill(embedded) } }),
    };
    const lat = [B, x.length / B / this.transformer.config.in_channels, this.transformer.config.in_channels];
    if (g.mode === 'cfg') {
      const out = await this.transformer.forward({
        ...common, hidden_states: { shape: [n, ...lat.slice(1)], data: joinBatch(x, x) },
        encoder_hidden_states: stack(rows(text.states, B, n), rows(text.states, 0, B)),
        pooled_projections: stack(rows(text.pooled, B, n), rows(text.pooled, 0, B)),
      });
      return cfgCombine(out.sample.data, x.length, g.scale);
    }
    const guided = g.mode === 'none' ? null : g;
    const out = await this.transformer.forward({
      ...common, hidden_states: { shape: lat, data: x },
      encoder_hidden_states: rows(text.states, 0, B), pooled_projections: rows(text.pooled, 0, B),
      ...(guided ? { negative_encoder_hidden_states: rows(text.states, B, 2 * B), negative_txt_ids: ids.txt_ids } : {}),
    }, { guidance: guided });
    return out.sample.data as Float32Array;
  }

  /** -dev's guidance embedder value; schnell (guidance_embeds false) takes none. */
  private embeddedGuidance(o: GenerateOptions): number | null {
    if (!this.transformer.config.guidance_embeds) {
      if (o.guidanceScale !== undefined) throw new EngineError(`--guidance-scale: ${this.source.path} has no guidance embedder (guidance_embeds false, as FLUX.1-schnell); use --guidance cfg --scale for CFG`);
      return null;
    }
    const v = o.guidanceScale ?? FLUX_GUIDANCE_SCALE;
    if (!Number.isFinite(v)) throw new EngineError(`--guidance-scale must be a finite number, got ${v}`);
    return v;
  }

  /** Width/height: given, else square from the packed latents' token count, else 1024. */
  private size(o: GenerateOptions): { width: number; height: number } {
    const f = this.vaeScale;
    let side: number | undefined;
    if (o.latents && (o.width === undefined || o.height === undefined)) {
      const g = Math.sqrt(o.latents.shape[1] ?? NaN);
      if (o.latents.shape.length !== 3 || !Number.isInteger(g)) {
        throw new EngineError(`--latents: tensor 'latents' has shape [${o.latents.shape}]; FLUX latents are packed (B, L, ${4 * this.latentChannels}); give --width and --height unless L is a square`);
      }
      side = 2 * g * f;
    }
    // FluxPipeline 0.31: default_sample_size 64 x vae_scale_factor 2^len(block_out_channels).
    const dflt = side ?? 64 * 2 * f;
    return imageSize({ ...o, latents: undefined, width: o.width ?? dflt, height: o.height ?? dflt }, f, () => dflt, 2 * f, `VAE factor ${f} x 2x2 latent packing`);
  }

  destroy(): void {
    this.text.clip.destroy();
    this.text.t5.destroy();
    this.transformer.destroy();
    this.vae.destroy();
  }
}
