// geglu(x [..., 2F]) -> [..., F]: first half times exact GELU of the second half (kernels/geglu.wgsl).
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32 } from './registry.ts';

const WG = 256;

export function geglu(x: Node): Node {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('geglu', 'expected a float tensor', x);
  if (x.rank < 1 || x.dim(-1) % 2 !== 0) badShapes('geglu', 'last dimension must be even (hidden and gate halves)', x);
  return x.graph.add('geglu', [x], [...x.shape.slice(0, -1), x.dim(-1) / 2], x.dtype);
}

defineOp({
  name: 'geglu',
  encode(n) {
    const f = n.dim(-1);
    const vec4 = f % 4 === 0;
    const units = vec4 ? n.numel / 4 : n.numel;
    return [{
      kernel: { name: 'geglu', defines: { VEC4: vec4 }, constants: { WG } },
      buffers: [n.inputs[0], n],
      params: [u32(units), u32(vec4 ? f / 4 : f)],
      grid: grid1d(Math.ceil(units / WG)),
    }];
  },
  async ref(n, [x]) {
    const { geglu } = await import('../ref/geglu.ts');
    return geglu(x, n.dim(-1));
  },
});
