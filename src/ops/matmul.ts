// matmul (batched, broadcast batch dims, optional transposed B) and linear (PyTorch
// Linear: x · w^T + bias) on kernels/matmul.wgsl.
//
// Variants (chosen by src/ops/variant.ts; forced with the `variant` option or
// ENGINE_FORCE_VARIANT=matmul=reg|shared|subgroup):
//   reg       barrier-free 4x4 register tiles, vec4 loads where aligned: CPU adapters.
//   shared    64x64 workgroup tiles through workgroup memory: real GPUs.
//   subgroup  reg whose quads load each row of A (B transposed) or of B once and hand it
//             to the other three lanes (quadBroadcast): needs 'subgroups'.
// linear also takes a q8_0 weight (GGML block_q8_0, src/tensor/q8_0.ts): every variant
// then dequantizes the blocks as it loads them (Q8 in kernels/matmul.wgsl).
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { MAX_GRID } from '../gpu/facts.ts';
import { broadcastShape, broadcastStrides, mergeDims } from './broadcast.ts';
import { VARIANTS, variantFor, type MatmulVariant, type VariantContext } from './variant.ts';
import { defineOp, u32, type KernelCall, type Operand } from './registry.ts';
import type { Float } from '../gpu/kernels.ts';

export const MATMUL_VARIANTS = VARIANTS.matmul;
export type { MatmulVariant };

export interface MatmulOptions {
  /** b is stored [..., N, K] (computes a · b^T). */
  transB?: boolean;
  variant?: MatmulVariant;
}

/** a [..., M, K] · b [..., K, N] -> [..., M, N]; batch dims broadcast (numpy rules). */
export function matmul(a: Node, b: Node, opts: MatmulOptions = {}): Node {
  return build('matmul', a, b, null, opts);
}

/** x [..., K] · w[N, K]^T + bias[N] -> [..., N] (torch.nn.Linear). */
export function linear(x: Node, w: Node, bias: Node | null, opts: { variant?: MatmulVariant } = {}): Node {
  const why = (s: string) => badShapes('linear', s, ...[x, w, bias].filter((t): t is Node => !!t));
  if (x.rank < 1) why('input must have at least 1 dim');
  if (w.rank !== 2) why('weight must be [out_features, in_features]');
  const K = x.dim(-1), N = w.dim(0);
  if (w.dim(1) !== K) why(`input's last dim ${K} != weight's in_features ${w.dim(1)}`);
  if (bias && (bias.rank !== 1 || bias.dim(0) !== N)) why(`bias must be [${N}]`);
  const g = x.graph;
  const x2 = x.rank === 2 ? x : g.view(x, [x.numel / Math.max(K, 1), K]);
  const y = build('linear', x2, w, bias, { transB: true, variant: opts.variant });
  return x.rank === 2 ? y : g.view(y, [...x.shape.slice(0, -1), N]);
}

function build(op: string, a: Node, b: Node, bias: Node | null, opts: MatmulOptions): Node {
  const xs = [a, b, ...(bias ? [bias] : [])];
  if (a.rank < 2 || b.rank < 2) badShapes(op, 'operands need rank >= 2', ...xs);
  const transB = !!opts.transB;
  const q8 = b.dtype === 'q8_0';
  if (xs.some((t) => t.dtype !== a.dtype && !(t === b && q8)) || (a.dtype !== 'f32' && a.dtype !== 'f16')) badShapes(op, 'operands must share one float dtype', ...xs);
  if (q8 && (op !== 'linear' || b.rank !== 2)) badShapes(op, 'a q8_0 operand must be the [N, K] weight of a linear', ...xs);
  if (q8 && b.dim(-1) % 32) badShapes(op, `q8_0 weight rows of ${b.dim(-1)} values are not whole 32-value blocks`, ...xs);
  const M = a.dim(-2), K = a.dim(-1);
  const Kb = transB ? b.dim(-1) : b.dim(-2), N = transB ? b.dim(-2) : b.dim(-1);
  if (K !== Kb) badShapes(op, `inner dimensions differ (${K} vs ${Kb}${transB ? ', b transposed' : ''})`, ...xs);
  if (M === 0 || N === 0 || K === 0) badShapes(op, 'empty matrices are not supported', ...xs);
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!batch) badShapes(op, 'batch dimensions do not broadcast', ...xs);
  if (opts.variant && !MATMUL_VARIANTS.includes(opts.variant)) badShapes(op, `unknown variant '${opts.variant}' (have ${MATMUL_VARIANTS.join(', ')})`, ...xs);
  return a.graph.add('matmul', xs, [...batch, M, N], a.dtype, { transB, variant: opts.variant });
}

// Workgroup shape of the reg variant (invocations along N x along M); 8x8 measured best
// of 4x16 / 8x8 / 16x4 / 32x2 on lavapipe.
const WX = 8, WY = 8;

interface Sizes { rows: number; K: number; N: number; dims: number[]; ma: number[]; mb: number[] }

function call(label: string, io: { a: Operand; b: Operand; bias: Operand | null; c: Operand }, z: Sizes,
  o: { transB: boolean; q8: boolean; variant: MatmulVariant; dtype?: Float }): KernelCall {
  const { rows, K, N, dims, ma, mb } = z;
  const nbatch = dims.reduce((x, y) => x * y, 1);
  const pad = (v: number[], fill: number) => [...v, ...new Array(4 - v.length).fill(fill)].map(u32);
  const params = [u32(rows), u32(K), u32(N), u32(dims.length), ...pad(dims, 1), ...pad(ma, 0), ...pad(mb, 0)];
  const shared = o.variant === 'shared';
  const subgroups = o.variant === 'subgroup';
  // reg, B stored [K, N]: 4x8 tiles (WIDE) load 12 vec4 per 128 fmas instead of 8 per 64;
  // lavapipe, conv2d winograd's products: 128²x512 1791 -> 1554 ms, 512²x128 3376 -> 2990.
  const wide = !shared && !o.transB;
  const defines = {
    WIDE: wide,
    TRANS_B: o.transB, BIAS: !!io.bias, OUT_BINDING: io.bias ? 4 : 3, SHARED: shared, Q8: o.q8,
    SUBGROUPS: subgroups, QA: subgroups && o.transB, QB: subgroups && !o.transB,
    VA: !shared && K % 4 === 0, VB: !shared && !o.q8 && (o.transB ? K : N) % 4 === 0, VC: N % 4 === 0,
  };
  const grid: [number, number, number] = shared
    ? [Math.ceil(N / 64), Math.ceil(rows / 64), nbatch]
    : [Math.ceil(N / (wide ? 8 : 4) / WX), Math.ceil(rows / 4 / WY), nbatch];
  if (grid.some((d) => d > MAX_GRID)) throw new EngineError(`${label}: matmul [${rows}, ${K}] x [${K}, ${N}] needs grid ${grid.join('x')}, over 65535 in one dimension`);
  return {
    kernel: { name: 'matmul', defines, constants: shared ? {} : { WX, WY }, ...(o.dtype ? { dtype: o.dtype } : {}) },
    buffers: [io.a, io.b, ...(io.bias ? [io.bias] : []), io.c], params, grid,
  };
}

/** The matmul variant to run (variantFor), checked against what the adapter can run. */
export function matmulVariant(label: string, ctx: VariantContext, forced: MatmulVariant | undefined): MatmulVariant {
  const v = variantFor('matmul', ctx, forced);
  if (v === 'subgroup' && !ctx.hasSubgroups) throw new EngineError(`${label}: matmul variant 'subgroup' needs the adapter feature 'subgroups', which this adapter lacks (use reg or shared)`);
  return v;
}

/**
 * c[z] = a[z] · b[z] (b[z]^T with transB) for z < nb over contiguous operands an op owns
 * (its scratch), in `dtype`: how conv2d's winograd and attention's scores variants run
 * their products.
 */
export function productCall(label: string, a: Operand, b: Operand, c: Operand, s: { nb: number; M: number; K: number; N: number; transB?: boolean },
  variant: MatmulVariant, dtype: Float): KernelCall {
  const z = { rows: s.M, K: s.K, N: s.N, dims: [s.nb], ma: [s.M * s.K], mb: [s.K * s.N] };
  return call(label, { a, b, bias: null, c }, z, { transB: !!s.transB, q8: false, variant, dtype });
}

defineOp({
  name: 'matmul',
  encode(n, ctx): KernelCall[] {
    const [a, b, bias] = n.inputs;
    const transB = !!n.attrs.transB;
    const M = a.dim(-2), K = a.dim(-1), N = n.dim(-1);
    const batch = n.shape.slice(0, -2);
    const sa = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * M * K);
    const sb = broadcastStrides(b.shape.slice(0, -2), batch).map((s) => s * K * N);
    let { dims, strides: [ma, mb] } = mergeDims(batch, sa, sb);
    let rows = M;
    // A batch over a shared B is one taller matmul (fewer, fuller tiles).
    if (dims.length === 1 && mb[0] === 0 && ma[0] === M * K) [rows, dims, ma, mb] = [M * dims[0], [1], [0], [0]];
    if (dims.length > 4) throw new EngineError(`${n.label}: ${dims.length} batch dims after merging (max 4)`);
    const variant = matmulVariant(n.label, ctx, n.attrs.variant);
    return [call(n.label, { a, b, bias: bias ?? null, c: n }, { rows, K, N, dims, ma, mb }, { transB, q8: b.dtype === 'q8_0', variant })];
  },
  async ref(n, [a, b, bias]) {
    const { matmul: ref } = await import('../ref/matmul.ts');
    return ref(a, n.inputs[0].shape, b, n.inputs[1].shape, !!n.attrs.transB, bias ?? null);
  },
});
