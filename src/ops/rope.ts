// rope(x, cos, sin, heads) (kernels/rope.wgsl): rotary position embedding on packed heads
// with interleaved pairs, as FLUX applies it to q and k. The tables come from the caller
// (FluxPosEmbed computes them on the host in float64 and rounds them to f32), so the op
// stays position-agnostic; they stay f32 even in f16 graphs, as diffusers keeps them.
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32 } from './registry.ts';

const WG = 256;

/** x [B, N, heads*D], cos/sin [N, D] f32 -> [B, N, heads*D]. */
export function rope(x: Node, cos: Node, sin: Node, heads: number): Node {
  const why = (s: string): never => badShapes('rope', s, x, cos, sin);
  if (x.rank !== 3 || (x.dtype !== 'f32' && x.dtype !== 'f16')) why('x must be a float [B, N, heads*D]');
  if (!Number.isInteger(heads) || heads < 1 || x.dim(2) % heads) why(`x's last dim must split into heads=${heads}`);
  const D = x.dim(2) / heads;
  if (D % 2) why(`head size ${D} must be even (rotated in pairs)`);
  for (const t of [cos, sin]) {
    if (t.dtype !== 'f32' || t.rank !== 2 || t.dim(0) !== x.dim(1) || t.dim(1) !== D) why(`cos and sin must be f32 [${x.dim(1)}, ${D}] (one row per token)`);
  }
  return x.graph.add('rope', [x, cos, sin], x.shape, x.dtype, { heads });
}

defineOp({
  name: 'rope',
  encode(n) {
    const [x, cos] = n.inputs;
    const pairs = n.numel / 2;
    return [{
      kernel: { name: 'rope', constants: { WG } },
      buffers: [x, cos, n.inputs[2], n],
      params: [u32(pairs), u32(x.dim(1)), u32(x.dim(2)), u32(cos.dim(1))],
      grid: grid1d(Math.ceil(pairs / WG)),
    }];
  },
  async ref(n, [x, cos, sin]) {
    const { rope } = await import('../ref/rope.ts');
    return rope(x, n.shape, cos, sin, n.attrs.heads);
  },
});
