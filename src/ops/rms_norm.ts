// rmsNorm(x, weight, eps) over the last dim, T5LayerNorm style (kernels/rms_norm.wgsl):
// no mean subtraction, no bias, statistics in f32. Variants as softmax ('wg' / 'row').
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { defineOp, f32, u32 } from './registry.ts';
import { rowWiseCall } from './softmax.ts';
import { checkVariant, type RowVariant } from './variant.ts';
import { checkFeatureVec } from './layer_norm.ts';

export function rmsNorm(x: Node, weight: Node, eps: number, opts: { variant?: RowVariant } = {}): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('rms_norm', 'expected a float tensor', x);
  if (x.rank < 1 || x.dim(-1) === 0) badShapes('rms_norm', 'expected a non-empty last dimension', x);
  if (!(eps >= 0)) throw new EngineError(`${x.graph.label('rms_norm')}: eps must be >= 0 (got ${eps})`);
  checkFeatureVec('rms_norm', x, weight, 'weight');
  checkVariant('rms_norm', opts.variant, x.graph.label('rms_norm'));
  return x.graph.add('rms_norm', [x, weight], x.shape, x.dtype, { eps, variant: opts.variant });
}

defineOp({
  name: 'rms_norm',
  encode(n, ctx) {
    const len = n.dim(-1), rows = n.numel / len;
    return [rowWiseCall('rms_norm', n, ctx, rows, {}, [n.inputs[0], n.inputs[1], n], [u32(rows), u32(len), f32(n.attrs.eps), u32(0)])];
  },
  async ref(n, [x, w]) {
    const { rmsNorm } = await import('../ref/rms_norm.ts');
    return rmsNorm(x, n.dim(-1), w, n.attrs.eps);
  },
});
