// CPU reference for Value Sign Flip (arXiv 2508.10931), from its formula: per batch, head
// and query, ONE softmax over the logits of the positive keys and of the negative keys
// minus `offset`, weighting values [V+; -s V-]. Written as its own loops (not via the
// attention reference) so the engine's concat/scale/mask composition is checked.
export function vsf(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, kn: ArrayLike<number>, vn: ArrayLike<number>,
  dims: { B: number; N: number; M: number; Mn: number; H: number; D: number }, s: number, offset: number,
): Float32Array {
  const { B, N, M, Mn, H, D } = dims;
  const C = H * D;
  const out = new Float32Array(B * N * C);
  const logits = new Float64Array(M + Mn);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < N; i++) {
        const qi = (b * N + i) * C + h * D;
        let max = -Infinity;
        for (let j = 0; j < M + Mn; j++) {
          const neg = j >= M;
          const key = neg ? kn : k, row = neg ? (b * Mn + j - M) : (b * M + j);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qi + d] * key[row * C + h * D + d];
          logits[j] = dot / Math.sqrt(D) - (neg ? offset : 0);
          max = Math.max(max, logits[j]);
        }
        let sum = 0;
        for (let j = 0; j < M + Mn; j++) sum += (logits[j] = Math.exp(logits[j] - max));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < M + Mn; j++) {
            const neg = j >= M;
            const val = neg ? -s * vn[(b * Mn + j - M) * C + h * D + d] : v[(b * M + j) * C + h * D + d];
            acc += (logits[j] / sum) * val;
          }
          out[qi + d] = acc;
        }
      }
    }
  }
  return out;
}
