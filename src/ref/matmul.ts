// CPU reference for matmul/linear: C[..., m, n] = sum_k A[..., m, k] B[..., k, n] (+ bias[n]),
// B read as [..., n, k] when transposed; batch dims broadcast (numpy rules). Naive loops.
import { broadcastShape } from '../ops/broadcast.ts';

export function matmul(
  a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[],
  transB = false, bias: ArrayLike<number> | null = null,
): Float32Array {
  const M = aShape[aShape.length - 2], K = aShape[aShape.length - 1];
  const N = transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  if (!batch) throw new Error(`ref matmul: batch dims [${aBatch}] and [${bBatch}] do not broadcast`);
  const nb = batch.reduce((x, y) => x * y, 1);
  const out = new Float32Array(nb * M * N);
  // Offset (in matrices) of a broadcast operand for batch index z.
  const matIndex = (shape: number[], z: number) => {
    let idx = 0, rem = z, mul = 1;
    for (let d = batch.length - 1; d >= 0; d--) {
      const c = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      const k = d - (batch.length - shape.length);
      if (k >= 0) {
        if (shape[k] !== 1) idx += c * mul;
        mul *= shape[k];
      }
    }
    return idx;
  };
  for (let z = 0; z < nb; z++) {
    const oa = matIndex(aBatch, z) * M * K, ob = matIndex(bBatch, z) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[oa + m * K + k] * b[ob + (transB ? n * K + k : k * N + n)];
        out[(z * M + m) * N + n] = s + (bias ? bias[n] : 0);
      }
    }
  }
  return out;
}
