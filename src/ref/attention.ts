// CPU reference for multi-head attention on packed heads, straight from the math:
// for each batch b, head h, query i: s_j = scale * <q_i, k_j> + mask[b, j] (j > i dropped
// when causal), p = softmax(s), out_i = sum_j p_j v_j. The full score row is materialised.
// A row whose scores are all -inf gives 0 (PyTorch SDPA's "safe softmax").

export interface RefAttentionOptions {
  heads: number;
  scale?: number;
  causal?: boolean;
  mask?: ArrayLike<number> | null;
  /** Batch size of mask (1 broadcasts); defaults to q's batch. */
  maskBatch?: number;
}

export function attention(
  q: ArrayLike<number>, qShape: number[], k: ArrayLike<number>, kShape: number[],
  v: ArrayLike<number>, vShape: number[], opts: RefAttentionOptions,
): Float32Array {
  const [B, Nq, HD] = qShape, [kB, Nk] = kShape, HDv = vShape[2];
  const H = opts.heads, D = HD / H, Dv = HDv / H;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const mB = opts.maskBatch ?? B;
  const out = new Float32Array(B * Nq * HDv);
  const s = new Float64Array(Nk);
  for (let b = 0; b < B; b++) {
    const kb = kB === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Nq; i++) {
        let max = -Infinity;
        for (let j = 0; j < Nk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(b * Nq + i) * HD + h * D + d] * k[(kb * Nk + j) * HD + h * D + d];
          s[j] = scale * dot + (opts.mask ? opts.mask[(mB === 1 ? 0 : b) * Nk + j] : 0);
          if (opts.causal && j > i) s[j] = -Infinity;
          max = Math.max(max, s[j]);
        }
        if (max === -Infinity) continue; // fully masked: output stays 0
        let sum = 0;
        for (let j = 0; j < Nk; j++) sum += (s[j] = Math.exp(s[j] - max));
        for (let e = 0; e < Dv; e++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) acc += s[j] * v[(kb * Nk + j) * HDv + h * Dv + e];
          out[(b * Nq + i) * HDv + h * Dv + e] = acc / sum;
        }
      }
    }
  }
  return out;
}
