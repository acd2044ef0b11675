// Typed API of FluxTransformer2DModel: load a diffusers `transformer/` folder, run forward()
// on host tensors named as FluxTransformer2DModel.forward takes them, plus the negative
// prompt's states and ids for guidance (src/guidance/flux.ts).
//
//   const flux = Flux.load('flux-schnell/transformer', { dtype: 'f16' });
//   const { sample } = await flux.forward({ hidden_states, encoder_hidden_states, pooled_projections, timestep: 1, img_ids, txt_ids });
//   const nasa = await flux.forward({ ...inputs, negative_encoder_hidden_states }, { guidance: { mode: 'nasa', alpha: 0.5 } });
import type { Graph } from '../../graph/graph.ts';
import { FluxTransformer2DModel } from '../flux.ts';
import { fluxConfig, type FluxConfig } from '../flux_configs.ts';
import { layoutParts, SITE_LAYOUTS } from '../../guidance/families.ts';
import { guidanceScalars } from '../../guidance/scalars.ts';
import type { AttentionGuidance } from '../../guidance/types.ts';
import { buildModel, checkFinite, checkInputs, GraphCache, openForLoad, shapeKey, type Component, type HostTensor, type InputSpec, type LoadOptions, type RunOptions } from './common.ts';

export interface FluxInputs {
  /** [B, N, in_channels]: packed latent tokens (packLatents). */
  hidden_states: HostTensor;
  /** [B, T, joint_attention_dim]: T5 last_hidden_state. */
  encoder_hidden_states: HostTensor;
  /** [B, pooled_projection_dim]: CLIP pooler_output. */
  pooled_projections: HostTensor;
  /** [], [1] or [B]: sigma in [0, 1] as FluxPipeline passes it (the model multiplies by 1000). */
  timestep: HostTensor | number;
  /** [N, 3] (or deprecated [1, N, 3]): [0, row, col] per token (latentImageIds). */
  img_ids: HostTensor;
  /** [T, 3] (or [1, T, 3]): zeros in FluxPipeline. */
  txt_ids: HostTensor;
  /** guidance_embeds (FLUX.1-dev) only: the raw guidance scale, [], [1] or [B]. */
  guidance?: HostTensor | number;
  /** With guidance: the negative prompt's T5 states [B, T-, joint_attention_dim] and ids [T-, 3] (default zeros). */
  negative_encoder_hidden_states?: HostTensor;
  negative_txt_ids?: HostTensor;
}

export interface FluxRunOptions extends RunOptions {
  /** Attention-space guidance (src/guidance/flux.ts); NASA's alpha may vary per part ('double' / 'single') or site. */
  guidance?: AttentionGuidance | null;
}

const scalarOrBatch = (t: HostTensor | number): HostTensor => (typeof t === 'number' ? { shape: [], data: Float32Array.of(t) } : t);

export class Flux {
  readonly className = 'FluxTransformer2DModel';
  private cache: GraphCache;

  private constructor(readonly model: FluxTransformer2DModel, readonly config: FluxConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
  }

  static load(dir: string, opts: LoadOptions = {}): Flux {
    return Flux.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): Flux {
    const { model, config } = buildModel(where, comp, fluxConfig, FluxTransformer2DModel);
    return new Flux(model, config, opts);
  }

  get dtype() { return this.cache.dtype; }

  signature(guided = false): InputSpec[] {
    const c = this.config, A = c.axes_dims_rope.length;
    // 2-D ids; a 3-D (1, n, axes) tensor is accepted as diffusers 0.31 still does (deprecated).
    const ids = (name: string, n: string, doc: string, optional = false): InputSpec => ({ name, shapes: [[n, A], [1, n, A]], kind: 'float', optional, doc });
    const specs: InputSpec[] = [
      { name: 'hidden_states', shapes: [['B', 'N', c.in_channels]], kind: 'float', doc: 'packed latent tokens' },
      { name: 'encoder_hidden_states', shapes: [['B', 'T', c.joint_attention_dim]], kind: 'float', doc: 'T5 last_hidden_state' },
      { name: 'pooled_projections', shapes: [['B', c.pooled_projection_dim]], kind: 'float', doc: 'CLIP pooler_output' },
      { name: 'timestep', shapes: [[], [1], ['B']], kind: 'float', doc: 'sigma (the scheduler timestep / 1000)' },
      ids('img_ids', 'N', 'positions of the image tokens'),
      ids('txt_ids', 'T', 'positions of the text tokens'),
    ];
    if (c.guidance_embeds) specs.push({ name: 'guidance', shapes: [[], [1], ['B']], kind: 'float', doc: 'embedded guidance scale (FLUX.1-dev)' });
    if (guided) {
      specs.push({ name: 'negative_encoder_hidden_states', shapes: [['B', 'T_neg', c.joint_attention_dim]], kind: 'float', doc: 'T5 states of the negative prompt' });
      specs.push(ids('negative_txt_ids', 'T_neg', 'positions of the negative text tokens (default zeros)', true));
    }
    return specs;
  }

  /** Returns `sample` [B, N, out_channels]: the packed velocity prediction. */
  async forward(inputs: FluxInputs, opts: FluxRunOptions = {}): Promise<Record<string, HostTensor>> {
    const c = this.config, guidance = opts.guidance ?? null;
    const t = scalarOrBatch(inputs.timestep);
    const gs = inputs.guidance === undefined ? undefined : scalarOrBatch(inputs.guidance);
    const what = `${this.className} forward${guidance ? ` (${guidance.mode})` : ''}`;
    const { B, N, T, T_neg } = checkInputs(what, this.signature(!!guidance), { ...inputs, timestep: t, guidance: gs });
    for (const [name, v] of [['timestep', t], ['guidance', gs], ['img_ids', inputs.img_ids], ['txt_ids', inputs.txt_ids], ['negative_txt_ids', inputs.negative_txt_ids]] as const) {
      if (v) checkFinite(what, name, v);
    }
    const perRow = (v: HostTensor) => (v.data.length === B ? Float32Array.from(v.data) : new Float32Array(B).fill(v.data[0]));
    const hd = c.attention_head_dim, A = c.axes_dims_rope.length;
    const ids = new Float32Array((T + N) * A);
    ids.set(inputs.txt_ids.data.subarray(0, T * A));
    ids.set(inputs.img_ids.data.subarray(0, N * A), T * A); // cat(txt_ids, img_ids): text first
    const tables = this.model.pos_embed.forward(ids, T + N);
    const negTables = guidance ? this.model.pos_embed.forward(inputs.negative_txt_ids?.data ?? new Float32Array(T_neg * A), T_neg) : null;

    // The key holds the mode only: strengths are runtime scalars, so an alpha sweep reuses one graph.
    const scalars = guidance ? guidanceScalars(guidance, this.model.sites, layoutParts(SITE_LAYOUTS.mmdit)) : {};
    const key = `${shapeKey(inputs.hidden_states, inputs.encoder_hidden_states, inputs.negative_encoder_hidden_states)}|${guidance?.mode ?? 'none'}`;
    const build = (g: Graph) => {
      const rope = (p: string, n: number) => ({ cos: g.input(`${p}cos`, [n, hd], 'f32'), sin: g.input(`${p}sin`, [n, hd], 'f32') });
      const x = {
        hidden_states: g.input('hidden_states', inputs.hidden_states.shape),
        encoder_hidden_states: g.input('encoder_hidden_states', inputs.encoder_hidden_states.shape),
        pooled_projections: g.input('pooled_projections', inputs.pooled_projections.shape),
        timestep: g.input('timestep', [B], 'f32'), // f32 even in f16 graphs: x1000 sinusoids need it
        guidance: c.guidance_embeds ? g.input('guidance', [B], 'f32') : null,
        rope: rope('rope_', T + N),
        negative_rope: guidance ? rope('negative_rope_', T_neg) : null,
      };
      const neg = guidance ? g.input('negative_encoder_hidden_states', inputs.negative_encoder_hidden_states!.shape) : null;
      return { sample: this.model.forward(x, guidance && neg ? { mode: guidance.mode, negativeContext: neg } : null) };
    };
    const feed: Record<string, ArrayLike<number>> = {
      hidden_states: inputs.hidden_states.data, encoder_hidden_states: inputs.encoder_hidden_states.data,
      pooled_projections: inputs.pooled_projections.data, timestep: perRow(t), rope_cos: tables.cos, rope_sin: tables.sin,
    };
    if (c.guidance_embeds) feed.guidance = perRow(gs!);
    if (guidance && negTables) Object.assign(feed, { negative_encoder_hidden_states: inputs.negative_encoder_hidden_states!.data, negative_rope_cos: negTables.cos, negative_rope_sin: negTables.sin });
    const out = await this.cache.run(key, build, feed, opts, scalars);
    if (opts.debug) Object.assign(out, { 'debug.pos_embed.cos': { shape: [T + N, hd], data: tables.cos }, 'debug.pos_embed.sin': { shape: [T + N, hd], data: tables.sin } });
    return out;
  }

  destroy(): void {
    this.cache.destroy();
  }
}
