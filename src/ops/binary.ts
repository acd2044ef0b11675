// add / sub / mul / div with numpy broadcasting (kernels/binary.wgsl).
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { broadcastShape, broadcastStrides, mergeDims } from './broadcast.ts';
import { defineOp, u32, type Param } from './registry.ts';
import type { BinaryKind } from '../ref/binary.ts';

const WG = 256;

function build(kind: BinaryKind, a: Node, b: Node): Node {
  if (a.dtype !== b.dtype) badShapes(kind, 'dtypes differ', a, b);
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) badShapes(kind, 'shapes do not broadcast', a, b);
  return a.graph.add('binary', [a, b], shape, a.dtype, { kind });
}

export const add = (a: Node, b: Node) => build('add', a, b);
export const sub = (a: Node, b: Node) => build('sub', a, b);
export const mul = (a: Node, b: Node) => build('mul', a, b);
export const div = (a: Node, b: Node) => build('div', a, b);

defineOp({
  name: 'binary',
  encode(n) {
    const [a, b] = n.inputs;
    const m = mergeDims(n.shape, broadcastStrides(a.shape, n.shape), broadcastStrides(b.shape, n.shape));
    if (m.dims.length > 8) throw new Error(`${n.label}: rank ${m.dims.length} > 8 after merging`);
    const pad = (v: number[]) => [...v, ...new Array(8 - v.length).fill(0)].map(u32);
    const params: Param[] = [u32(n.numel), u32(m.dims.length), u32(0), u32(0), ...pad(m.dims), ...pad(m.strides[0]), ...pad(m.strides[1])];
    const kind = n.attrs.kind as BinaryKind;
    return [{
      kernel: { name: 'binary', defines: { [kind.toUpperCase()]: true }, constants: { WG } },
      buffers: [a, b, n], params, grid: grid1d(Math.ceil(n.numel / WG)),
    }];
  },
  async ref(n, [a, b]) {
    const { binary } = await import('../ref/binary.ts');
    return binary(n.attrs.kind, a, n.inputs[0].shape, b, n.inputs[1].shape);
  },
});
