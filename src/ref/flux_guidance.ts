// CPU reference for the guided joint attention of an MMDiT block (src/guidance/flux.ts),
// from the definitions, row by row: which keys each query sees, with which values and
// logit biases. Positive stream: T text tokens then N image tokens; negative stream: T-
// text tokens. Packed heads [B, tokens, H*D]. The NAG combine rule is the paper's
// formula as src/ref/nag.ts writes it.
import { nag } from './nag.ts';

export interface HostQKV {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** Tokens per batch row. */
  n: number;
}

export type FluxRefMode =
  | { mode: 'none' }
  | { mode: 'nasa'; alpha: number }
  | { mode: 'nag'; scale: number; tau: number; alpha: number }
  | { mode: 'vsf'; scale: number; offset: number };

/** One key/value source: rows [from, to) of a stream of batch b, values times `sign`, logits + `bias`. */
interface Keys { s: HostQKV; from: number; to: number; sign: number; bias: number }

/** softmax(q K^T / sqrt(D) + bias) V for one query row and head, over the concatenated sources. */
function attend(q: ArrayLike<number>, qo: number, b: number, h: number, D: number, C: number, srcs: Keys[], out: Float64Array): void {
  const logits: number[] = [];
  for (const s of srcs) for (let j = s.from; j < s.to; j++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qo + d] * s.s.k[(b * s.s.n + j) * C + h * D + d];
    logits.push(dot / Math.sqrt(D) + s.bias);
  }
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp(l - max));
  const sum = w.reduce((a, x) => a + x, 0);
  out.fill(0);
  let i = 0;
  for (const s of srcs) for (let j = s.from; j < s.to; j++, i++) {
    for (let d = 0; d < D; d++) out[d] += (w[i] / sum) * s.sign * s.s.v[(b * s.s.n + j) * C + h * D + d];
  }
}

/** -> z [B, T+N, H*D] (positive stream) and zNeg [B, T-, H*D] (null for 'none'). */
export function fluxJointAttention(B: number, H: number, D: number, pos: HostQKV, T: number, neg: HostQKV | null, g: FluxRefMode): { z: Float32Array; zNeg: Float32Array | null } {
  const C = H * D, L = pos.n, Tn = neg?.n ?? 0;
  const z = new Float32Array(B * L * C), zNeg = neg ? new Float32Array(B * Tn * C) : null;
  const zOther = new Float32Array(B * L * C); // NAG's negative branch for the image rows
  const acc = new Float64Array(D), tmp = new Float64Array(D);
  const all: Keys = { s: pos, from: 0, to: L, sign: 1, bias: 0 };
  const img: Keys = { s: pos, from: T, to: L, sign: 1, bias: 0 };
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    for (let i = 0; i < L; i++) {
      const qo = (b * L + i) * C + h * D, o = qo;
      const image = i >= T && g.mode !== 'none';
      if (image && g.mode === 'vsf') {
        attend(pos.q, qo, b, h, D, C, [all, { s: neg!, from: 0, to: Tn, sign: -g.scale, bias: -g.offset }], acc);
      } else {
        attend(pos.q, qo, b, h, D, C, [all], acc);
        if (image && g.mode === 'nasa') {
          attend(pos.q, qo, b, h, D, C, [{ s: neg!, from: 0, to: Tn, sign: 1, bias: 0 }], tmp);
          for (let d = 0; d < D; d++) acc[d] -= g.alpha * tmp[d];
        }
        if (image && g.mode === 'nag') {
          attend(pos.q, qo, b, h, D, C, [{ s: neg!, from: 0, to: Tn, sign: 1, bias: 0 }, img], tmp);
          for (let d = 0; d < D; d++) zOther[o + d] = tmp[d];
        }
      }
      for (let d = 0; d < D; d++) z[o + d] = acc[d];
    }
    // The negative text stream: its queries over [negative text; image].
    for (let i = 0; neg && i < Tn; i++) {
      const qo = (b * Tn + i) * C + h * D;
      attend(neg.q, qo, b, h, D, C, [{ s: neg, from: 0, to: Tn, sign: 1, bias: 0 }, img], acc);
      for (let d = 0; d < D; d++) zNeg![qo + d] = acc[d];
    }
  }
  if (g.mode === 'nag') {
    for (let b = 0; b < B; b++) {
      const rows = (b * L + T) * C, n = (L - T) * C;
      z.set(nag(z.subarray(rows, rows + n), zOther.subarray(rows, rows + n), L - T, C, g.scale, g.tau, g.alpha), rows);
    }
  }
  return { z, zNeg: g.mode === 'none' ? null : zNeg };
}
