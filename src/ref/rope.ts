// CPU reference for rotary position embedding with interleaved pairs: for token n and each
// head, the pair (x[2j], x[2j+1]) is rotated by the angle whose cos/sin are stored (repeated)
// at columns 2j and 2j+1 of the tables: the complex product (x0 + i x1)(cos + i sin).
export function rope(x: ArrayLike<number>, shape: readonly number[], cos: ArrayLike<number>, sin: ArrayLike<number>, heads: number): Float32Array {
  const [B, N, HD] = shape, D = HD / heads;
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < heads; h++) {
        const o = (b * N + n) * HD + h * D;
        for (let j = 0; j < D; j += 2) {
          const x0 = x[o + j], x1 = x[o + j + 1];
          out[o + j] = x0 * cos[n * D + j] - x1 * sin[n * D + j];
          out[o + j + 1] = x1 * cos[n * D + j + 1] + x0 * sin[n * D + j + 1];
        }
      }
    }
  }
  return out;
}
