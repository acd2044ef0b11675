// FLUX's transformer blocks: the attention with per-head RMSNorm on q/k and separate text
// projections, the double-stream block (image and text streams with their own modulation,
// MLP and projections, one joint attention) and the single-stream block (one stream over
// [text; image], attention and MLP in parallel, one output projection).
// Follows diffusers v0.31.0 src/diffusers/models/transformers/transformer_flux.py
// (FluxTransformerBlock, FluxSingleTransformerBlock) and attention_processor.py
// (Attention with qk_norm 'rms_norm', FluxAttnProcessor2_0):
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/transformers/transformer_flux.py
//
// Guidance (src/guidance/flux.ts) plugs into jointAttention only; every block also carries
// the negative text stream, when there is one, through the same text-side weights.
import type { Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { jointAttention, type QKV } from '../guidance/flux.ts';
import { SITE_LAYOUTS } from '../guidance/families.ts';
import { siteOf, type GuidanceSite, type LayerGuidance } from '../guidance/types.ts';
import { add, clampAbs, concat, geluTanh, mul, reshape, rmsNorm, rope, slice } from '../ops/index.ts';
import { AdaLayerNormZero, AdaLayerNormZeroSingle } from './flux_embeddings.ts';
import { Linear } from './nn.ts';
import { FeedForward, modulate, PlainLayerNorm } from './pixart_blocks.ts';

/** cos / sin graph nodes [tokens, head_dim] (f32) for the rope op. */
export interface Rope {
  cos: Node;
  sin: Node;
}

/** The negative text stream entering a block: its states and its tokens' rotary tables. */
export interface NegativeStream {
  x: Node;
  rope: Rope;
}

/**
 * diffusers clips the text stream (double blocks) and the joint stream (single blocks) to
 * the f16 range in f16 models, so an overflowing residual becomes +-65504, not inf -> NaN.
 */
const f16Guard = (x: Node) => (x.dtype === 'f16' ? clampAbs(x, 65504) : x);

/** RMSNorm over each head of packed heads (weight [head_dim], eps 1e-6, f32 statistics). */
class HeadRMSNorm {
  readonly weight: WeightSource;
  constructor(ws: WeightScope, readonly headDim: number, readonly eps = 1e-6) {
    this.weight = ws.get('weight', [headDim]);
  }
  // x [B, N, H*D] -> same
  forward(x: Node): Node {
    const [B, N, HD] = x.shape, D = this.headDim;
    return reshape(rmsNorm(reshape(x, [B, N, HD / D, D]), x.graph.weight(this.weight), this.eps), [B, N, HD]);
  }
}

/** diffusers Attention as FLUX configures it; `context` adds the text-side (added_kv) members. */
export class FluxAttention {
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly norm_q: HeadRMSNorm;
  readonly norm_k: HeadRMSNorm;
  readonly add_q_proj: Linear | null = null;
  readonly add_k_proj: Linear | null = null;
  readonly add_v_proj: Linear | null = null;
  readonly norm_added_q: HeadRMSNorm | null = null;
  readonly norm_added_k: HeadRMSNorm | null = null;
  /** Double blocks only; single blocks are pre_only (proj_out follows outside). */
  readonly to_out: [Linear] | null = null;
  readonly to_add_out: Linear | null = null;

  constructor(ws: WeightScope, dim: number, readonly heads: number, headDim: number, context: boolean) {
    const lin = (name: string) => new Linear(ws.sub(name), dim, dim);
    const norm = (name: string) => new HeadRMSNorm(ws.sub(name), headDim);
    [this.to_q, this.to_k, this.to_v] = [lin('to_q'), lin('to_k'), lin('to_v')];
    [this.norm_q, this.norm_k] = [norm('norm_q'), norm('norm_k')];
    if (context) {
      [this.add_q_proj, this.add_k_proj, this.add_v_proj] = [lin('add_q_proj'), lin('add_k_proj'), lin('add_v_proj')];
      [this.norm_added_q, this.norm_added_k] = [norm('norm_added_q'), norm('norm_added_k')];
      this.to_out = [lin('to_out.0')];
      this.to_add_out = lin('to_add_out');
    }
  }

  // x [B, N, D] -> q, k (RMS-normed per head), v [B, N, D]
  project(x: Node): QKV {
    return { q: this.norm_q.forward(this.to_q.forward(x)), k: this.norm_k.forward(this.to_k.forward(x)), v: this.to_v.forward(x) };
  }

  // text c [B, T, D] -> its q, k, v through add_*_proj and norm_added_*
  projectContext(c: Node): QKV {
    return { q: this.norm_added_q!.forward(this.add_q_proj!.forward(c)), k: this.norm_added_k!.forward(this.add_k_proj!.forward(c)), v: this.add_v_proj!.forward(c) };
  }

  rotate(p: QKV, r: Rope): QKV {
    return { q: rope(p.q, r.cos, r.sin, this.heads), k: rope(p.k, r.cos, r.sin, this.heads), v: p.v };
  }
}

export interface DoubleOut {
  hidden_states: Node;
  encoder_hidden_states: Node;
  negative: Node | null;
}

/** FluxTransformerBlock: the double-stream block. */
export class FluxTransformerBlock {
  readonly norm1: AdaLayerNormZero;
  readonly norm1_context: AdaLayerNormZero;
  readonly attn: FluxAttention;
  readonly norm2: PlainLayerNorm;
  readonly ff: FeedForward;
  readonly norm2_context: PlainLayerNorm;
  readonly ff_context: FeedForward;
  readonly site: GuidanceSite;

  constructor(ws: WeightScope, dim: number, heads: number, headDim: number, index: number) {
    this.norm1 = new AdaLayerNormZero(ws.sub('norm1'), dim);
    this.norm1_context = new AdaLayerNormZero(ws.sub('norm1_context'), dim);
    this.attn = new FluxAttention(ws.sub('attn'), dim, heads, headDim, true);
    this.norm2 = new PlainLayerNorm(ws.sub('norm2'), dim, 1e-6, false);
    this.ff = new FeedForward(ws.sub('ff'), dim);
    this.norm2_context = new PlainLayerNorm(ws.sub('norm2_context'), dim, 1e-6, false);
    this.ff_context = new FeedForward(ws.sub('ff_context'), dim);
    this.site = siteOf(`${ws.prefix}.attn`, index, SITE_LAYOUTS.mmdit, 'joint');
  }

  /**
   * x [B, N, D] image, c [B, T, D] text, embAct = SiLU(temb) [B, D], rope tables of
   * [text; image] -> the updated image and text streams (and the negative text stream).
   */
  forward(x: Node, c: Node, embAct: Node, r: Rope, neg: NegativeStream | null = null, g: LayerGuidance | null = null): DoubleOut {
    const H = this.attn.heads, T = c.dim(1);
    const mi = this.norm1.modulation(embAct), mc = this.norm1_context.modulation(embAct); // 6 x [B, 1, D] each
    const img = this.attn.project(this.norm1.forward(x, mi)); // [B, N, D] x 3
    const txt = this.attn.projectContext(this.norm1_context.forward(c, mc)); // [B, T, D] x 3
    const joint = this.attn.rotate({ q: concat([txt.q, img.q], 1), k: concat([txt.k, img.k], 1), v: concat([txt.v, img.v], 1) }, r); // [B, T+N, D], text first
    const negQKV = neg ? this.attn.rotate(this.attn.projectContext(this.norm1_context.forward(neg.x, mc)), neg.rope) : null; // [B, T-, D] x 3
    const { z, zNeg } = jointAttention(joint, T, H, negQKV, g); // [B, T+N, D], [B, T-, D]
    const L = z.dim(1);
    // image: x + gate_msa * to_out(attn); then x + gate_mlp * ff(LN(x) * (1 + scale_mlp) + shift_mlp)
    let h = add(x, mul(mi[2], this.attn.to_out![0].forward(slice(z, 1, T, L)))); // [B, N, D]
    h = add(h, mul(mi[5], this.ff.forward(modulate(this.norm2.forward(h), mi[3], mi[4]))));
    return {
      hidden_states: h,
      encoder_hidden_states: this.contextUpdate(c, slice(z, 1, 0, T), mc), // [B, T, D]
      negative: neg && zNeg ? this.contextUpdate(neg.x, zNeg, mc) : null, // [B, T-, D]
    };
  }

  // A text stream after attention: c + gate * to_add_out(z), then its modulated ff_context.
  private contextUpdate(c: Node, z: Node, m: Node[]): Node {
    const h = add(c, mul(m[2], this.attn.to_add_out!.forward(z)));
    return f16Guard(add(h, mul(m[5], this.ff_context.forward(modulate(this.norm2_context.forward(h), m[3], m[4])))));
  }
}

/** FluxSingleTransformerBlock: the single-stream block (mlp_ratio 4). */
export class FluxSingleTransformerBlock {
  readonly norm: AdaLayerNormZeroSingle;
  readonly proj_mlp: Linear;
  readonly attn: FluxAttention;
  readonly proj_out: Linear;
  readonly site: GuidanceSite;

  constructor(ws: WeightScope, dim: number, heads: number, headDim: number, siteIndex: number) {
    this.norm = new AdaLayerNormZeroSingle(ws.sub('norm'), dim);
    this.proj_mlp = new Linear(ws.sub('proj_mlp'), dim, 4 * dim);
    this.attn = new FluxAttention(ws.sub('attn'), dim, heads, headDim, false);
    this.proj_out = new Linear(ws.sub('proj_out'), 5 * dim, dim);
    this.site = siteOf(`${ws.prefix}.attn`, siteIndex, SITE_LAYOUTS.mmdit, 'joint');
  }

  /** h [B, T+N, D] ([text; image]), textLen T -> h (and the negative text stream [B, T-, D]). */
  forward(h: Node, textLen: number, embAct: Node, r: Rope, neg: NegativeStream | null = null, g: LayerGuidance | null = null): { h: Node; negative: Node | null } {
    const m = this.norm.modulation(embAct); // shift, scale, gate: [B, 1, D] each
    const hN = this.norm.forward(h, m); // [B, T+N, D]
    const nN = neg ? this.norm.forward(neg.x, m) : null; // [B, T-, D]
    const { z, zNeg } = jointAttention(this.attn.rotate(this.attn.project(hN), r), textLen, this.attn.heads, nN && neg ? this.attn.rotate(this.attn.project(nN), neg.rope) : null, g);
    // residual + gate * proj_out(cat([attn, GELU_tanh(proj_mlp(h_n))], -1)) [B, *, 5D] -> [B, *, D]
    const out = (res: Node, attn: Node, xN: Node) => f16Guard(add(res, mul(m[2], this.proj_out.forward(concat([attn, geluTanh(this.proj_mlp.forward(xN))], 2)))));
    return { h: out(h, z, hN), negative: neg && nN && zNeg ? out(neg.x, zNeg, nN) : null };
  }
}
