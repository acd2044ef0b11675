// The attention-space guidance modes, as graph ops on one cross-attention layer's
// projections: q [B, N, H*D] from the image; k, v [B, M, H*D] from the prompt; kNeg, vNeg
// [B, M-, H*D] from the negative prompt through the same to_k/to_v. Returns the attention
// output [B, N, H*Dv] that goes to to_out. The image side is never duplicated. `mask` is
// the prompt's own additive key bias [B, M] (PixArt's text padding), if any. Strengths
// are runtime scalars (./scalars.ts): the graph is the same for every value.
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import { add, attention, concat, nag, nasaAttention, scale } from '../ops/index.ts';
import { layerScalars } from './scalars.ts';
import type { LayerGuidance } from './types.ts';

export function guidedAttention(q: Node, k: Node, v: Node, kNeg: Node, vNeg: Node, heads: number, g: LayerGuidance, mask: Node | null = null): Node {
  const s = layerScalars(g);
  switch (s.mode) {
    case 'nasa':
      // softmax(q K+^T) V+ - alpha softmax(q K-^T) V-: both softmaxes in one fused kernel.
      return nasaAttention(q, k, v, kNeg, vNeg, { heads, alpha: s.alpha, maskPos: mask, maskNeg: g.negativeMask ?? undefined });
    case 'nag': {
      const zPos = attention(q, k, v, { heads, mask }); // [B, N, H*Dv]
      const zNeg = attention(q, kNeg, vNeg, { heads, mask: g.negativeMask ?? undefined }); // [B, N, H*Dv]
      return nag(zPos, zNeg, { scale: s.scale, tau: s.tau, alpha: s.alpha });
    }
    case 'vsf': {
      // One softmax over [K+; K-]; the negative values flipped and scaled, their logits biased.
      const [B, M] = k.shape, Mn = kNeg.dim(1);
      const isNeg = new Float32Array(B * (M + Mn));
      for (let b = 0; b < B; b++) isNeg.fill(1, b * (M + Mn) + M, (b + 1) * (M + Mn));
      let bias = scale(q.graph.constant(isNeg, [B, M + Mn], q.dtype, 'vsf_negative_keys'), s.keyBias); // [B, M + M-]: -offset on K-
      if (g.negativeMask || mask) {
        const zeros = (n: number) => q.graph.constant(new Float32Array(B * n), [B, n], q.dtype, 'vsf_zero_mask');
        bias = add(bias, concat([mask ?? zeros(M), g.negativeMask ?? zeros(Mn)], 1)); // each prompt's own padding mask
      }
      const kk = concat([k, kNeg], 1); // [B, M + M-, H*D]
      const vv = concat([v, scale(vNeg, s.valueScale)], 1); // [B, M + M-, H*Dv]
      return attention(q, kk, vv, { heads, mask: bias });
    }
    default:
      throw new EngineError(`unknown guidance mode '${(g as { mode: string }).mode}'`);
  }
}
