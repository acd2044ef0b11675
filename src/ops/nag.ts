// Normalized Attention Guidance combine step (kernels/nag.wgsl): mixes the positive and
// negative attention outputs of a cross-attention layer, before to_out.
import { badShapes, type Node, type ScalarArg } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { EngineError } from '../errors.ts';
import { defineOp, f32, u32 } from './registry.ts';

/** Numbers, or runtime scalars (guidance sweeps). */
export interface NagOptions { scale: ScalarArg; tau: ScalarArg; alpha: ScalarArg }

export function nag(zPos: Node, zNeg: Node, o: NagOptions): Node {
  if (zPos.dtype !== zNeg.dtype || zPos.shape.join() !== zNeg.shape.join()) badShapes('nag', 'positive and negative outputs must match', zPos, zNeg);
  if (typeof o.tau === 'number' && !(o.tau > 0)) throw new EngineError(`nag: tau must be > 0, got ${o.tau}`);
  return zPos.graph.add('nag', [zPos, zNeg], zPos.shape, zPos.dtype, { ...o });
}

defineOp({
  name: 'nag',
  encode(n) {
    const C = n.dim(-1), rows = n.numel / C;
    const { scale, tau, alpha } = n.attrs as NagOptions;
    return [{ kernel: { name: 'nag' }, buffers: [n.inputs[0], n.inputs[1], n], params: [u32(rows), u32(C), f32(scale), f32(tau), f32(alpha)], grid: grid1d(rows) }];
  },
  async ref(n, [zp, zn], scalar) {
    const C = n.dim(-1);
    const { scale, tau, alpha } = n.attrs as NagOptions;
    return (await import('../ref/nag.ts')).nag(zp, zn, n.numel / C, C, scalar(scale), scalar(tau), scalar(alpha));
  },
});
