// PixArt-α's diffusion transformer: diffusers PixArtTransformer2DModel (PixArt-α checkpoints
// name it Transformer2DModel with norm_type 'ada_norm_single'; same parameter names).
// Patch tokens with 2D sin-cos positions, adaLN-single conditioning on the timestep (and the
// resolution / aspect-ratio micro-conditions), T5 captions projected to the model width,
// blocks of self-attention, masked cross-attention and a GELU(tanh) MLP, then the final
// modulated norm, proj_out and unpatchify. The output keeps all out_channels (prediction and
// learned sigma), as diffusers returns it.
// Follows diffusers v0.31.0 src/diffusers/models/transformers/pixart_transformer_2d.py:
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/transformers/pixart_transformer_2d.py
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import type { GraphGuidance, GuidanceSite } from '../guidance/types.ts';
import { add, permute, reshape, slice } from '../ops/index.ts';
import { Linear, tap } from './nn.ts';
import { AdaLayerNormSingle, modulate, PatchEmbed, PixArtAlphaTextProjection, PixArtTransformerBlock, PlainLayerNorm } from './pixart_blocks.ts';
import type { PixArtConfig } from './pixart_configs.ts';

export interface PixArtForwardInputs {
  /** [B, in_channels, H, W] latent; H, W multiples of patch_size. */
  hidden_states: Node;
  /** [B] f32 timesteps. */
  timestep: Node;
  /** [B, M, caption_channels] raw T5 states (the caption projection maps them). */
  encoder_hidden_states: Node;
  /** [B, M] additive bias from encoder_attention_mask: (1 - m) * -10000; null = no padding. */
  encoder_attention_bias: Node | null;
  /** [B, 2] (height, width in pixels) and [B, 1] (height / width), f32: with use_additional_conditions. */
  resolution: Node | null;
  aspect_ratio: Node | null;
}

export class PixArtTransformer2DModel {
  readonly pos_embed: PatchEmbed;
  readonly transformer_blocks: PixArtTransformerBlock[];
  readonly norm_out: PlainLayerNorm;
  /** [2, D]: shift and scale of the final norm, added to the embedded timestep. */
  readonly scale_shift_table: WeightSource;
  readonly proj_out: Linear;
  readonly adaln_single: AdaLayerNormSingle;
  readonly caption_projection: PixArtAlphaTextProjection | null;
  readonly crossAttnSites: GuidanceSite[];
  readonly innerDim: number;

  constructor(ws: WeightScope, readonly config: PixArtConfig) {
    const c = config, D = c.num_attention_heads * c.attention_head_dim, p = c.patch_size;
    this.innerDim = D;
    this.pos_embed = new PatchEmbed(ws.sub('pos_embed'), c, D);
    this.transformer_blocks = Array.from({ length: c.num_layers }, (_, i) => new PixArtTransformerBlock(ws.sub(`transformer_blocks.${i}`), c, i));
    this.norm_out = new PlainLayerNorm(ws.sub('norm_out'), D, 1e-6, false);
    this.scale_shift_table = ws.get('scale_shift_table', [2, D]);
    this.proj_out = new Linear(ws.sub('proj_out'), D, p * p * c.out_channels);
    this.adaln_single = new AdaLayerNormSingle(ws.sub('adaln_single'), D, c.use_additional_conditions);
    this.caption_projection = c.caption_channels !== null ? new PixArtAlphaTextProjection(ws.sub('caption_projection'), c.caption_channels, D) : null;
    if (!this.caption_projection && c.cross_attention_dim !== D) {
      throw new EngineError(`PixArt: without caption_channels the text states go to attn2 unprojected, so cross_attention_dim ${c.cross_attention_dim} must equal the width ${D}`);
    }
    this.crossAttnSites = this.transformer_blocks.map((b) => b.site);
  }

  /** Width of the text states forward() takes. */
  get captionChannels(): number {
    return this.config.caption_channels ?? this.config.cross_attention_dim;
  }

  /** Raw T5 states [B, M, caption_channels] -> what attn2 reads [B, M, D]. */
  projectCaption(x: Node, tapName: string): Node {
    return this.caption_projection ? tap(tapName, this.caption_projection.forward(x)) : x;
  }

  /**
   * -> [B, out_channels, H, W]. With guidance its negativeContext is the RAW negative T5
   * states (projected here by the same caption_projection) and negativeMask their additive
   * bias [B, M-].
   */
  forward(x: PixArtForwardInputs, guidance?: GraphGuidance | null): Node {
    const c = this.config, p = c.patch_size, D = this.innerDim;
    const [B, , H, W] = x.hidden_states.shape, gh = H / p, gw = W / p;
    let h = this.pos_embed.forward(x.hidden_states); // [B, gh*gw, D]
    const { modulation, embedded } = this.adaln_single.forward(x.timestep, x.resolution, x.aspect_ratio); // [B, 6D], [B, D]
    const context = this.projectCaption(x.encoder_hidden_states, 'caption_projection'); // [B, M, D]
    const g = guidance ? { ...guidance, negativeContext: this.projectCaption(guidance.negativeContext, 'negative_caption_projection') } : null;
    this.transformer_blocks.forEach((b, i) => {
      h = tap(`transformer_blocks.${i}`, h.graph.scope(`transformer_blocks.${i}`, () => b.forward(h, modulation, context, x.encoder_attention_bias, g))); // [B, gh*gw, D]
    });
    const ss = add(reshape(embedded, [B, 1, D]), h.graph.weight(this.scale_shift_table)); // [B, 2, D]
    h = modulate(this.norm_out.forward(h), slice(ss, 1, 0, 1), slice(ss, 1, 1, 2)); // [B, gh*gw, D]
    h = tap('proj_out', this.proj_out.forward(h)); // [B, gh*gw, p*p*C]
    const C = c.out_channels;
    // unpatchify: (B, gh, gw, p, p, C) -> einsum nhwpqc->nchpwq -> (B, C, gh*p, gw*p)
    return reshape(permute(reshape(h, [B, gh, gw, p, p, C]), [0, 5, 1, 3, 2, 4]), [B, C, H, W]);
  }
}
