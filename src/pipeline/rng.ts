// Seeded Gaussian noise that reproduces the reference libraries bit for bit, so a seed
// gives diffusers' exact initial latents:
//
//   'torch'        torch.manual_seed(s); torch.randn(shape) on CPU, float32, as computed by
//                  x86-64 wheels (AVX2 kernels built with fused multiply-add contraction;
//                  torch 2.x on Linux)
//   'torch-nofma'  the same AVX2 kernel compiled without FMA contraction (some older builds)
//   'torch-scalar' the non-AVX2 kernel (aarch64 / macOS builds, and x86 machines where torch
//                  dispatches to its AVX-512 kernels): libm logf/cosf/sinf
//   'numpy'        np.random.RandomState(s).randn(*shape).astype(np.float32) (the fixtures'
//                  latents were made this way)
//
// torch's CPU generator is a 32-bit Mersenne Twister (mt19937) seeded with the low 32 bits
// of the seed. randn fills a float32 tensor in one of two ways (aten/src/ATen/native/cpu/
// DistributionTemplates.h, normal_kernel):
//  * numel >= 16 (contiguous float): `normal_fill`: every element first gets a uniform
//    u = (mt() & 0xffffff) * 2^-24, then each block of 16 becomes 8 Box-Muller pairs:
//    r = sqrt(-2 ln(1 - u[j])), theta = 2pi u[j+8], out[j] = r cos theta, out[j+8] =
//    r sin theta. When numel % 16 != 0 the last 16 elements get 16 NEW uniforms and are
//    transformed again. AVX2 builds use Cephes-style polynomial log/sincos (avx_mathfun.h)
//    in float32, which this file reproduces operation by operation.
//  * numel < 16: `normal_distribution<double>`: two 53-bit uniforms (each from two mt()
//    draws, high word first) give r = sqrt(-2 log1p(-u2)), theta = 2pi u1; r cos theta is
//    returned and r sin theta is kept in the generator for the next sample (across calls).
// A generator object keeps its state across calls, like torch.Generator.
import { EngineError } from '../errors.ts';

export type NoiseKind = 'torch' | 'torch-nofma' | 'torch-scalar' | 'numpy';
export const NOISE_KINDS: readonly NoiseKind[] = ['torch', 'torch-nofma', 'torch-scalar', 'numpy'];

const f32 = Math.fround;

/** 32-bit Mersenne Twister (MT19937), init_genrand seeding; shared by torch and numpy. */
export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let k = 1; k < 624; k++) {
      const p = this.mt[k - 1] ^ (this.mt[k - 1] >>> 30);
      this.mt[k] = (Math.imul(1812433253, p) + k) >>> 0;
    }
  }

  next(): number {
    if (this.i >= 624) this.twist();
    let y = this.mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < 624; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
      mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.i = 0;
  }
}

// ---- float32 helpers: exact single-rounding fused multiply-add -------------------------

const cvt = new Float32Array(1);
const cvtBits = new Int32Array(cvt.buffer);
function bitsOf(x: number): number { cvt[0] = x; return cvtBits[0]; }
function fromBits(b: number): number { cvtBits[0] = b; return cvt[0]; }

/** fmaf(a, b, c) for float32 a, b, c: a*b is exact in double; only a sum landing exactly
 *  on a float32 midpoint can be double-rounded, and the TwoSum error term settles it. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0) return r;
  const other = fromBits(bitsOf(r) + ((s > r) === (r >= 0) ? 1 : -1));
  if (s - r !== other - s) return r; // not a tie: double rounding was harmless
  return (err > 0) === (other > r) ? other : r;
}

// ---- avx_mathfun.h (Cephes) log and sincos, float32, with or without FMA contraction ----

const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f32);
const LOG_Q1 = f32(-2.12194440e-4), LOG_Q2 = f32(0.693359375), SQRTHF = f32(0.707106781186547524);
const DP = [-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const FOPI = f32(1.27323954473516);

type Madd = (a: number, b: number, c: number) => number;
const maddFused: Madd = fmaf;
const maddSplit: Madd = (a, b, c) => f32(f32(a * b) + c);

function cephesLog(x: number, madd: Madd): number {
  x = Math.max(x, fromBits(0x00800000));
  const bits = bitsOf(x);
  let e = f32((bits >>> 23) - 0x7f + 1);
  x = fromBits((bits & ~0x7f800000) | 0x3f000000); // mantissa with exponent of 0.5
  const below = x < SQRTHF;
  const tmp = below ? x : 0;
  x = f32(x - 1);
  if (below) e = f32(e - 1);
  x = f32(x + tmp);
  const z = f32(x * x);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = madd(y, x, LOG_P[k]);
  y = f32(y * x);
  y = f32(y * z);
  y = madd(e, LOG_Q1, y);
  y = madd(-z, 0.5, y);
  return madd(e, LOG_Q2, f32(x + y));
}

function cephesSinCos(x0: number, madd: Madd): [number, number] {
  let x = Math.abs(x0);
  let j = Math.trunc(f32(x * FOPI)) | 0;
  j = (j + 1) & ~1;
  const y = j;
  for (const d of DP) x = madd(y, d, x);
  const sinNeg = (x0 < 0) !== ((j & 4) !== 0);
  const cosNeg = (~(j - 2) & 4) !== 0;
  const z = f32(x * x);
  let c = madd(madd(COS_P[0], z, COS_P[1]), z, COS_P[2]);
  c = f32(f32(c * z) * z);
  c = f32(madd(-z, 0.5, c) + 1);
  let s = madd(madd(SIN_P[0], z, SIN_P[1]), z, SIN_P[2]);
  s = madd(f32(s * z), x, x);
  const firstPoly = (j & 2) === 0;
  const sin = firstPoly ? s : c, cos = firstPoly ? c : s;
  return [sinNeg ? -sin : sin, cosNeg ? -cos : cos];
}

const TWO_PI_F32 = f32(2 * Math.PI);

type Fill16 = (d: Float32Array, o: number) => void;

function avxFill16(madd: Madd): Fill16 {
  return (d, o) => {
    for (let j = 0; j < 8; j++) {
      const r = f32(Math.sqrt(f32(-2 * cephesLog(f32(1 - d[o + j]), madd))));
      const [s, c] = cephesSinCos(f32(TWO_PI_F32 * d[o + j + 8]), madd);
      d[o + j] = f32(r * c);
      d[o + j + 8] = f32(r * s);
    }
  };
}

// Non-AVX2 builds: std::log/cos/sin on float (glibc's are correctly rounded in practice;
// a double result rounded to float32 is the same value).
const scalarFill16: Fill16 = (d, o) => {
  for (let j = 0; j < 8; j++) {
    const r = f32(Math.sqrt(f32(-2 * f32(Math.log(f32(1 - d[o + j]))))));
    const theta = f32(2 * Math.PI * d[o + j + 8]);
    d[o + j] = f32(r * f32(Math.cos(theta)));
    d[o + j + 8] = f32(r * f32(Math.sin(theta)));
  }
};

/** The low 32 bits torch seeds mt19937 with; torch takes any integer in [-2^63, 2^64). */
function torchSeedWord(seed: number | bigint): number {
  const b = BigInt(seed);
  if (b < -(1n << 63n) || b >= 1n << 64n) throw new EngineError(`seed ${seed}: torch accepts seeds in [-2^63, 2^64)`);
  return Number(BigInt.asUintN(32, b));
}

export function checkSeed(seed: number | bigint, what = 'seed'): void {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new EngineError(`${what} must be an integer, got ${seed}`);
}

export interface NoiseSource {
  readonly kind: NoiseKind;
  /** The next `numel` unit-Gaussian values, as one torch.randn / RandomState.randn call. */
  randn(numel: number): Float32Array;
}

/** torch.Generator on CPU after manual_seed(seed). */
export class TorchGenerator implements NoiseSource {
  readonly kind: NoiseKind;
  private readonly mt: Mt19937;
  private cachedNormal: number | null = null; // torch's next_double_normal_sample
  private readonly fill16: Fill16;

  constructor(seed: number | bigint, kind: 'torch' | 'torch-nofma' | 'torch-scalar' = 'torch') {
    checkSeed(seed);
    this.kind = kind;
    this.mt = new Mt19937(torchSeedWord(seed));
    this.fill16 = kind === 'torch' ? avxFill16(maddFused) : kind === 'torch-nofma' ? avxFill16(maddSplit) : scalarFill16;
  }

  private uniform24(): number { return (this.mt.next() & 0xffffff) / 16777216; }

  private uniform53(): number {
    const hi = this.mt.next(), lo = this.mt.next();
    return ((hi & 0x1fffff) * 4294967296 + lo) / 9007199254740992;
  }

  private normalDouble(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniform53(), u2 = this.uniform53();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  randn(numel: number): Float32Array {
    checkNumel(numel);
    const d = new Float32Array(numel);
    if (numel < 16) {
      for (let i = 0; i < numel; i++) d[i] = this.normalDouble();
      return d;
    }
    for (let i = 0; i < numel; i++) d[i] = this.uniform24();
    for (let i = 0; i + 16 <= numel; i += 16) this.fill16(d, i);
    if (numel % 16 !== 0) {
      const o = numel - 16;
      for (let i = 0; i < 16; i++) d[o + i] = this.uniform24();
      this.fill16(d, o);
    }
    return d;
  }
}

/** numpy's legacy np.random.RandomState(seed): polar Box-Muller on 53-bit doubles. */
export class NumpyRandomState implements NoiseSource {
  readonly kind: NoiseKind = 'numpy';
  private readonly mt: Mt19937;
  private cachedGauss: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new EngineError(`seed ${seed}: numpy RandomState takes integers in [0, 2^32)`);
    this.mt = new Mt19937(seed);
  }

  private double(): number {
    const a = this.mt.next() >>> 5, b = this.mt.next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  gauss(): number {
    if (this.cachedGauss !== null) {
      const v = this.cachedGauss;
      this.cachedGauss = null;
      return v;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.double() - 1;
      x2 = 2 * this.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  randn(numel: number): Float32Array {
    checkNumel(numel);
    const d = new Float32Array(numel);
    for (let i = 0; i < numel; i++) d[i] = this.gauss();
    return d;
  }
}

function checkNumel(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new EngineError(`randn: element count must be a non-negative integer, got ${n}`);
}

export function parseNoiseKind(s: string, what = '--noise'): NoiseKind {
  if ((NOISE_KINDS as readonly string[]).includes(s)) return s as NoiseKind;
  throw new EngineError(`${what}: unknown noise generator '${s}' (expected one of ${NOISE_KINDS.join(', ')})`);
}

/** A fresh generator seeded like torch.manual_seed(seed) / RandomState(seed). */
export function noiseSource(kind: NoiseKind, seed: number | bigint): NoiseSource {
  checkSeed(seed);
  if (kind === 'numpy') return new NumpyRandomState(Number(seed));
  return new TorchGenerator(seed, kind);
}
