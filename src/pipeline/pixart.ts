// Text-to-image for PixArt-α folders (one-step distillations such as DMD / YOSO use the
// same layout; their scheduler config decides the timestep and prediction type), after
// diffusers' PixArtAlphaPipeline.__call__:
//   captions lower-cased + stripped -> T5 (120 tokens, with mask) once for [prompts;
//   negatives] -> noise * init_noise_sigma -> per step: transformer (none / NASA / NAG /
//   VSF in cross-attention, each prompt with its own mask; CFG as a batch of two), keep
//   the first half of the learned-sigma output -> scheduler step -> VAE decode.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/pixart_alpha/pipeline_pixart_alpha.py
import { EngineError } from '../errors.ts';
import { getDevice, type Device } from '../gpu/device.ts';
import type { ModelSource } from '../io/open.ts';
import { PixArt, T5Encoder, Vae, type HostTensor, type LoadOptions } from '../models/index.ts';
import { loadTokenizer, pixartCaption, PIXART_MAX_LENGTH, type Tokenizer } from '../tokenizers/index.ts';
import { cfgCombine, decodeLatents, imageSize, joinBatch, normaliseNegatives, unitLatents, vaeScaleOf, type GenerateOptions, type GenerateResult, type ImagePipeline } from './common.ts';
import { resolveGuidance } from '../guidance/resolve.ts';
import type { Guidance } from '../guidance/types.ts';
import { StageTimes } from './progress.ts';
import { noiseSource } from './rng.ts';
import { createScheduler } from './scheduler.ts';
import { denoiseLoop } from './denoise.ts';

interface Text { states: HostTensor; mask: HostTensor }

export class PixArtPipeline implements ImagePipeline {
  readonly family = 'pixart';

  /** The device the models run on: its memory counters give each stage's peak. */
  private device?: Promise<Device>; // the shared device unless LoadOptions.device named one

  private constructor(
    readonly source: ModelSource,
    readonly tokenizer: Tokenizer,
    readonly textEncoder: T5Encoder,
    readonly transformer: PixArt,
    readonly vae: Vae,
  ) {}

  static fromSource(src: ModelSource, opts: LoadOptions = {}): PixArtPipeline {
    const comp = (name: string) => {
      const c = src.components[name];
      if (!c) throw new EngineError(`${src.path}: no '${name}' component (found: ${Object.keys(src.components).join(', ') || 'none'})`);
      return c;
    };
    const tokDir = src.tokenizers.tokenizer;
    if (!tokDir) throw new EngineError(`${src.path}: no tokenizer/ folder`);
    if (!src.scheduler) throw new EngineError(`${src.path}: no scheduler/scheduler_config.json`);
    const lo: LoadOptions = { dtype: opts.dtype, device: opts.device };
    const pipe = new PixArtPipeline(
      src, loadTokenizer(tokDir), T5Encoder.fromComponent(`${src.path}/text_encoder`, comp('text_encoder'), lo),
      PixArt.fromComponent(`${src.path}/transformer`, comp('transformer'), lo), Vae.fromComponent(`${src.path}/vae`, comp('vae'), lo),
    );
    if (opts.device) pipe.device = Promise.resolve(opts.device);
    return pipe;
  }

  get vaeScale(): number { return vaeScaleOf(this.vae); }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    const times = new StageTimes(undefined, o.stageProbe, (await (this.device ??= getDevice())).memory);
    const B = o.prompts.length;
    if (B === 0) throw new EngineError('generate: no prompt given');
    const negatives = normaliseNegatives(o, B);
    const guidance = resolveGuidance({ ...o.guidance, mode: o.guidance?.mode ?? (negatives ? 'nasa' : 'none') }, 'pixart');
    if (guidance.mode !== 'none' && guidance.mode !== 'cfg' && !negatives) throw new EngineError(`--guidance ${guidance.mode} needs a negative prompt (-n/--negative)`);
    const c = this.transformer.config;
    const { width, height } = imageSize(o, this.vaeScale, () => {
      if (!c.sample_size) throw new EngineError(`${this.source.path}: transformer config has no sample_size; give --width and --height`);
      return c.sample_size * this.vaeScale;
    }, this.vaeScale * c.patch_size, `VAE factor ${this.vaeScale} x patch size ${c.patch_size}`);
    const lat = [B, c.in_channels, height / this.vaeScale, width / this.vaeScale];

    const negTexts = guidance.mode === 'none' ? null : (negatives ?? new Array(B).fill(''));
    const [pos, neg] = await times.time('text encode', () => this.encode(o.prompts, negTexts));
    const sched = createScheduler(this.source.scheduler!, `${this.source.path} scheduler config`, { steps: o.steps ?? 1, timesteps: o.timesteps });
    const seed = o.seed ?? 0;
    const gen = noiseSource(o.noise ?? 'torch', seed);
    const x = await denoiseLoop({
      scheduler: sched, latentShape: lat, initial: unitLatents(o, lat, gen, `${width}x${height}`),
      denoiser: (xIn, t) => this.denoise(xIn, t, lat, pos, neg, guidance, height, width), noise: (n) => gen.randn(n), times, onStep: o.onStep, onLatents: o.onLatents,
    });
    const image = await times.time('decode', () => decodeLatents(o.decoder ?? this.vae, x, lat));
    return { image, latents: { shape: lat, data: x }, guidance, timesteps: [...sched.timesteps], scheduler: sched.className, seed, width, height, times };
  }

  /** T5 over [prompts; negatives] in one run; returns the raw states and masks of each half. */
  private async encode(prompts: string[], negatives: string[] | null): Promise<[Text, Text | null]> {
    const texts = negatives ? [...prompts, ...negatives] : prompts;
    const S = PIXART_MAX_LENGTH, n = texts.length;
    const ids = new Int32Array(n * S), mask = new Int32Array(n * S);
    texts.forEach((t, i) => {
      const e = this.tokenizer.encode(pixartCaption(t), { maxLength: S });
      ids.set(e.ids, i * S);
      mask.set(e.attentionMask, i * S);
    });
    const states = (await this.textEncoder.forward({ input_ids: { shape: [n, S], data: ids }, attention_mask: { shape: [n, S], data: mask } })).last_hidden_state;
    const B = prompts.length, D = states.shape[2];
    const part = (from: number): Text => ({
      states: { shape: [B, S, D], data: states.data.slice(from * S * D, (from + B) * S * D) as Float32Array },
      mask: { shape: [B, S], data: mask.slice(from * S, (from + B) * S) },
    });
    return [part(0), negatives ? part(B) : null];
  }

  private async denoise(xIn: Float32Array, t: number, lat: number[], pos: Text, neg: Text | null, g: Guidance, height: number, width: number): Promise<Float32Array> {
    const cfg = g.mode === 'cfg';
    const B = lat[0] * (cfg ? 2 : 1);
    const cond = this.transformer.config.use_additional_conditions
      ? { resolution: { shape: [B, 2], data: Float32Array.from({ length: 2 * B }, (_, i) => (i % 2 ? width : height)) }, aspect_ratio: { shape: [B, 1], data: new Float32Array(B).fill(height / width) } }
      : {};
    if (cfg) {
      const both = (a: HostTensor, b: HostTensor): HostTensor => ({ shape: [a.shape[0] * 2, ...a.shape.slice(1)], data: joinBatch(a.data, b.data) });
      const r = await this.transformer.forward({
        hidden_states: { shape: [B, ...lat.slice(1)], data: joinBatch(xIn, xIn) }, timestep: t,
        encoder_hidden_states: both(neg!.states, pos.states), encoder_attention_mask: both(neg!.mask, pos.mask), ...cond,
      });
      return cfgCombine(firstHalf(r.sample, lat), xIn.length, g.scale);
    }
    const guidance = g.mode === 'none' ? null : g;
    const r = await this.transformer.forward({
      hidden_states: { shape: lat, data: xIn }, timestep: t, encoder_hidden_states: pos.states, encoder_attention_mask: pos.mask, ...cond,
      ...(guidance ? { negative_encoder_hidden_states: neg!.states, negative_encoder_attention_mask: neg!.mask } : {}),
    }, { guidance });
    return firstHalf(r.sample, lat);
  }

  destroy(): void {
    this.textEncoder.destroy();
    this.transformer.destroy();
    this.vae.destroy();
  }
}

/** Learned sigma: out_channels = 2 x latent channels; the prediction is the first half. */
function firstHalf(s: HostTensor, lat: number[]): Float32Array {
  const [Bo, Co, h, w] = s.shape, C = lat[1];
  if (Co === C) return s.data as Float32Array;
  if (Co !== 2 * C) throw new EngineError(`transformer returned ${Co} channels for ${C} latent channels`);
  const out = new Float32Array(Bo * C * h * w);
  for (let b = 0; b < Bo; b++) out.set(s.data.subarray(b * Co * h * w, (b * Co + C) * h * w), b * C * h * w);
  return out;
}
