// Typed API of UNet2DConditionModel: load a diffusers `unet/` folder, run forward() on
// host tensors named as the reference forward() arguments.
import { EngineError } from '../../errors.ts';
import type { Graph } from '../../graph/graph.ts';
import { layoutParts, SITE_LAYOUTS } from '../../guidance/families.ts';
import { guidanceScalars } from '../../guidance/scalars.ts';
import type { AttentionGuidance } from '../../guidance/types.ts';
import { unetConfig, type UNetConfig } from '../configs.ts';
import { UNet2DConditionModel } from '../unet.ts';
import { buildModel, openForLoad, checkFinite, checkInputs, GraphCache, shapeKey, type HostTensor, type InputSpec, type LoadOptions, type RunOptions, type Component } from './common.ts';

export interface UNetInputs {
  /** [B, in_channels, H, W] */
  sample: HostTensor;
  /** [], [1] or [B]; a number means the same timestep for the whole batch. */
  timestep: HostTensor | number;
  /** [B, S, cross_attention_dim] */
  encoder_hidden_states: HostTensor;
  /** SDXL: [B, P] pooled text embedding and [B, 6] time_ids. */
  text_embeds?: HostTensor;
  time_ids?: HostTensor;
  /** With NASA guidance: negative text states [B, S-, cross_attention_dim]. */
  negative_encoder_hidden_states?: HostTensor;
}

export interface UNetRunOptions extends RunOptions {
  /** Attention-space guidance for the whole pass (src/guidance/types.ts); its strengths are runtime scalars. */
  guidance?: AttentionGuidance | null;
}

export class UNet {
  readonly className = 'UNet2DConditionModel';
  private cache: GraphCache;

  private constructor(readonly model: UNet2DConditionModel, readonly config: UNetConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
    const cad = config.cross_attention_dim;
    if (!cad.every((d) => d === cad[0])) throw new EngineError(`UNet: per-block cross_attention_dim ${JSON.stringify(cad)} with different widths is not supported`);
  }

  /** Opens a component folder (config.json + weights under any diffusers file name). */
  static load(dir: string, opts: LoadOptions = {}): UNet {
    return UNet.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  /** Builds from an opened component (a folder, or a single-file checkpoint's part); `where` names it in errors. */
  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): UNet {
    const { model, config } = buildModel(where, comp, unetConfig, UNet2DConditionModel);
    return new UNet(model, config, opts);
  }


  get dtype() { return this.cache.dtype; }

  /** What forward() takes, for messages and the `forward` command. */
  signature(guided = false): InputSpec[] {
    const c = this.config;
    const C = c.cross_attention_dim[0];
    const specs: InputSpec[] = [
      { name: 'sample', shapes: [['B', c.in_channels, 'H', 'W']], kind: 'float', doc: 'noisy latent' },
      { name: 'timestep', shapes: [[], [1], ['B']], kind: 'float', doc: 'diffusion timestep(s)' },
      { name: 'encoder_hidden_states', shapes: [['B', 'S', C]], kind: 'float', doc: 'text encoder states' },
    ];
    if (this.model.add) {
      specs.push({ name: 'text_embeds', shapes: [['B', this.model.add.textEmbedsDim]], kind: 'float', doc: 'SDXL pooled text embedding' });
      specs.push({ name: 'time_ids', shapes: [['B', 6]], kind: 'float', doc: 'SDXL original size, crop, target size' });
    }
    if (guided) specs.push({ name: 'negative_encoder_hidden_states', shapes: [['B', 'S_neg', C]], kind: 'float', doc: 'negative text states (NASA)' });
    return specs;
  }

  /** Returns `sample` [B, out_channels, H, W] (plus `debug.*` with opts.debug). */
  async forward(inputs: UNetInputs, opts: UNetRunOptions = {}): Promise<Record<string, HostTensor>> {
    const guidance = opts.guidance ?? null;
    const t = typeof inputs.timestep === 'number' ? { shape: [], data: Float32Array.of(inputs.timestep) } : inputs.timestep;
    const named: Record<string, HostTensor | undefined> = { ...inputs, timestep: t };
    const what = `${this.className} forward${guidance ? ` (${guidance.mode})` : ''}`;
    const dims = checkInputs(what, this.signature(!!guidance), named);
    checkFinite(what, 'timestep', t);
    const B = dims.B;
    const timestep = t.data.length === B ? Float32Array.from(t.data) : new Float32Array(B).fill(t.data[0]);

    // The key holds the mode only: strengths are runtime scalars, so an alpha sweep reuses one graph.
    const scalars = guidance ? guidanceScalars(guidance, this.model.crossAttnSites, layoutParts(SITE_LAYOUTS.unet)) : {};
    const key = `${shapeKey(inputs.sample, inputs.encoder_hidden_states, inputs.text_embeds, inputs.negative_encoder_hidden_states)}|${guidance?.mode ?? 'none'}`;
    const build = (g: Graph) => {
      const x = {
        sample: g.input('sample', inputs.sample.shape),
        timestep: g.input('timestep', [B], 'f32'), // f32 even in f16 graphs: timesteps up to 1000 need it
        encoder_hidden_states: g.input('encoder_hidden_states', inputs.encoder_hidden_states.shape),
        text_embeds: inputs.text_embeds && this.model.add ? g.input('text_embeds', inputs.text_embeds.shape) : null,
        time_ids: inputs.time_ids && this.model.add ? g.input('time_ids', inputs.time_ids.shape, 'f32') : null,
      };
      const neg = guidance ? g.input('negative_encoder_hidden_states', inputs.negative_encoder_hidden_states!.shape) : null;
      return { sample: this.model.forward(x, guidance ? { mode: guidance.mode, negativeContext: neg! } : null) };
    };
    const feed: Record<string, ArrayLike<number>> = { sample: inputs.sample.data, timestep, encoder_hidden_states: inputs.encoder_hidden_states.data };
    if (this.model.add) Object.assign(feed, { text_embeds: inputs.text_embeds!.data, time_ids: inputs.time_ids!.data });
    if (guidance) feed.negative_encoder_hidden_states = inputs.negative_encoder_hidden_states!.data;
    return this.cache.run(key, build, feed, opts, scalars);
  }

  destroy(): void {
    this.cache.destroy();
  }
}
