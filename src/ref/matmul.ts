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

/**
 * linear with a q8_0 weight: y[m, n] = sum_k x[m, k] w[n, k] (+ bias[n]), where w[n, k] =
 * d * q for the 34-byte block { f16 d, int8 q[32] } number n*K/32 + k/32 of `blocks`, q
 * its entry k % 32 (GGML block_q8_0). Naive loops, decoding each weight where it is used.
 */
export function linearQ8(x: ArrayLike<number>, rows: number, K: number, blocks: Uint8Array, N: number, bias: ArrayLike<number> | null = null): Float32Array {
  const f16 = (lo: number, hi: number) => {
    const h = lo | (hi << 8);
    const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  };
  const out = new Float32Array(rows * N);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const o = (n * (K / 32) + Math.floor(k / 32)) * 34;
        const q = (blocks[o + 2 + (k % 32)] << 24) >> 24;
        s += x[m * K + k] * f16(blocks[o], blocks[o + 1]) * q;
      }
      out[m * N + n] = s + (bias ? bias[n] : 0);
    }
  }
  return out;
}
