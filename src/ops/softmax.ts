// softmax(x) over the last dim (kernels/softmax.wgsl). Variants: 'wg' (a workgroup per row,
// shared-memory merge; GPUs) and 'row' (an invocation per row, barrier-free; software
// adapters: on lavapipe 'row' won at every shape tried, e.g. [4096, 77] 2.2 ms vs 54 ms,
// [8, 100000] 6.0 vs 7.6 ms). Chosen by src/ops/variant.ts; `variant` forces one (tests run both).
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32, type KernelCall } from './registry.ts';
import { checkVariant, variantFor, type RowVariant } from './variant.ts';

const WG = 256, ROW_WG = 64;

export function softmax(x: Node, opts: { variant?: RowVariant } = {}): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('softmax', 'expected a float tensor', x);
  if (x.rank < 1) badShapes('softmax', 'expected at least one dimension', x);
  checkVariant('softmax', opts.variant, x.graph.label('softmax'));
  return x.graph.add('softmax', [x], x.shape, x.dtype, { variant: opts.variant });
}

defineOp({
  name: 'softmax',
  encode(n, ctx) {
    const len = n.dim(-1), rows = n.numel / Math.max(1, len);
    const row = variantFor('softmax', ctx, n.attrs.variant) === 'row';
    const kernel: KernelCall['kernel'] = row
      ? { name: 'softmax', defines: { ROW: true }, constants: { WG: ROW_WG } }
      : { name: 'softmax', defines: { WG } };
    return [{
      kernel,
      buffers: [n.inputs[0], n],
      params: [u32(rows), u32(len)],
      grid: grid1d(row ? Math.ceil(rows / ROW_WG) : rows),
    }];
  },
  async ref(n, [x]) {
    const { softmax } = await import('../ref/softmax.ts');
    return softmax(x, n.dim(-1));
  },
});
