// The q8_0 block format, byte for byte GGML's block_q8_0: each run of 32 consecutive
// values along a row (the input/K dimension of a [N, K] Linear weight) is one 34-byte
// block { d: f16 scale, qs: 32 x int8 }, value = d * qs[i]. A [N, K] tensor is N * K/32
// blocks in row-major order, so rows (and row ranges) are whole blocks: fused qkv
// tensors split cleanly. The GPU holds the same bytes; matmul dequantizes on load.
import { EngineError } from '../errors.ts';
import { f16ToF32Table, f32BitsToF16 } from '../io/dtype.ts';

export const QK8_0 = 32;
export const Q8_0_BLOCK_BYTES = 34;

/** Bytes of a q8_0 tensor of `shape` (its last dim must be a multiple of 32). */
export function q8Bytes(shape: readonly number[], what = 'q8_0 tensor'): number {
  const K = shape.length ? shape[shape.length - 1] : 1;
  if (K % QK8_0) throw new EngineError(`${what}: shape [${shape.join(', ')}]: q8_0 needs the last dimension (${K}) to be a multiple of ${QK8_0}; 32-value blocks do not divide the row`);
  let n = 1;
  for (const d of shape) n *= d;
  return (n / QK8_0) * Q8_0_BLOCK_BYTES;
}

/**
 * Quantizes whole rows (x.length a multiple of 32) the way GGML's quantize_row_q8_0_ref
 * does: d = max|x| / 127 (kept in f32 for the quants, stored rounded to f16),
 * q = round-half-away(x / d).
 */
export function quantizeQ8_0(x: Float32Array, out = new Uint8Array((x.length / QK8_0) * Q8_0_BLOCK_BYTES)): Uint8Array {
  if (x.length % QK8_0) throw new EngineError(`q8_0: ${x.length} values are not whole ${QK8_0}-value blocks`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let b = 0, o = 0; b < x.length; b += QK8_0, o += Q8_0_BLOCK_BYTES) {
    let amax = 0;
    for (let i = 0; i < QK8_0; i++) amax = Math.max(amax, Math.abs(x[b + i]));
    f[0] = amax / 127;
    const d = f[0];
    f[0] = d ? 1 / d : 0;
    const id = f[0];
    u[0] = 0;
    f[0] = d;
    dv.setUint16(o, f32BitsToF16(u[0]), true);
    for (let i = 0; i < QK8_0; i++) {
      f[0] = x[b + i] * id; // f32 product, as in C
      const v = f[0];
      out[o + 2 + i] = (v < 0 ? -Math.round(-v) : Math.round(v)) & 0xff; // roundf: half away from zero
    }
  }
  return out;
}

/** q8_0 bytes -> values (n = number of values, a multiple of 32). */
export function dequantizeQ8_0(bytes: Uint8Array, n: number, out = new Float32Array(n)): Float32Array {
  if (n % QK8_0 || bytes.length < (n / QK8_0) * Q8_0_BLOCK_BYTES) throw new EngineError(`q8_0: ${bytes.length} bytes do not hold ${n} values`);
  const t = f16ToF32Table();
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let b = 0, o = 0; b < n; b += QK8_0, o += Q8_0_BLOCK_BYTES) {
    u[0] = t[bytes[o] | (bytes[o + 1] << 8)];
    const d = f[0];
    for (let i = 0; i < QK8_0; i++) out[b + i] = d * q[o + 2 + i];
  }
  return out;
}
