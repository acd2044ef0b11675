// diffusers Attention with its default processor (AttnProcessor2_0), the attention of the
// UNet transformer blocks (attn1 self, attn2 cross) and of the VAE mid blocks.
// Follows diffusers v0.31.0 src/diffusers/models/attention_processor.py (class Attention,
// AttnProcessor2_0): https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/attention_processor.py
//
// forward() is the ONE entry point of cross-attention: guidance that works on the text
// side of attention (NASA now; see src/guidance/types.ts) plugs in here and nowhere else.
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { EngineError } from '../errors.ts';
import type { LayerGuidance } from '../guidance/types.ts';
import { guidedAttention } from '../guidance/modes.ts';
import { add, attention, concat, matmul, MAX_HEAD_DIM, permute, reshape, scale, slice, softmax } from '../ops/index.ts';
import { GroupNorm, Linear, tap } from './nn.ts';

export interface AttentionOptions {
  queryDim: number;
  /** Width of encoder_hidden_states; null for self-attention. */
  crossAttentionDim?: number | null;
  heads: number;
  dimHead: number;
  /** Bias on to_q/to_k/to_v (false in the UNet, true in the VAE). */
  bias?: boolean;
  /** GroupNorm on the input (VAE mid block). */
  normNumGroups?: number | null;
  eps?: number;
  residualConnection?: boolean;
  rescaleOutputFactor?: number;
  /** Scores and softmax in f32: what the engine's kernels always do. */
  upcastAttention?: boolean;
}

export class Attention {
  readonly group_norm: GroupNorm | null;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: [Linear];
  readonly heads: number;
  readonly path: string;

  constructor(ws: WeightScope, readonly o: AttentionOptions) {
    const inner = o.heads * o.dimHead;
    const kvDim = o.crossAttentionDim ?? o.queryDim;
    const bias = o.bias ?? false;
    this.path = ws.prefix;
    this.heads = o.heads;
    this.group_norm = o.normNumGroups ? new GroupNorm(ws.sub('group_norm'), o.normNumGroups, o.queryDim, o.eps ?? 1e-5) : null;
    // Older VAE checkpoints name these query/key/value/proj_attn, sometimes as 1x1 convs;
    // diffusers renames them on load (_convert_deprecated_attention_blocks), so do we.
    const legacy = !ws.has('to_q.weight') && ws.has('query.weight');
    const lin = (name: string, legacyName: string, i: number, out: number, b: boolean) =>
      new Linear(ws.sub(legacy ? legacyName : name), i, out, b, { conv1x1: legacy });
    this.to_q = lin('to_q', 'query', o.queryDim, inner, bias);
    this.to_k = lin('to_k', 'key', kvDim, inner, bias);
    this.to_v = lin('to_v', 'value', kvDim, inner, bias);
    this.to_out = [lin('to_out.0', 'proj_attn', inner, o.queryDim, true)];
  }

  /**
   * x [B, N, queryDim] (or [B, C, H, W], attended over H*W), context [B, M, crossDim] or
   * null for self-attention. `guidance` only applies to cross-attention. `mask`: additive
   * bias per context token [B, M] (PixArt's text padding; 0 keep, -10000 drop).
   */
  forward(x: Node, context: Node | null = null, guidance?: LayerGuidance | null, mask: Node | null = null): Node {
    const residual = x;
    const spatial = x.rank === 4;
    const [B, C, H, W] = x.shape;
    let h = x;
    if (this.group_norm) h = this.group_norm.forward(h); // [B, C, H, W]
    if (spatial) h = permute(reshape(h, [B, C, H * W]), [0, 2, 1]); // [B, HW, C]
    if (guidance && !context) throw new EngineError(`${this.path}: guidance is for cross-attention, this layer has no encoder_hidden_states`);
    const ctx = context ?? h;
    const q = this.to_q.forward(h); // [B, N, heads*dimHead]
    const k = this.to_k.forward(ctx); // [B, M, heads*dimHead]
    const v = this.to_v.forward(ctx); // [B, M, heads*dimHead]
    let z: Node;
    if (!guidance) {
      if (mask && this.o.dimHead > MAX_HEAD_DIM) throw new EngineError(`${this.path}: a key mask with heads wider than ${MAX_HEAD_DIM} is not supported`);
      z = this.o.dimHead > MAX_HEAD_DIM ? wideHeadAttention(q, k, v, this.heads) : attention(q, k, v, { heads: this.heads, mask }); // [B, N, heads*dimHead]
    } else {
      // The layer's own projections on the negative text: K- = to_k(c-), V- = to_v(c-).
      const kNeg = this.to_k.forward(guidance.negativeContext); // [B, M-, heads*dimHead]
      const vNeg = this.to_v.forward(guidance.negativeContext); // [B, M-, heads*dimHead]
      z = guidedAttention(q, k, v, kNeg, vNeg, this.heads, guidance, mask); // [B, N, heads*dimHead]
    }
    let out = this.to_out[0].forward(z); // [B, N, queryDim]
    if (spatial) out = reshape(permute(out, [0, 2, 1]), [B, C, H, W]); // [B, C, H, W]
    if (this.o.residualConnection) out = add(out, residual);
    if ((this.o.rescaleOutputFactor ?? 1) !== 1) out = scale(out, 1 / this.o.rescaleOutputFactor!);
    return tap(this.path, out);
  }
}

/** Bytes of one block of explicit scores in wideHeadAttention. */
export const SCORE_BLOCK_BYTES = 64 << 20;

/**
 * Single-head attention with a head wider than the flash kernel holds in registers (the
 * SD VAE's mid block: one head of 512): explicit scores, by blocks of queries so a block
 * of scores stays within blockBytes. q [B, N, D], k [B, M, D], v [B, M, Dv].
 */
export function wideHeadAttention(q: Node, k: Node, v: Node, heads: number, blockBytes = SCORE_BLOCK_BYTES): Node {
  if (heads !== 1) throw new EngineError(`${q.graph.label('attention')}: heads of width ${q.dim(2) / heads} > ${MAX_HEAD_DIM} are only supported with a single head`);
  const [B, N, D] = q.shape, M = k.dim(1);
  const rows = Math.max(1, Math.min(N, Math.floor(blockBytes / (4 * B * M))));
  const qs = scale(q, 1 / Math.sqrt(D)); // scaled before the product: f16 scores stay in range
  const parts: Node[] = [];
  for (let r = 0; r < N; r += rows) {
    const qb = rows >= N ? qs : slice(qs, 1, r, Math.min(N, r + rows)); // [B, n, D]
    parts.push(matmul(softmax(matmul(qb, k, { transB: true })), v)); // [B, n, M] scores -> [B, n, Dv]
  }
  return parts.length === 1 ? parts[0] : concat(parts, 1);
}
