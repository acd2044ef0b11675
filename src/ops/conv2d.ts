// conv2d(x [B, Cin, H, W], w [Cout, Cin, kh, kw], b [Cout] | null, { stride, padding }) in
// PyTorch's NCHW / OIHW layout. Three variants, picked per adapter by src/ops/variant.ts
// unless forced (the `variant` option / ENGINE_FORCE_VARIANT=conv2d=...):
//   direct    kernels/conv2d.wgsl, barrier-free register tiles; >10x faster than gemm on lavapipe.
//   gemm      kernels/conv2d.wgsl, workgroup-shared implicit GEMM (64x64 tiles) for real GPUs.
//   winograd  kernels/winograd.wgsl, F(4x4, 3x3): 4x fewer multiplies for 3x3 / stride 1 /
//             padding 1 (the VAE decoder and most of the UNet); lavapipe's default. Convs it
//             does not take run direct (software adapters) or gemm.
// `residual` (a tensor of the output's shape) is added as each output value is stored: a
// ResNet block's `shortcut + conv2(h)` without a separate add pass over the tensor.
import { badShapes, type Node } from '../graph/graph.ts';
import { EngineError } from '../errors.ts';
import { grid1d, MAX_GRID } from '../gpu/facts.ts';
import { checkVariant, variantFor, type Conv2dVariant } from './variant.ts';
import { defineOp, u32, type EncodeContext, type KernelCall, type Scratch } from './registry.ts';
import { matmulVariant, productCall } from './matmul.ts';

export type Pair = number | [number, number];
/** Padding: all sides, [h, w], or [top, bottom, left, right] (e.g. the VAE encoder's F.pad(0, 1, 0, 1)). */
export type Padding = Pair | [number, number, number, number];
export interface Conv2dOptions { stride?: Pair; padding?: Padding; variant?: Conv2dVariant; residual?: Node | null }
export type { Conv2dVariant };

function ints(v: number | number[], n: number[], what: string): number[] {
  const r = typeof v === 'number' ? new Array(n[0]).fill(v) : v;
  if (!n.includes(r.length) || !r.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new EngineError(`conv2d: ${what} must be a non-negative integer or ${n.join(' or ')} of them, got ${JSON.stringify(v)}`);
  }
  return r;
}

export function conv2d(x: Node, w: Node, b: Node | null, opts: Conv2dOptions = {}): Node {
  const [sh, sw] = ints(opts.stride ?? 1, [2], 'stride');
  const pad = ints(opts.padding ?? 0, [2, 4], 'padding');
  const [pt, pb, pl, pr] = pad.length === 2 ? [pad[0], pad[0], pad[1], pad[1]] : pad;
  if (sh < 1 || sw < 1) throw new EngineError(`conv2d: stride must be >= 1, got ${JSON.stringify(opts.stride)}`);
  const r = opts.residual ?? null;
  const ins = [x, w, ...(b ? [b] : []), ...(r ? [r] : [])];
  if (x.rank !== 4 || w.rank !== 4) badShapes('conv2d', 'expected x [B, Cin, H, W] and w [Cout, Cin, kh, kw]', ...ins);
  if (x.dtype !== w.dtype || (b && b.dtype !== x.dtype) || (x.dtype !== 'f32' && x.dtype !== 'f16')) badShapes('conv2d', 'x, w and b must share one float dtype', ...ins);
  const [B, cin, H, W] = x.shape;
  const [cout, wcin, kh, kw] = w.shape;
  if (wcin !== cin) badShapes('conv2d', `w has ${wcin} input channels, x has ${cin}`, ...ins);
  if (b && (b.rank !== 1 || b.shape[0] !== cout)) badShapes('conv2d', `bias must be [${cout}]`, ...ins);
  const ho = Math.floor((H + pt + pb - kh) / sh) + 1, wo = Math.floor((W + pl + pr - kw) / sw) + 1;
  if (kh < 1 || kw < 1 || ho < 1 || wo < 1) badShapes('conv2d', `kernel ${kh}x${kw} with padding [${pt}, ${pb}, ${pl}, ${pr}] does not fit the input`, ...ins);
  const shape = [B, cout, ho, wo];
  if (r && (r.dtype !== x.dtype || r.shape.length !== 4 || r.shape.some((d, i) => d !== shape[i]))) badShapes('conv2d', `residual must be [${shape}] in ${x.dtype} (the output)`, ...ins);
  checkVariant('conv2d', opts.variant, 'conv2d');
  return x.graph.add('conv2d', ins, shape, x.dtype, { sh, sw, ph: pt, pw: pl, pb, pr, variant: opts.variant, bias: !!b, residual: !!r });
}

/** The operands of conv2d node n by role (bias and residual are optional inputs). */
function operands(n: Node): { x: Node; w: Node; b: Node | null; r: Node | null } {
  const [x, w] = n.inputs;
  const b = n.attrs.bias ? n.inputs[2] : null;
  const r = n.attrs.residual ? n.inputs[b ? 3 : 2] : null;
  return { x, w, b, r };
}

const GEMM_TILE = 64;

// winograd (kernels/winograd.wgsl): F(4x4, 3x3) for 3x3, stride 1, padding 1 on every side;
// other convs run direct (software adapters) or gemm. Scratch, all f32: u [36, cc, Cin]
// (the transformed weights of a chunk of cc output channels), and per band of tiles
// v [36, Cin, ns] and mm [36, cc, ns]. Bands keep v and mm within WINOGRAD_BAND bytes and
// chunks keep u within WINOGRAD_U (and a binding), so the arena grows by at most 96 MiB
// whatever the conv's size. Chunks beyond the first recompute v (a 1/cc share of the work).
const WINOGRAD_BAND = 16 << 20; // lavapipe, VAE shapes: 16 MiB bands beat 8, 32 and 64
const WINOGRAD_U = 64 << 20;
const WG = 64;

const grid = (items: number) => grid1d(Math.ceil(items / WG));

/** The winograd kernel calls of conv2d node n, or null where the variant does not apply. */
function winogradCalls(n: Node, ctx: EncodeContext): KernelCall[] | null {
  const { x, w, b, r } = operands(n);
  const [B, cin, H, W] = x.shape, [cout, , kh, kw] = w.shape;
  const { sh, sw, ph, pw, pb, pr } = n.attrs;
  if (kh !== 3 || kw !== 3 || sh !== 1 || sw !== 1 || ph !== 1 || pw !== 1 || pb !== 1 || pr !== 1) return null;
  const limit = Math.min(WINOGRAD_BAND, ctx.maxBindingBytes);
  // Output channels in chunks whose u fits WINOGRAD_U (UNet 1280 -> 1280: 236 MB whole).
  const ulimit = Math.min(WINOGRAD_U, ctx.maxBindingBytes);
  const cc = Math.min(cout, Math.floor(ulimit / (36 * cin * 4) / 32) * 32);
  const perTile = 36 * Math.max(cin, cc) * 4;
  if (cc < 1 || perTile * 4 > limit) return null;
  const th = Math.ceil(H / 4), tw = Math.ceil(W / 4), tpi = th * tw, tiles = B * tpi;
  const band = Math.min(Math.floor(limit / perTile / 4) * 4, Math.ceil(tiles / 4) * 4);
  const u: Scratch = { scratch: 36 * cc * cin * 4, tag: 'u' };
  const v: Scratch = { scratch: 36 * cin * band * 4, tag: 'v' };
  const mm: Scratch = { scratch: 36 * cc * band * 4, tag: 'mm' };
  const matmul = matmulVariant(n.label, ctx, undefined);
  const pass = (m0: number, c: number, t0: number, nt: number, ns: number, items: number) =>
    [cin, H, W, cout, tw, tpi, t0, nt, ns, items, m0, c].map(u32);
  const calls: KernelCall[] = [];
  for (let m0 = 0; m0 < cout; m0 += cc) {
    const c = Math.min(cc, cout - m0);
    calls.push({
      kernel: { name: 'winograd', defines: { WEIGHT: true }, constants: { WG } },
      buffers: [w, u], params: pass(m0, c, 0, 0, 0, c * cin), grid: grid(c * cin),
    });
    for (let t0 = 0; t0 < tiles; t0 += band) {
      const nt = Math.min(band, tiles - t0), ns = Math.ceil(nt / 4) * 4;
      calls.push(
        { kernel: { name: 'winograd', defines: { INPUT: true }, constants: { WG } }, buffers: [x, v], params: pass(m0, c, t0, nt, ns, cin * ns), grid: grid(cin * ns) },
        productCall(n.label, u, v, mm, { nb: 36, M: c, K: cin, N: ns }, matmul, 'f32'),
        {
          kernel: { name: 'winograd', defines: { OUTPUT: true, ...epilogue(b, r, 2) }, constants: { WG } },
          buffers: [mm, ...present(b, r), n], params: pass(m0, c, t0, nt, ns, c * nt), grid: grid(c * nt),
        },
      );
    }
  }
  return calls;
}

/** Defines for the optional bias and residual bindings from `first` on, then the output's. */
function epilogue(b: Node | null, r: Node | null, first: number) {
  const res = first + (b ? 1 : 0);
  return { BIAS: !!b, RES: !!r, RES_BINDING: res, OUT_BINDING: res + (r ? 1 : 0) };
}

const present = (...ns: (Node | null)[]): Node[] => ns.filter((v): v is Node => v !== null);

/**
 * Direct-kernel tiling, tuned on lavapipe (2-core AVX-512 host): 16 channels x 8 pixels
 * per invocation beat 8x4, 16x4, 8x8, 24x8 and 32x8 on SD shapes (more registers per
 * gathered pixel, yet no spills that hurt). Smaller workgroups (down to lavapipe's
 * 8-lane SIMD width) for small images, so a block is not mostly idle lanes.
 */
function directTiling(cout: number, npix: number) {
  let wg = 8;
  while (wg < 64 && wg * 8 < npix) wg *= 2;
  return { cm: cout <= 4 ? 4 : cout <= 8 ? 8 : 16, px: 8, wg };
}

function encode(n: Node, variant: Conv2dVariant): KernelCall {
  const { x, w, b, r } = operands(n);
  const [B, cin, H, W] = x.shape, [cout, , kh, kw] = w.shape, [, , ho, wo] = n.shape;
  const { sh, sw, ph, pw } = n.attrs;
  const npix = ho * wo;
  const t = directTiling(cout, npix);
  const blockPixels = variant === 'direct' ? t.px * t.wg : GEMM_TILE;
  const blocks = Math.ceil(npix / blockPixels);
  // Pixel blocks past 65535 continue in z (z = batch * split); the kernels recombine them.
  const gx = Math.min(blocks, MAX_GRID), split = Math.ceil(blocks / gx);
  const grid: [number, number, number] = [gx, Math.ceil(cout / (variant === 'direct' ? t.cm : GEMM_TILE)), B * split];
  if (grid[1] > MAX_GRID || grid[2] > MAX_GRID) throw new EngineError(`${n.label}: conv2d ${n} needs a dispatch grid [${grid}] beyond 65535`);
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0 && ho === H && wo === W;
  const kernel = variant === 'direct'
    ? { name: 'conv2d', defines: { ...epilogue(b, r, 3), CM: t.cm, NV: t.px / 4, POINTWISE: pointwise }, constants: { WG: t.wg } }
    : { name: 'conv2d', defines: { ...epilogue(b, r, 3), GEMM: true } };
  return {
    kernel,
    buffers: [x, w, ...present(b, r), n],
    params: [cin, H, W, cout, ho, wo, kh, kw, sh, sw, ph, pw, npix, cin * kh * kw, B, 0].map(u32),
    grid,
  };
}

defineOp({
  name: 'conv2d',
  encode(n, ctx: EncodeContext) {
    const v = variantFor('conv2d', ctx, n.attrs.variant);
    if (v === 'winograd') {
      const calls = winogradCalls(n, ctx);
      if (calls) return calls;
    }
    return [encode(n, v === 'winograd' ? (ctx.isSoftware ? 'direct' : 'gemm') : v)];
  },
  async ref(n, [x, w, ...rest]) {
    const { conv2d: ref } = await import('../ref/conv2d.ts');
    const { sh, sw, ph, pw, pb, pr, bias, residual } = n.attrs;
    const y = ref(x, n.inputs[0].shape, w, n.inputs[1].shape, bias ? rest[0] : null, [sh, sw], [ph, pb, pw, pr]);
    if (residual) {
      const res = rest[bias ? 1 : 0];
      for (let i = 0; i < y.length; i++) y[i] += res[i];
    }
    return y;
  },
});
