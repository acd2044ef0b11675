// softmax(x) over the last dim (kernels/softmax.wgsl). Variants: 'wg' (a workgroup per row,
// shared-memory merge; GPUs) and 'row' (an invocation per row, barrier-free; software
// adapters: on lavapipe 'row' won at every shape tried, e.g. [4096, 77] 2.2 ms vs 54 ms,
// [8, 100000] 6.0 vs 7.6 ms). Chosen by src/ops/variant.ts; `variant` forces one (tests run both).
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32, type EncodeContext, type KernelCall, type Operand, type Param } from './registry.ts';
import { checkVariant, variantFor, type RowVariant } from './variant.ts';

const WG = 256, ROW_WG = 64;

export function softmax(x: Node, opts: { variant?: RowVariant } = {}): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('softmax', 'expected a float tensor', x);
  if (x.rank < 1) badShapes('softmax', 'expected at least one dimension', x);
  checkVariant('softmax', opts.variant, x.graph.label('softmax'));
  return x.graph.add('softmax', [x], x.shape, x.dtype, { variant: opts.variant });
}

/**
 * The one dispatch of a row-wise op (softmax, layer_norm, rms_norm) over `rows` rows, in the
 * variant the policy picks: 'wg' a workgroup of WG per row, 'row' an invocation per row.
 */
export function rowWiseCall(op: 'softmax' | 'layer_norm' | 'rms_norm', n: Node, ctx: EncodeContext, rows: number,
  defines: Record<string, boolean | number>, buffers: Operand[], params: Param[]): KernelCall {
  const row = variantFor(op, ctx, n.attrs.variant) === 'row';
  return {
    kernel: row ? { name: op, defines: { ...defines, ROW: true }, constants: { WG: ROW_WG } } : { name: op, defines: { ...defines, WG } },
    buffers, params, grid: grid1d(row ? Math.ceil(rows / ROW_WG) : rows),
  };
}

defineOp({
  name: 'softmax',
  encode(n, ctx) {
    const len = n.dim(-1), rows = n.numel / Math.max(1, len);
    return [rowWiseCall('softmax', n, ctx, rows, {}, [n.inputs[0], n], [u32(rows), u32(len)])];
  },
  async ref(n, [x]) {
    const { softmax } = await import('../ref/softmax.ts');
    return softmax(x, n.dim(-1));
  },
});
