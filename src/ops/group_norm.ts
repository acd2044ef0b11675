// groupNorm(x [B, C, *spatial], groups, weight [C], bias [C], eps, { silu }) with an optional
// fused SiLU (kernels/group_norm.wgsl). Variants:
//   'fused' one workgroup per (batch, group): one dispatch; best when there are many groups
//           or each group is small.
//   'split' stats over strided partials -> merge per group -> elementwise normalise: three
//           dispatches that keep the whole GPU busy when B*G is small and the groups are big
//           (e.g. 32 groups x 10 channels x 64x64).
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d, MAX_GRID } from '../gpu/facts.ts';
import { defineOp, f32, u32, type KernelCall } from './registry.ts';
import { checkVariant, variantFor, type GroupNormVariant, type GroupNormWork } from './variant.ts';

export type { GroupNormVariant };
export interface GroupNormOptions { silu?: boolean; variant?: GroupNormVariant }

const WG = 256;
/** Units (values or vec4s) each STATS invocation sums, and the cap on partials per group. */
const UNITS_PER_PART = 16, MAX_PARTS = 4096;

export function groupNorm(x: Node, groups: number, weight: Node, bias: Node, eps: number, opts: GroupNormOptions = {}): Node {
  const op = 'group_norm';
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes(op, 'expected a float tensor', x);
  if (x.rank < 2) badShapes(op, 'expected [B, C, ...spatial]', x);
  const c = x.dim(1);
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) badShapes(op, `${groups} groups must divide the ${c} channels`, x);
  for (const [v, what] of [[weight, 'weight'], [bias, 'bias']] as const) {
    if (v.dtype !== x.dtype) badShapes(op, `${what} dtype must match the input`, x, v);
    if (v.rank !== 1 || v.dim(0) !== c) badShapes(op, `${what} must be [${c}] (the channels of the input)`, x, v);
  }
  if (!(eps >= 0)) throw new EngineError(`${x.graph.label(op)}: eps must be >= 0 (got ${eps})`);
  checkVariant(op, opts.variant, x.graph.label(op));
  return x.graph.add(op, [x, weight, bias], x.shape, x.dtype, { groups, eps, silu: !!opts.silu, variant: opts.variant });
}

/** The work shape the variant policy weighs: [B, C, ...spatial] with `groups` groups. */
export function groupNormWork(shape: readonly number[], groups: number): GroupNormWork & { vec4: boolean; su: number } {
  const [B, C] = shape;
  const S = shape.reduce((a, b) => a * b, 1) / Math.max(1, B * C);
  const vec4 = S % 4 === 0, su = vec4 ? S / 4 : S;
  return { bg: B * groups, lu: (C / groups) * su, vec4, su };
}

defineOp({
  name: 'group_norm',
  encode(n, ctx) {
    const [x, w, b] = n.inputs;
    const [B, C] = n.shape, G = n.attrs.groups as number;
    const S = n.numel / Math.max(1, B * C), cg = C / G;
    const work = groupNormWork(n.shape, G), { vec4, su, lu, bg } = work;
    const variant = variantFor('group_norm', ctx, n.attrs.variant, work);
    const parts = variant === 'split' ? Math.max(1, Math.min(MAX_PARTS, lu, Math.ceil(lu / UNITS_PER_PART))) : 1;
    const params = [u32(bg), u32(G), u32(C), u32(cg), u32(su), u32(lu), u32(parts), u32(B * C * su),
      f32(n.attrs.eps), f32(cg * S), u32(0), u32(0)];
    const defines = { VEC4: vec4, SILU: n.attrs.silu, WG };
    if (variant === 'fused' || lu === 0) {
      return [{ kernel: { name: 'group_norm', defines: { ...defines, FUSED: true } }, buffers: [x, w, b, n], params, grid: grid1d(bg) }];
    }
    const part = { scratch: bg * parts * 16, tag: 'partials' }, stats = { scratch: bg * 16, tag: 'stats' };
    const calls: KernelCall[] = [
      { kernel: { name: 'group_norm', defines: { ...defines, STATS: true } }, buffers: [x, part], params,
        grid: [Math.ceil(parts / WG), Math.min(bg, MAX_GRID), Math.ceil(bg / MAX_GRID)] },
      { kernel: { name: 'group_norm', defines: { ...defines, COMBINE: true } }, buffers: [part, stats], params, grid: grid1d(bg) },
      { kernel: { name: 'group_norm', defines: { ...defines, NORM: true } }, buffers: [x, w, b, stats, n], params,
        grid: grid1d(Math.ceil((B * C * su) / WG)) },
    ];
    return calls;
  },
  async ref(n, [x, w, b]) {
    const { groupNorm } = await import('../ref/group_norm.ts');
    return groupNorm(x, n.shape, n.attrs.groups, w, b, n.attrs.eps, n.attrs.silu);
  },
});
