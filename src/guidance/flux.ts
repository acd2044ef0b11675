// Negative prompts on an MMDiT (FLUX): the joint attention of one block, plain or guided.
// The negative prompt's text tokens are a SECOND TEXT STREAM carried through every block
// with the block's own text-side weights; its queries attend to [negative text; the same
// image tokens]. Image tokens are never duplicated: only their attention output changes,
// before the output projection (to_out.0 in double blocks, proj_out in single blocks),
// and the positive text rows are untouched. Per mode, for the image rows (J = softmax
// attention, K+ / K- the positive / negative text keys, K_img the image keys):
//   nasa  Z = J(Q_img, [K+; K_img], [V+; V_img]) - alpha J(Q_img, K-, V-)
//         (the definition of fixture flux-transformer-nasa; alpha = 0 is the plain model bit
//         for bit: the plain attention is computed as without guidance and 0 is subtracted)
//   nag   Z = NAG(Z+, Z-), Z+ = J(Q_img, [K+; K_img]), Z- = J(Q_img, [K-; K_img]): NAG's
//         FLUX processor (arXiv 2505.21179: the negative branch is the same joint attention
//         with the negative text), combined by the paper's L1-normalised rule (src/ops/nag.ts).
//   vsf   Z = J(Q_img, [K+; K_img; K-], [V+; V_img; -scale V-]) with -offset on the K-
//         logits (arXiv 2508.10931: the negative tokens' values sign-flipped in the one
//         softmax; positive text never sees the negative tokens, they see only themselves
//         and the image).
// All tensors are packed heads [B, tokens, heads*D], q and k already RMS-normed and rotated.
// Strengths are runtime scalars (./scalars.ts): one compiled graph serves every value.
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import { attention, concat, nag, scale, slice, sub } from '../ops/index.ts';
import { layerScalars, type LayerScalars } from './scalars.ts';
import type { LayerGuidance } from './types.ts';

export interface QKV {
  q: Node;
  k: Node;
  v: Node;
}

export interface JointAttentionOut {
  /** [B, T+N, H*D]: text rows then image rows (image rows guided). */
  z: Node;
  /** [B, T-, H*D]: the negative text stream's rows, or null without guidance. */
  zNeg: Node | null;
}

/**
 * Joint attention over [text; image] (`pos`, T text tokens first) with, when `g` is set,
 * the negative text stream `neg` and the image-row correction of `g.mode`.
 */
export function jointAttention(pos: QKV, textLen: number, heads: number, neg: QKV | null = null, g: LayerGuidance | null = null): JointAttentionOut {
  const { q, k, v } = pos, T = textLen, L = q.dim(1);
  if (!g) return { z: attention(q, k, v, { heads }), zNeg: null };
  if (!neg) throw new EngineError(`${q.graph.label('joint_attention')}: guidance '${g.mode}' needs the negative text stream`);
  const [qImg, kImg, vImg] = [q, k, v].map((t) => slice(t, 1, T, L)); // [B, N, H*D]
  const kNeg = concat([neg.k, kImg], 1), vNeg = concat([neg.v, vImg], 1); // [B, T- + N, H*D]
  const G = q.graph, s = layerScalars(g);
  const zNeg = G.scope('negative_txt', () => attention(neg.q, kNeg, vNeg, { heads })); // the negative text stream's own joint attention
  if (s.mode === 'vsf') {
    const zTxt = attention(slice(q, 1, 0, T), k, v, { heads }); // [B, T, H*D]
    const B = q.dim(0), M = L + neg.k.dim(1);
    const isNeg = new Float32Array(B * M);
    for (let b = 0; b < B; b++) isNeg.fill(1, b * M + L, (b + 1) * M);
    const zImg = G.scope('image_guidance', () => {
      const mask = scale(G.constant(isNeg, [B, M], q.dtype, 'vsf_negative_keys'), s.keyBias); // [B, T + N + T-]: -offset on K-
      return attention(qImg, concat([k, neg.k], 1), concat([v, scale(neg.v, s.valueScale)], 1), { heads, mask }); // [B, N, H*D]
    });
    return { z: concat([zTxt, zImg], 1), zNeg };
  }
  const z = attention(q, k, v, { heads }); // exactly the plain joint attention [B, T+N, H*D]
  const zTxt = slice(z, 1, 0, T), zPos = slice(z, 1, T, L);
  const zImg = G.scope('image_guidance', () => imageRows(s, zPos, qImg, neg, kNeg, vNeg, heads));
  return { z: concat([zTxt, zImg], 1), zNeg };
}

function imageRows(s: LayerScalars, zPos: Node, qImg: Node, neg: QKV, kNeg: Node, vNeg: Node, heads: number): Node {
  let zImg: Node;
  switch (s.mode) {
    case 'nasa':
      zImg = sub(zPos, scale(attention(qImg, neg.k, neg.v, { heads }), s.alpha)); // Z+ - alpha softmax(Q K-^T) V-
      break;
    case 'nag':
      zImg = nag(zPos, attention(qImg, kNeg, vNeg, { heads }), { scale: s.scale, tau: s.tau, alpha: s.alpha });
      break;
    default:
      throw new EngineError(`unknown guidance mode '${(s as { mode: string }).mode}'`);
  }
  return zImg;
}
