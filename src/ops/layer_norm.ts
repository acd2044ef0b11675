// layerNorm(x, weight | null, bias | null, eps) over the last dim (kernels/layer_norm.wgsl).
// Variants as softmax: 'wg' (workgroup per row) and 'row' (invocation per row, software).
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { defineOp, f32, u32 } from './registry.ts';
import { rowWiseCall } from './softmax.ts';
import { checkVariant, type RowVariant } from './variant.ts';

/** Checks a per-feature vector (weight/bias of a norm over the last dim). */
export function checkFeatureVec(op: string, x: Node, v: Node | null, what: string): void {
  if (!v) return;
  if (v.dtype !== x.dtype) badShapes(op, `${what} dtype must match the input`, x, v);
  if (v.rank !== 1 || v.dim(0) !== x.dim(-1)) badShapes(op, `${what} must be [${x.dim(-1)}] (the last dim of the input)`, x, v);
}

export function layerNorm(x: Node, weight: Node | null, bias: Node | null, eps: number, opts: { variant?: RowVariant } = {}): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('layer_norm', 'expected a float tensor', x);
  if (x.rank < 1 || x.dim(-1) === 0) badShapes('layer_norm', 'expected a non-empty last dimension', x);
  if (!(eps >= 0)) throw new EngineError(`${x.graph.label('layer_norm')}: eps must be >= 0 (got ${eps})`);
  checkFeatureVec('layer_norm', x, weight, 'weight');
  checkFeatureVec('layer_norm', x, bias, 'bias');
  checkVariant('layer_norm', opts.variant, x.graph.label('layer_norm'));
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return x.graph.add('layer_norm', inputs, x.shape, x.dtype, { eps, hasW: !!weight, hasB: !!bias, variant: opts.variant });
}

defineOp({
  name: 'layer_norm',
  encode(n, ctx) {
    const len = n.dim(-1), rows = n.numel / len;
    return [rowWiseCall('layer_norm', n, ctx, rows, { HAS_W: n.attrs.hasW, HAS_B: n.attrs.hasB }, [...n.inputs, n], [u32(rows), u32(len), f32(n.attrs.eps), u32(0)])];
  },
  async ref(n, ins) {
    const { layerNorm } = await import('../ref/layer_norm.ts');
    const [x, ...rest] = ins;
    const w = n.attrs.hasW ? rest.shift()! : null;
    const b = n.attrs.hasB ? rest.shift()! : null;
    return layerNorm(x, n.dim(-1), w, b, n.attrs.eps);
  },
});
