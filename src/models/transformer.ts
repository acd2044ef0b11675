// The UNet's spatial transformer: Transformer2DModel (continuous input) holding
// BasicTransformerBlocks (self-attention, cross-attention, GEGLU feed-forward).
// Follows diffusers v0.31.0:
//   src/diffusers/models/transformers/transformer_2d.py (Transformer2DModel)
//   src/diffusers/models/attention.py (BasicTransformerBlock, FeedForward)
//   src/diffusers/models/activations.py (GEGLU)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/transformers/transformer_2d.py
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { SITE_LAYOUTS } from '../guidance/families.ts';
import { siteOf, type GraphGuidance, type GuidanceSite } from '../guidance/types.ts';
import { add, geglu, permute, reshape } from '../ops/index.ts';
import { Attention } from './attention.ts';
import { GroupNorm, LayerNorm, Linear } from './nn.ts';

/** GEGLU: proj to 2*inner, first half * gelu(second half). */
class GEGLU {
  readonly proj: Linear;
  constructor(ws: WeightScope, dim: number, inner: number) {
    this.proj = new Linear(ws.sub('proj'), dim, inner * 2);
  }
  forward(x: Node): Node {
    return geglu(this.proj.forward(x)); // [..., 2*inner] -> [..., inner]
  }
}

/** FeedForward with activation_fn='geglu', mult 4: net = [GEGLU, Dropout, Linear]. */
class FeedForward {
  readonly net: [GEGLU, null, Linear];
  constructor(ws: WeightScope, dim: number, mult = 4) {
    const inner = dim * mult;
    this.net = [new GEGLU(ws.sub('net.0'), dim, inner), null, new Linear(ws.sub('net.2'), inner, dim)];
  }
  forward(x: Node): Node {
    const h = this.net[0].forward(x); // [B, N, 4*dim]
    return this.net[2].forward(h); // [B, N, dim]
  }
}

export interface TransformerOptions {
  heads: number;
  dimHead: number;
  crossAttentionDim: number;
  upcastAttention: boolean;
}

export class BasicTransformerBlock {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;
  /** Where attn2 sits in the model, for per-layer guidance settings. */
  readonly site: GuidanceSite;

  constructor(ws: WeightScope, dim: number, o: TransformerOptions, sites: GuidanceSite[]) {
    const attn = { queryDim: dim, heads: o.heads, dimHead: o.dimHead, upcastAttention: o.upcastAttention };
    this.norm1 = new LayerNorm(ws.sub('norm1'), dim, 1e-5);
    this.attn1 = new Attention(ws.sub('attn1'), attn);
    this.norm2 = new LayerNorm(ws.sub('norm2'), dim, 1e-5);
    this.attn2 = new Attention(ws.sub('attn2'), { ...attn, crossAttentionDim: o.crossAttentionDim });
    this.norm3 = new LayerNorm(ws.sub('norm3'), dim, 1e-5);
    this.ff = new FeedForward(ws.sub('ff'), dim);
    this.site = siteOf(this.attn2.path, sites.length, SITE_LAYOUTS.unet);
    sites.push(this.site);
  }

  // x [B, N, dim], context [B, M, crossDim] -> [B, N, dim]
  forward(x: Node, context: Node, guidance?: GraphGuidance | null): Node {
    let h = add(this.attn1.forward(this.norm1.forward(x)), x); // self-attention + residual
    const layerGuidance = guidance ? { ...guidance, site: this.site } : null;
    h = add(this.attn2.forward(this.norm2.forward(h), context, layerGuidance), h); // cross-attention + residual
    return add(this.ff.forward(this.norm3.forward(h)), h); // feed-forward + residual
  }
}

export interface Transformer2DOptions extends TransformerOptions {
  inChannels: number;
  numLayers: number;
  normNumGroups: number;
  /** Linear proj_in/proj_out (SD2, SDXL) instead of 1x1 convs (SD1). */
  useLinearProjection: boolean;
}

export class Transformer2DModel {
  readonly norm: GroupNorm;
  readonly proj_in: Linear;
  readonly transformer_blocks: BasicTransformerBlock[];
  readonly proj_out: Linear;

  constructor(ws: WeightScope, o: Transformer2DOptions, sites: GuidanceSite[]) {
    const inner = o.heads * o.dimHead;
    const conv1x1 = !o.useLinearProjection;
    this.norm = new GroupNorm(ws.sub('norm'), o.normNumGroups, o.inChannels, 1e-6);
    // A 1x1 conv before the NCHW->NLC reshape equals a linear after it; one matmul serves both.
    this.proj_in = new Linear(ws.sub('proj_in'), o.inChannels, inner, true, { conv1x1 });
    this.transformer_blocks = Array.from({ length: o.numLayers }, (_, i) => new BasicTransformerBlock(ws.sub(`transformer_blocks.${i}`), inner, o, sites));
    this.proj_out = new Linear(ws.sub('proj_out'), inner, o.inChannels, true, { conv1x1 });
  }

  // x [B, C, H, W], context [B, M, crossDim] -> [B, C, H, W]
  forward(x: Node, context: Node, guidance?: GraphGuidance | null): Node {
    const [B, C, H, W] = x.shape;
    let h = this.norm.forward(x); // [B, C, H, W]
    h = permute(reshape(h, [B, C, H * W]), [0, 2, 1]); // [B, HW, C]
    h = this.proj_in.forward(h); // [B, HW, inner]
    for (const block of this.transformer_blocks) h = block.forward(h, context, guidance); // [B, HW, inner]
    h = this.proj_out.forward(h); // [B, HW, C]
    h = reshape(permute(h, [0, 2, 1]), [B, C, H, W]); // [B, C, H, W]
    return add(h, x);
  }
}
