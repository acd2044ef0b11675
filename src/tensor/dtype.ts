// Element types the engine computes in (f32, f16) or indexes with (i32, u32), and q8_0:
// 8-bit block-quantized Linear weights (src/tensor/q8_0.ts), which only matmul reads.
// Checkpoint dtypes (bf16, i64, ...) are converted to one of these on upload.
import { f16ToF32Table, f32BitsToF16 } from '../io/dtype.ts';
import { EngineError } from '../errors.ts';
import { dequantizeQ8_0, q8Bytes } from './q8_0.ts';

export type DType = 'f32' | 'f16' | 'i32' | 'u32' | 'q8_0';
export type Shape = readonly number[];

/** Bytes per element; q8_0 has no whole-byte element size (use byteSize). */
export function bytesPer(dtype: DType): number {
  if (dtype === 'q8_0') throw new EngineError('q8_0 tensors have no per-element byte size (34 bytes per 32 values)');
  return dtype === 'f16' ? 2 : 4;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function byteSize(shape: Shape, dtype: DType): number {
  return dtype === 'q8_0' ? q8Bytes(shape) : numel(shape) * bytesPer(dtype);
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new EngineError(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be non-negative integers)`);
  }
}

/** Host data for a tensor of `dtype`, as the bytes the GPU buffer holds. */
export function encodeHost(data: ArrayLike<number>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'f32': return data instanceof Float32Array ? data : Float32Array.from(data);
    case 'f16': return toF16Bits(data);
    case 'i32': return data instanceof Int32Array ? data : Int32Array.from(data);
    case 'u32': return data instanceof Uint32Array ? data : Uint32Array.from(data);
    case 'q8_0': throw new EngineError('q8_0 tensors are uploaded from quantized bytes, not from values');
  }
}

/** Decodes GPU bytes into numbers (f16 widened to f32). */
export function decodeHost(bytes: Uint8Array, dtype: DType, n: number): Float32Array | Int32Array | Uint32Array {
  if (dtype === 'q8_0') return dequantizeQ8_0(bytes, n);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * bytesPer(dtype));
  switch (dtype) {
    case 'f32': return new Float32Array(buf);
    case 'f16': return fromF16Bits(new Uint16Array(buf));
    case 'i32': return new Int32Array(buf);
    case 'u32': return new Uint32Array(buf);
  }
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

// Bit-level f16 conversion: ~100x faster than going through a Float16Array polyfill,
// which dominated f16 pipelines' host transfers.
export function toF16Bits(data: ArrayLike<number>): Uint16Array {
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = f32BitsToF16(u[i]);
  return out;
}

export function fromF16Bits(h: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = table[h[i]];
  return new Float32Array(out.buffer);
}
