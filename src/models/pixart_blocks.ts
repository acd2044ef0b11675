// The parts of PixArtTransformer2DModel: patch embedding with 2D sin-cos positions,
// adaLN-single timestep conditioning (with PixArt-α's resolution / aspect-ratio
// micro-conditions), the caption projection, and the transformer block with
// norm_type 'ada_norm_single'.
// Follows diffusers v0.31.0:
//   src/diffusers/models/embeddings.py (PatchEmbed, get_2d_sincos_pos_embed,
//     PixArtAlphaCombinedTimestepSizeEmbeddings, PixArtAlphaTextProjection)
//   src/diffusers/models/normalization.py (AdaLayerNormSingle)
//   src/diffusers/models/attention.py (BasicTransformerBlock, FeedForward)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/embeddings.py
import type { Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { SITE_LAYOUTS } from '../guidance/families.ts';
import { siteOf, type GraphGuidance, type GuidanceSite } from '../guidance/types.ts';
import { add, concat, geluTanh, layerNorm, mul, permute, reshape, scale, silu, slice } from '../ops/index.ts';
import { Attention } from './attention.ts';
import { Timesteps, TimestepEmbedding } from './embeddings.ts';
import { Conv2d, Linear, tap } from './nn.ts';
import type { PixArtConfig } from './pixart_configs.ts';

// ---- patch embedding ----------------------------------------------------------------------

/**
 * get_2d_sincos_pos_embed for a gh x gw token grid, [gh*gw, D] row-major over (row, col):
 * the first D/2 values encode the column, the last D/2 the row, each as [sin, cos] of
 * pos * 10000^(-k/(D/4)), with pos = index / (grid / baseSize) / interpolationScale.
 * Computed in float64 as diffusers does with numpy.
 */
export function sincos2d(D: number, gh: number, gw: number, baseSize: number, interpolationScale: number): Float32Array {
  const q = D / 4;
  const omega = Array.from({ length: q }, (_, k) => 1 / 10000 ** (k / q));
  const out = new Float32Array(gh * gw * D);
  for (let r = 0; r < gh; r++) {
    const y = r / (gh / baseSize) / interpolationScale;
    for (let c = 0; c < gw; c++) {
      const x = c / (gw / baseSize) / interpolationScale;
      const o = (r * gw + c) * D;
      for (let k = 0; k < q; k++) {
        out[o + k] = Math.sin(x * omega[k]);
        out[o + q + k] = Math.cos(x * omega[k]);
        out[o + 2 * q + k] = Math.sin(y * omega[k]);
        out[o + 3 * q + k] = Math.cos(y * omega[k]);
      }
    }
  }
  return out;
}

/** PatchEmbed: conv with kernel = stride = patch_size, flattened to tokens, plus positions. */
export class PatchEmbed {
  readonly proj: Conv2d;
  /** Position grid of the training size: sample_size // patch_size (diffusers' base_size). */
  readonly baseSize: number;
  constructor(ws: WeightScope, readonly c: PixArtConfig, readonly dim: number) {
    this.proj = new Conv2d(ws.sub('proj'), c.in_channels, dim, c.patch_size, c.patch_size);
    this.baseSize = c.sample_size / c.patch_size;
  }

  get interpolationScale(): number {
    return this.c.interpolation_scale ?? Math.max(Math.floor(this.c.sample_size / 64), 1);
  }

  // x [B, C, H, W] -> [B, (H/p)*(W/p), D]
  forward(x: Node): Node {
    const g = x.graph, p = this.c.patch_size;
    const [B, , H, W] = x.shape, gh = H / p, gw = W / p, D = this.dim;
    const t = permute(reshape(this.proj.forward(x), [B, D, gh * gw]), [0, 2, 1]); // [B, gh*gw, D]
    const pos = g.constant(sincos2d(D, gh, gw, this.baseSize, this.interpolationScale), [gh * gw, D], g.dtype, 'pos_embed table');
    return tap('pos_embed', add(t, pos));
  }
}

// ---- adaLN-single ---------------------------------------------------------------------------

/** PixArtAlphaCombinedTimestepSizeEmbeddings: timestep (+ resolution, aspect ratio) -> [B, D]. */
class CombinedTimestepSizeEmbeddings {
  readonly time_proj = new Timesteps(256, true, 0);
  readonly timestep_embedder: TimestepEmbedding;
  readonly resolution_embedder: TimestepEmbedding | null;
  readonly aspect_ratio_embedder: TimestepEmbedding | null;
  constructor(ws: WeightScope, dim: number, additional: boolean) {
    this.timestep_embedder = new TimestepEmbedding(ws.sub('timestep_embedder'), 256, dim);
    this.resolution_embedder = additional ? new TimestepEmbedding(ws.sub('resolution_embedder'), 256, dim / 3) : null;
    this.aspect_ratio_embedder = additional ? new TimestepEmbedding(ws.sub('aspect_ratio_embedder'), 256, dim / 3) : null;
  }

  // t [B], resolution [B, 2], aspect_ratio [B, 1] (f32) -> [B, D]
  forward(t: Node, resolution: Node | null, aspectRatio: Node | null): Node {
    const B = t.dim(0);
    const temb = this.timestep_embedder.forward(this.time_proj.forward(t)); // [B, D]
    if (!this.resolution_embedder || !this.aspect_ratio_embedder) return temb;
    // additional_condition_proj is the same Timesteps(256) as time_proj.
    const res = this.resolution_embedder.forward(this.time_proj.forward(reshape(resolution!, [2 * B]))); // [2B, D/3]
    const ar = this.aspect_ratio_embedder.forward(this.time_proj.forward(reshape(aspectRatio!, [B]))); // [B, D/3]
    return add(temb, concat([reshape(res, [B, 2 * ar.dim(1)]), ar], 1)); // temb + cat([res, ar]) [B, D]
  }
}

/** AdaLayerNormSingle: (modulation [B, 6D], embedded_timestep [B, D]). */
export class AdaLayerNormSingle {
  readonly emb: CombinedTimestepSizeEmbeddings;
  readonly linear: Linear;
  constructor(ws: WeightScope, dim: number, additional: boolean) {
    this.emb = new CombinedTimestepSizeEmbeddings(ws.sub('emb'), dim, additional);
    this.linear = new Linear(ws.sub('linear'), dim, 6 * dim);
  }
  forward(t: Node, resolution: Node | null, aspectRatio: Node | null): { modulation: Node; embedded: Node } {
    const embedded = tap('adaln_single.emb', this.emb.forward(t, resolution, aspectRatio)); // [B, D]
    return { modulation: tap('adaln_single', this.linear.forward(silu(embedded))), embedded }; // [B, 6D]
  }
}

// ---- caption projection, feed-forward, block ----------------------------------------------

/** PixArtAlphaTextProjection: linear_1 -> GELU(tanh) (act_fn 'gelu_tanh', or FLUX's 'silu') -> linear_2. */
export class PixArtAlphaTextProjection {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(ws: WeightScope, inFeatures: number, hidden: number, readonly act: 'gelu_tanh' | 'silu' = 'gelu_tanh') {
    this.linear_1 = new Linear(ws.sub('linear_1'), inFeatures, hidden);
    this.linear_2 = new Linear(ws.sub('linear_2'), hidden, hidden);
  }
  // x [B, M, caption_channels] -> [B, M, D]
  forward(x: Node): Node {
    const h = this.linear_1.forward(x);
    return this.linear_2.forward(this.act === 'silu' ? silu(h) : geluTanh(h));
  }
}

/** FeedForward, activation_fn 'gelu-approximate' (FLUX: 'gelu-tanh-approximate'), mult 4: net = [GELU(proj), Dropout, Linear]. */
export class FeedForward {
  readonly net: [{ proj: Linear }, null, Linear];
  constructor(ws: WeightScope, dim: number) {
    this.net = [{ proj: new Linear(ws.sub('net.0.proj'), dim, 4 * dim) }, null, new Linear(ws.sub('net.2'), 4 * dim, dim)];
  }
  // x [B, N, D] -> [B, N, D], via [B, N, 4D]
  forward(x: Node): Node {
    return this.net[2].forward(geluTanh(this.net[0].proj.forward(x)));
  }
}

/** nn.LayerNorm over the last dim, with or without affine weights. */
export class PlainLayerNorm {
  readonly weight: WeightSource | null;
  readonly bias: WeightSource | null;
  constructor(ws: WeightScope, dim: number, readonly eps: number, affine: boolean) {
    this.weight = affine ? ws.get('weight', [dim]) : null;
    this.bias = affine ? ws.get('bias', [dim]) : null;
  }
  forward(x: Node): Node {
    const g = x.graph;
    return layerNorm(x, this.weight && g.weight(this.weight), this.bias && g.weight(this.bias), this.eps);
  }
}

/** x * (1 + scale) + shift, with shift/scale [B, 1, D]. */
export function modulate(x: Node, shift: Node, scaleBy: Node): Node {
  return add(mul(x, scale(scaleBy, 1, 1)), shift);
}

/** BasicTransformerBlock with norm_type 'ada_norm_single' (PixArt). */
export class PixArtTransformerBlock {
  readonly norm1: PlainLayerNorm;
  readonly attn1: Attention;
  readonly attn2: Attention;
  readonly norm2: PlainLayerNorm;
  readonly ff: FeedForward;
  /** [6, D]: added to the per-sample modulation (shift/scale/gate for attention and MLP). */
  readonly scale_shift_table: WeightSource;
  readonly site: GuidanceSite;

  constructor(ws: WeightScope, c: PixArtConfig, index: number) {
    const dim = c.num_attention_heads * c.attention_head_dim;
    const attn = { queryDim: dim, heads: c.num_attention_heads, dimHead: c.attention_head_dim, bias: c.attention_bias, upcastAttention: c.upcast_attention };
    this.norm1 = new PlainLayerNorm(ws.sub('norm1'), dim, c.norm_eps, c.norm_elementwise_affine);
    this.attn1 = new Attention(ws.sub('attn1'), attn);
    this.attn2 = new Attention(ws.sub('attn2'), { ...attn, crossAttentionDim: c.cross_attention_dim });
    this.norm2 = new PlainLayerNorm(ws.sub('norm2'), dim, c.norm_eps, c.norm_elementwise_affine);
    this.ff = new FeedForward(ws.sub('ff'), dim);
    this.scale_shift_table = ws.get('scale_shift_table', [6, dim]);
    this.site = siteOf(this.attn2.path, index, SITE_LAYOUTS.dit);
  }

  /**
   * x [B, N, D], modulation [B, 6D], context [B, M, D] (projected captions), mask [B, M]
   * additive or null -> [B, N, D].
   */
  forward(x: Node, modulation: Node, context: Node, mask: Node | null, guidance?: GraphGuidance | null): Node {
    const g = x.graph;
    const [B, , D] = x.shape;
    const m = add(reshape(modulation, [B, 6, D]), g.weight(this.scale_shift_table)); // [B, 6, D]
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = [0, 1, 2, 3, 4, 5].map((i) => slice(m, 1, i, i + 1)); // [B, 1, D] each
    let h = add(mul(gateMsa, this.attn1.forward(modulate(this.norm1.forward(x), shiftMsa, scaleMsa))), x); // self-attention
    // No norm before the cross-attention in PixArt.
    h = add(this.attn2.forward(h, context, guidance ? { ...guidance, site: this.site } : null, mask), h);
    return add(mul(gateMlp, this.ff.forward(modulate(this.norm2.forward(h), shiftMlp, scaleMlp))), h); // feed-forward
  }
}
