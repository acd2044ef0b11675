// Elementwise activations and affine scaling (kernels/unary.wgsl): scale, silu, gelu (erf),
// geluTanh, quickGelu, relu, tanh, clamp. One pipeline per kind, dtype and vec4-ness; sizes in the uniform.
import { EngineError } from '../errors.ts';
import { badShapes, type Node, type ScalarArg } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, f32, u32 } from './registry.ts';
import type { UnaryKind } from '../ref/unary.ts';

const WG = 256;
const DEFINE: Record<UnaryKind, string> = {
  scale: 'SCALE', silu: 'SILU', gelu: 'GELU', geluTanh: 'GELU_TANH', quickGelu: 'QUICK_GELU', relu: 'RELU', tanh: 'TANH', clamp: 'CLAMP',
};

function build(kind: UnaryKind, x: Node, s: ScalarArg = 1, bias = 0): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes(kind, 'expected a float tensor', x);
  return x.graph.add('unary', [x], x.shape, x.dtype, { kind, s, bias });
}

/** x * s + bias; `s` may be a runtime scalar. */
export function scale(x: Node, s: ScalarArg, bias = 0): Node {
  if ((typeof s === 'number' && !Number.isFinite(s)) || !Number.isFinite(bias)) {
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
/** torch clip(x, -limit, limit); infinities become +-limit (FLUX's f16 guard uses 65504). */
export function clampAbs(x: Node, limit: number): Node {
  if (!(limit > 0) || !Number.isFinite(limit)) throw new EngineError(`${x.graph.label('clamp')}: limit must be a positive finite number (got ${limit})`);
  return build('clamp', x, limit);
}

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
  async ref(n, [x], scalar) {
    const { unary } = await import('../ref/unary.ts');
    return unary(n.attrs.kind, x, scalar(n.attrs.s), n.attrs.bias);
  },
});
