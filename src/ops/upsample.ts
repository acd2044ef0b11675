// upsampleNearest2x(x [B, C, H, W]) -> [B, C, 2H, 2W] (torch interpolate scale 2, 'nearest').
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32 } from './registry.ts';

const WG = 256;

export function upsampleNearest2x(x: Node): Node {
  if (x.rank !== 4) badShapes('upsample', 'expected x [B, C, H, W]', x);
  if (x.dtype !== 'f32' && x.dtype !== 'f16') badShapes('upsample', 'expected a float tensor', x);
  const [B, C, H, W] = x.shape;
  return x.graph.add('upsample', [x], [B, C, 2 * H, 2 * W], x.dtype);
}

defineOp({
  name: 'upsample',
  encode(n) {
    const x = n.inputs[0];
    return [{
      kernel: { name: 'upsample', constants: { WG } },
      buffers: [x, n], params: [x.numel, x.shape[3], 0, 0].map(u32), grid: grid1d(Math.ceil(x.numel / WG)),
    }];
  },
  async ref(n, [x]) {
    const { upsampleNearest2x: ref } = await import('../ref/upsample.ts');
    return ref(x, n.inputs[0].shape);
  },
});
