// FLUX.1's diffusion transformer: diffusers FluxTransformer2DModel. Packed 2x2 latent
// tokens and T5 text tokens get their own projections (x_embedder, context_embedder), the
// timestep + pooled CLIP text (+ guidance scale for -dev) become one conditioning vector,
// 3-axis RoPE positions come from img_ids / txt_ids, then double-stream blocks (separate
// image and text streams, joint attention over [text; image]), single-stream blocks over
// the concatenation, and the modulated norm_out + proj_out on the image tokens: the packed
// flow-matching velocity.
// Follows diffusers v0.31.0 src/diffusers/models/transformers/transformer_flux.py
// (FluxTransformer2DModel) and pipelines/flux/pipeline_flux.py (_pack_latents, _unpack_latents,
// _prepare_latent_image_ids):
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/transformers/transformer_flux.py
import type { Node } from '../graph/graph.ts';
import type { HostTensor } from '../io/host.ts';
import type { WeightScope } from '../io/store.ts';
import type { GraphGuidance, GuidanceSite } from '../guidance/types.ts';
import { concat, scale, silu, slice } from '../ops/index.ts';
import { FluxSingleTransformerBlock, FluxTransformerBlock, type NegativeStream, type Rope } from './flux_blocks.ts';
import type { FluxConfig } from './flux_configs.ts';
import { AdaLayerNormContinuous, CombinedTimestepTextProjEmbeddings, FluxPosEmbed } from './flux_embeddings.ts';
import { Linear, tap } from './nn.ts';

export interface FluxForwardInputs {
  /** [B, N, in_channels]: packed latent tokens. */
  hidden_states: Node;
  /** [B, T, joint_attention_dim]: T5 last_hidden_state. */
  encoder_hidden_states: Node;
  /** [B, pooled_projection_dim]: CLIP pooler_output. */
  pooled_projections: Node;
  /** [B] f32: what FluxPipeline passes (sigma = scheduler timestep / 1000); the model x1000. */
  timestep: Node;
  /** [B] f32 raw guidance scale (guidance_embeds only), x1000 here too. */
  guidance: Node | null;
  /** FluxPosEmbed of ids = cat(txt_ids, img_ids): [T+N, head_dim] each. */
  rope: Rope;
  /** With guidance: FluxPosEmbed of negative_txt_ids [T-, head_dim]. */
  negative_rope?: Rope | null;
}

export class FluxTransformer2DModel {
  readonly pos_embed: FluxPosEmbed;
  readonly time_text_embed: CombinedTimestepTextProjEmbeddings;
  readonly context_embedder: Linear;
  readonly x_embedder: Linear;
  readonly transformer_blocks: FluxTransformerBlock[];
  readonly single_transformer_blocks: FluxSingleTransformerBlock[];
  readonly norm_out: AdaLayerNormContinuous;
  readonly proj_out: Linear;
  /** Every block, double then single, in forward order (per-block guidance settings). */
  readonly sites: GuidanceSite[];
  readonly innerDim: number;

  constructor(ws: WeightScope, readonly config: FluxConfig) {
    const c = config, D = c.num_attention_heads * c.attention_head_dim, H = c.num_attention_heads, hd = c.attention_head_dim;
    this.innerDim = D;
    this.pos_embed = new FluxPosEmbed(c.axes_dims_rope);
    this.time_text_embed = new CombinedTimestepTextProjEmbeddings(ws.sub('time_text_embed'), D, c.pooled_projection_dim, c.guidance_embeds);
    this.context_embedder = new Linear(ws.sub('context_embedder'), c.joint_attention_dim, D);
    this.x_embedder = new Linear(ws.sub('x_embedder'), c.in_channels, D);
    this.transformer_blocks = Array.from({ length: c.num_layers }, (_, i) => new FluxTransformerBlock(ws.sub(`transformer_blocks.${i}`), D, H, hd, i));
    this.single_transformer_blocks = Array.from({ length: c.num_single_layers }, (_, i) =>
      new FluxSingleTransformerBlock(ws.sub(`single_transformer_blocks.${i}`), D, H, hd, c.num_layers + i));
    this.norm_out = new AdaLayerNormContinuous(ws.sub('norm_out'), D);
    this.proj_out = new Linear(ws.sub('proj_out'), D, c.patch_size * c.patch_size * c.out_channels);
    this.sites = [...this.transformer_blocks.map((b) => b.site), ...this.single_transformer_blocks.map((b) => b.site)];
  }

  /**
   * -> [B, N, out_channels]. With guidance, its negativeContext is the RAW negative T5
   * states [B, T-, joint_attention_dim] (through the same context_embedder) and
   * x.negative_rope their rotary tables (src/guidance/flux.ts has the modes; strengths are
   * runtime scalars the API sets per run).
   */
  forward(x: FluxForwardInputs, guidance: GraphGuidance | null = null): Node {
    const T = x.encoder_hidden_states.dim(1);
    let img = tap('x_embedder', this.x_embedder.forward(x.hidden_states)); // [B, N, D]
    const gd = x.guidance && this.time_text_embed.guidance_embedder ? scale(x.guidance, 1000) : null;
    const temb = this.time_text_embed.forward(scale(x.timestep, 1000), gd, x.pooled_projections); // [B, D]
    const embAct = silu(temb); // SiLU(temb): what every adaptive norm's linear reads
    let txt = tap('context_embedder', this.context_embedder.forward(x.encoder_hidden_states)); // [B, T, D]
    let neg = guidance ? tap('negative_txt.context_embedder', this.context_embedder.forward(guidance.negativeContext)) : null; // [B, T-, D]
    const negStream = (n: Node | null): NegativeStream | null => (n && x.negative_rope ? { x: n, rope: x.negative_rope } : null);
    const g = x.hidden_states.graph;
    this.transformer_blocks.forEach((b, i) => {
      const out = g.scope(`transformer_blocks.${i}`, () => b.forward(img, txt, embAct, x.rope, negStream(neg), guidance && { ...guidance, site: b.site }));
      img = tap(`transformer_blocks.${i}.hidden_states`, out.hidden_states); // [B, N, D]
      txt = tap(`transformer_blocks.${i}.encoder_hidden_states`, out.encoder_hidden_states); // [B, T, D]
      if (out.negative) neg = tap(`negative_txt.transformer_blocks.${i}`, out.negative); // [B, T-, D]
    });
    let h = concat([txt, img], 1); // [B, T+N, D], text first
    this.single_transformer_blocks.forEach((b, i) => {
      const out = g.scope(`single_transformer_blocks.${i}`, () => b.forward(h, T, embAct, x.rope, negStream(neg), guidance && { ...guidance, site: b.site }));
      h = tap(`single_transformer_blocks.${i}`, out.h); // [B, T+N, D]
      if (out.negative) neg = tap(`negative_txt.single_transformer_blocks.${i}`, out.negative); // [B, T-, D]
    });
    const out = tap('norm_out', this.norm_out.forward(slice(h, 1, T, h.dim(1)), embAct)); // image tokens [B, N, D]
    return this.proj_out.forward(out); // [B, N, out_channels]
  }
}

// ---- FluxPipeline's 2x2 latent packing (host tensors) ------------------------------------

/**
 * _pack_latents: (B, C, h, w) -> (B, (h/2)*(w/2), 4C), token r*(w/2)+c over the 2x2 patches,
 * feature ch*4 + dy*2 + dx.
 */
export function packLatents(x: HostTensor): HostTensor {
  const [B, C, h, w] = x.shape, hh = h / 2, ww = w / 2;
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < B; b++) for (let ch = 0; ch < C; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    const tok = (y >> 1) * ww + (xx >> 1), f = ch * 4 + (y & 1) * 2 + (xx & 1);
    out[(b * hh * ww + tok) * 4 * C + f] = x.data[((b * C + ch) * h + y) * w + xx];
  }
  return { shape: [B, hh * ww, 4 * C], data: out };
}

/** _unpack_latents: the inverse of packLatents for a latent of h x w. */
export function unpackLatents(x: HostTensor, h: number, w: number): HostTensor {
  const [B, L, F] = x.shape, C = F / 4, ww = w / 2;
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < B; b++) for (let tok = 0; tok < L; tok++) for (let f = 0; f < F; f++) {
    const ch = f >> 2, y = 2 * Math.floor(tok / ww) + ((f >> 1) & 1), xx = 2 * (tok % ww) + (f & 1);
    out[((b * C + ch) * h + y) * w + xx] = x.data[(b * L + tok) * F + f];
  }
  return { shape: [B, C, h, w], data: out };
}

/** _prepare_latent_image_ids: [(h/2)*(w/2), 3] = [0, row, col] per packed token. */
export function latentImageIds(h: number, w: number): HostTensor {
  const hh = h / 2, ww = w / 2;
  const data = new Float32Array(hh * ww * 3);
  for (let r = 0; r < hh; r++) for (let c = 0; c < ww; c++) data.set([0, r, c], (r * ww + c) * 3);
  return { shape: [hh * ww, 3], data };
}
