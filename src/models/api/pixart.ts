// Typed API of PixArtTransformer2DModel: load a diffusers `transformer/` folder, run
// forward() on host tensors named as the reference forward() arguments (added_cond_kwargs'
// resolution / aspect_ratio as top-level inputs).
import { EngineError } from '../../errors.ts';
import type { Graph } from '../../graph/graph.ts';
import { layoutParts, SITE_LAYOUTS } from '../../guidance/families.ts';
import { guidanceScalars } from '../../guidance/scalars.ts';
import type { AttentionGuidance } from '../../guidance/types.ts';
import { PixArtTransformer2DModel } from '../pixart.ts';
import { pixartConfig, type PixArtConfig } from '../pixart_configs.ts';
import { buildModel, openForLoad, checkFinite, checkInputs, GraphCache, shapeKey, type HostTensor, type InputSpec, type LoadOptions, type RunOptions, type Component } from './common.ts';

export interface PixArtInputs {
  /** [B, in_channels, H, W] */
  hidden_states: HostTensor;
  /** [], [1] or [B]; a number means the same timestep for the whole batch. */
  timestep: HostTensor | number;
  /** [B, M, caption_channels]: the raw T5 last_hidden_state. */
  encoder_hidden_states: HostTensor;
  /** [B, M] ints, 1 = token, 0 = padding; default: all tokens. */
  encoder_attention_mask?: HostTensor;
  /** With use_additional_conditions: [B, 2] (height, width) in pixels and [B, 1] height / width. */
  resolution?: HostTensor;
  aspect_ratio?: HostTensor;
  /** With guidance: the negative prompt's raw T5 states [B, M-, caption_channels] and mask [B, M-]. */
  negative_encoder_hidden_states?: HostTensor;
  negative_encoder_attention_mask?: HostTensor;
}

export interface PixArtRunOptions extends RunOptions {
  /** Attention-space guidance for the whole pass (src/guidance/types.ts); its strengths are runtime scalars. */
  guidance?: AttentionGuidance | null;
}

/** diffusers' bias for a {0,1} mask: (1 - m) * -10000 (not -inf). */
export function maskToBias(what: string, name: string, m: HostTensor): Float32Array {
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i];
    if (v !== 0 && v !== 1) throw new EngineError(`${what}: input '${name}' must hold 0 (padding) or 1 (token), found ${v} at flat index ${i}`);
    out[i] = (1 - v) * -10000;
  }
  return out;
}

export class PixArt {
  readonly className = 'PixArtTransformer2DModel';
  private cache: GraphCache;

  private constructor(readonly model: PixArtTransformer2DModel, readonly config: PixArtConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
  }

  static load(dir: string, opts: LoadOptions = {}): PixArt {
    return PixArt.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): PixArt {
    const { model, config } = buildModel(where, comp, pixartConfig, PixArtTransformer2DModel);
    return new PixArt(model, config, opts);
  }

  get dtype() { return this.cache.dtype; }

  signature(guided = false): InputSpec[] {
    const c = this.config, T = this.model.captionChannels;
    const extra = !c.use_additional_conditions;
    const specs: InputSpec[] = [
      { name: 'hidden_states', shapes: [['B', c.in_channels, 'H', 'W']], kind: 'float', doc: `noisy latent, H and W multiples of ${c.patch_size}` },
      { name: 'timestep', shapes: [[], [1], ['B']], kind: 'float', doc: 'diffusion timestep(s)' },
      { name: 'encoder_hidden_states', shapes: [['B', 'S', T]], kind: 'float', doc: 'raw T5 last_hidden_state' },
      { name: 'encoder_attention_mask', shapes: [['B', 'S']], kind: 'int', optional: true, doc: '1 = token, 0 = padding' },
      { name: 'resolution', shapes: [['B', 2]], kind: 'float', optional: extra, doc: extra ? 'ignored (use_additional_conditions is false)' : '(height, width) in pixels' },
      { name: 'aspect_ratio', shapes: [['B', 1]], kind: 'float', optional: extra, doc: extra ? 'ignored (use_additional_conditions is false)' : 'height / width' },
    ];
    if (guided) {
      specs.push({ name: 'negative_encoder_hidden_states', shapes: [['B', 'S_neg', T]], kind: 'float', doc: 'raw T5 states of the negative prompt' });
      specs.push({ name: 'negative_encoder_attention_mask', shapes: [['B', 'S_neg']], kind: 'int', optional: true, doc: '1 = token, 0 = padding' });
    }
    return specs;
  }

  /** Returns `sample` [B, out_channels, H, W]: all channels (learned sigma included). */
  async forward(inputs: PixArtInputs, opts: PixArtRunOptions = {}): Promise<Record<string, HostTensor>> {
    const c = this.config, guidance = opts.guidance ?? null;
    const t = typeof inputs.timestep === 'number' ? { shape: [], data: Float32Array.of(inputs.timestep) } : inputs.timestep;
    const named: Record<string, HostTensor | undefined> = { ...inputs, timestep: t };
    const what = `${this.className} forward${guidance ? ` (${guidance.mode})` : ''}`;
    const { B, H, W } = checkInputs(what, this.signature(!!guidance), named);
    if (H % c.patch_size || W % c.patch_size) throw new EngineError(`${what}: hidden_states is ${H}x${W}; height and width must be multiples of patch_size ${c.patch_size}`);
    checkFinite(what, 'timestep', t);
    const timestep = t.data.length === B ? Float32Array.from(t.data) : new Float32Array(B).fill(t.data[0]);
    const cond = c.use_additional_conditions;
    if (cond) {
      checkFinite(what, 'resolution', inputs.resolution!);
      checkFinite(what, 'aspect_ratio', inputs.aspect_ratio!);
    }
    const mask = inputs.encoder_attention_mask, negMask = guidance ? inputs.negative_encoder_attention_mask : undefined;

    // The key holds the mode only: strengths are runtime scalars, so an alpha sweep reuses one graph.
    const scalars = guidance ? guidanceScalars(guidance, this.model.crossAttnSites, layoutParts(SITE_LAYOUTS.dit)) : {};
    const key = `${shapeKey(inputs.hidden_states, inputs.encoder_hidden_states, mask, inputs.negative_encoder_hidden_states, negMask)}|${guidance?.mode ?? 'none'}`;
    const build = (g: Graph) => {
      const x = {
        hidden_states: g.input('hidden_states', inputs.hidden_states.shape),
        timestep: g.input('timestep', [B], 'f32'), // f32 even in f16 graphs: sinusoids of t up to 1000 need it
        encoder_hidden_states: g.input('encoder_hidden_states', inputs.encoder_hidden_states.shape),
        encoder_attention_bias: mask ? g.input('encoder_attention_bias', mask.shape) : null,
        resolution: cond ? g.input('resolution', [B, 2], 'f32') : null,
        aspect_ratio: cond ? g.input('aspect_ratio', [B, 1], 'f32') : null,
      };
      const neg = guidance ? {
        negativeContext: g.input('negative_encoder_hidden_states', inputs.negative_encoder_hidden_states!.shape),
        negativeMask: negMask ? g.input('negative_encoder_attention_bias', negMask.shape) : null,
      } : null;
      return { sample: this.model.forward(x, guidance && neg ? { mode: guidance.mode, ...neg } : null) };
    };
    const feed: Record<string, ArrayLike<number>> = { hidden_states: inputs.hidden_states.data, timestep, encoder_hidden_states: inputs.encoder_hidden_states.data };
    if (mask) feed.encoder_attention_bias = maskToBias(what, 'encoder_attention_mask', mask);
    if (cond) Object.assign(feed, { resolution: inputs.resolution!.data, aspect_ratio: inputs.aspect_ratio!.data });
    if (guidance) feed.negative_encoder_hidden_states = inputs.negative_encoder_hidden_states!.data;
    if (negMask) feed.negative_encoder_attention_bias = maskToBias(what, 'negative_encoder_attention_mask', negMask);
    return this.cache.run(key, build, feed, opts, scalars);
  }

  destroy(): void {
    this.cache.destroy();
  }
}
