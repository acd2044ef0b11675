// Elementwise activations and affine scaling (kernels/unary.wgsl): scale, silu, gelu (erf),
// geluTanh, quickGelu, relu, tanh. One pipeline per kind, dtype and vec4-ness; sizes in the uniform.
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/device.ts';
import { defineOp, f32, u32 } from './registry.ts';
import type { UnaryKind } from '../ref/unary.ts';

const WG = 256;
const DEFINE: Record<UnaryKind, string> = {
  scale: 'SCALE', silu: 'SILU', gelu: 'GELU', geluTanh: 'GELU_TANH', quickGelu: 'QUICK_GELU', relu: 'RELU', tanh: 'TANH',
};

function build(kind: UnaryKind, x: Node, s = 1, bias = 0): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes(kind, 'expected a float tensor', x);
  return x.graph.add('unary', [x], x.shape, x.dtype, { kind, s, bias });
}

/** x * s + bias. */
export function scale(x: Node, s: number, bias = 0): Node {
  if (!Number.isFinite(s) || !Number.isFinite(bias)) {
    throw new EngineError(`${x.graph.label('scale')}: factor and bias must be finite numbers (got ${s}, ${bias})`);
  }
  return build('scale', x, s, bias);
}
export const silu = (x: Node) => build('silu', x);
/** Exact GELU (erf form), torch's default. */
export const gelu = (x: Node) => build('gelu', x);
/** Tanh-approximated GELU (gelu_new, gelu_pytorch_tanh). */
export const geluTanh = (x: Node) => build('geluTanh', x);
/** CLIP's x * sigmoid(1.702 x). */
export const quickGelu = (x: Node) => build('quickGelu', x);
export const relu = (x: Node) => build('relu', x);
export const tanh = (x: Node) => build('tanh', x);

defineOp({
  name: 'unary',
  encode(n) {
    const kind = n.attrs.kind as UnaryKind;
    const vec4 = n.numel % 4 === 0;
    const units = vec4 ? n.numel / 4 : n.numel;
    return [{
      kernel: { name: 'unary', defines: { [DEFINE[kind]]: true, VEC4: vec4 }, constants: { WG } },
      buffers: [n.inputs[0], n],
      params: [u32(units), f32(n.attrs.s), f32(n.attrs.bias), u32(0)],
      grid: grid1d(Math.ceil(units / WG)),
    }];
  },
  async ref(n, [x]) {
    const { unary } = await import('../ref/unary.ts');
    return unary(n.attrs.kind, x, n.attrs.s, n.attrs.bias);
  },
});
