// Float conversions between F64/F32/F16/BF16, chunk by chunk, with round-to-nearest-even
// (what torch's .half() / .bfloat16() do, so converted files match the reference bit
// for bit). Finite values too large for the target become ±inf; the converter counts
// them and remembers where, so `convert --dtype f16` can say what it broke.
import { EngineError } from '../errors.ts';
import { dequantizeQ8_0 } from '../tensor/q8_0.ts';
import { DTYPE_BYTES, readAll, sourceNumel, type SourceDType, type WeightSource } from './safetensors.ts';

export const FLOAT_DTYPES = ['F64', 'F32', 'F16', 'BF16'] as const;
export type FloatDType = (typeof FLOAT_DTYPES)[number];
export function isConvertible(d: SourceDType): d is FloatDType {
  return (FLOAT_DTYPES as readonly string[]).includes(d);
}

/** f32 bit pattern -> f16 bit pattern, round to nearest even; NaN stays NaN (quiet). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a >= 0x47800000) return a > 0x7f800000 ? sign | 0x7e00 | ((a & 0x7fffff) >>> 13) : sign | 0x7c00; // |x| >= 2^16, inf, NaN
  if (a >= 0x38800000) {
    // normal f16: rebias the exponent (127 -> 15) and round the 13 dropped bits to even;
    // a carry out of the mantissa bumps the exponent, up to inf for [65520, 65536)
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  const e = (a >>> 23) - 112; // <= 0: f16 subnormal or zero
  if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
  const m = (a & 0x7fffff) | 0x800000;
  const shift = 14 - e;
  const half = 1 << (shift - 1);
  const rem = m & ((1 << shift) - 1);
  let h = m >>> shift;
  if (rem > half || (rem === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** f32 bit pattern -> bf16 bit pattern, round to nearest even; NaN stays NaN (quiet). */
export function f32BitsToBF16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  // int32 arithmetic (no NaN is left, so adding <= 0x8000 cannot overflow past 2^31-1)
  const i = x | 0;
  return ((i + 0x7fff + ((i >> 16) & 1)) >> 16) & 0xffff;
}

function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 113; // subnormal: normalise
  while ((mant & 0x400) === 0) { mant <<= 1; e--; }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let f16Table: Uint32Array | undefined;
/** f16 bits -> f32 bits for all 65536 patterns (256 KB, built once). */
export function f16ToF32Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

export interface OverflowReport { tensor: string; count: number; first: number[][]; maxAbs: number }

export function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = shape[d] ? index % shape[d] : 0;
    index = shape[d] ? Math.floor(index / shape[d]) : 0;
  }
  return out;
}

/** Converts one tensor's chunks in order; the returned chunk is reused by the next call. */
export class DTypeConverter {
  readonly overflow: OverflowReport;
  private done = 0; // elements converted so far (for overflow positions)
  private bits = new Uint32Array(0);
  private out = new Uint8Array(0);
  private readonly f32 = new Float32Array(1);
  private readonly f32Bits = new Uint32Array(this.f32.buffer);

  constructor(readonly from: FloatDType, readonly to: FloatDType, readonly tensor: string, readonly shape: number[]) {
    if (to === 'F64') throw new EngineError(`tensor '${tensor}': conversion to F64 is not supported (use f32, f16 or bf16)`);
    this.overflow = { tensor, count: 0, first: [], maxAbs: 0 };
  }

  convert(chunk: Uint8Array): Uint8Array {
    const inElem = DTYPE_BYTES[this.from];
    if (chunk.length % inElem) throw new EngineError(`tensor '${this.tensor}': chunk of ${chunk.length} bytes is not whole ${this.from} elements`);
    if (chunk.byteOffset % inElem) chunk = chunk.slice();
    const n = chunk.length / inElem;
    if (this.from === this.to) {
      this.done += n;
      return chunk;
    }
    const bits = this.toF32Bits(chunk, n);
    const outBytes = n * DTYPE_BYTES[this.to];
    if (this.out.length < outBytes) this.out = new Uint8Array(outBytes);
    const out = this.out.subarray(0, outBytes);
    if (this.to === 'F32') out.set(new Uint8Array(bits.buffer, bits.byteOffset, outBytes));
    else {
      const o16 = new Uint16Array(out.buffer, 0, n);
      // one loop per target so each encoder can be inlined
      if (this.to === 'F16') {
        for (let i = 0; i < n; i++) {
          const b = bits[i], h = f32BitsToF16(b);
          o16[i] = h;
          if ((h & 0x7fff) === 0x7c00 && (b & 0x7f800000) !== 0x7f800000) this.noteOverflow(i, b);
        }
      } else {
        for (let i = 0; i < n; i++) {
          const b = bits[i], h = f32BitsToBF16(b);
          o16[i] = h;
          if ((h & 0x7fff) === 0x7f80 && (b & 0x7f800000) !== 0x7f800000) this.noteOverflow(i, b);
        }
      }
    }
    this.done += n;
    return out;
  }

  private toF32Bits(chunk: Uint8Array, n: number): Uint32Array {
    if (this.from === 'F32') return new Uint32Array(chunk.buffer, chunk.byteOffset, n);
    if (this.bits.length < n) this.bits = new Uint32Array(n);
    const bits = this.bits.subarray(0, n);
    if (this.from === 'F16') {
      const t = f16ToF32Table();
      const h = new Uint16Array(chunk.buffer, chunk.byteOffset, n);
      for (let i = 0; i < n; i++) bits[i] = t[h[i]];
    } else if (this.from === 'BF16') {
      const h = new Uint16Array(chunk.buffer, chunk.byteOffset, n);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
    } else {
      const d = new Float64Array(chunk.buffer, chunk.byteOffset, n);
      const f = new Float32Array(bits.buffer, bits.byteOffset, n);
      for (let i = 0; i < n; i++) {
        f[i] = d[i];
        if (!Number.isFinite(f[i]) && Number.isFinite(d[i])) this.noteOverflowValue(i, d[i]);
      }
    }
    return bits;
  }

  private noteOverflow(i: number, f32bits: number): void {
    this.f32Bits[0] = f32bits;
    this.noteOverflowValue(i, this.f32[0]);
  }

  private noteOverflowValue(i: number, v: number): void {
    const r = this.overflow;
    r.count++;
    if (r.first.length < 5) r.first.push(unravel(this.done + i, this.shape));
    r.maxAbs = Math.max(r.maxAbs, Math.abs(v));
  }
}

/** A small tensor as Float32Array (ids, norms, tests); integer dtypes are converted by value. */
export function toFloat32(src: WeightSource): Float32Array {
  const bytes = readAll(src);
  if (src.dtype === 'Q8_0') return dequantizeQ8_0(bytes, sourceNumel(src));
  const n = src.byteLength / DTYPE_BYTES[src.dtype];
  const b = bytes.buffer;
  switch (src.dtype) {
    case 'F32': return new Float32Array(b, 0, n);
    case 'F16': case 'BF16': case 'F64': {
      const c = new DTypeConverter(src.dtype, 'F32', src.name, src.shape);
      return new Float32Array(c.convert(bytes).slice().buffer, 0, n);
    }
    case 'I64': return Float32Array.from(new BigInt64Array(b, 0, n), (x) => Number(x));
    case 'U64': return Float32Array.from(new BigUint64Array(b, 0, n), (x) => Number(x));
    case 'I32': return Float32Array.from(new Int32Array(b, 0, n));
    case 'U32': return Float32Array.from(new Uint32Array(b, 0, n));
    case 'I16': return Float32Array.from(new Int16Array(b, 0, n));
    case 'U16': return Float32Array.from(new Uint16Array(b, 0, n));
    case 'I8': return Float32Array.from(new Int8Array(b, 0, n));
    case 'U8': case 'BOOL': return Float32Array.from(bytes);
    default: throw new EngineError(`${src.file}: tensor '${src.name}' has dtype ${src.dtype}, which cannot be read as numbers`);
  }
}
