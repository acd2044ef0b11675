// Row gathers (kernels/embedding.wgsl):
//   embedding(ids [...] i32, table [V, D]) -> [..., D]          (token / position embeddings)
//   gatherRows(x [B, N, D], idx [B] i32) -> [B, D], row idx[b] of batch b (e.g. CLIP's pooled EOS)
// Out-of-range indices give zero rows.
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32 } from './registry.ts';

const WG = 256;

export function embedding(ids: Node, table: Node): Node {
  if (ids.dtype !== 'i32') badShapes('embedding', 'ids must be i32', ids, table);
  if (table.rank !== 2 || (table.dtype !== 'f32' && table.dtype !== 'f16')) badShapes('embedding', 'table must be a float [V, D] tensor', ids, table);
  return ids.graph.add('embedding', [table, ids], [...ids.shape, table.dim(1)], table.dtype, { stride: 0, limit: table.dim(0) });
}

export function gatherRows(x: Node, idx: Node): Node {
  if (x.rank !== 3 || (x.dtype !== 'f32' && x.dtype !== 'f16')) badShapes('gatherRows', 'x must be a float [B, N, D] tensor', x, idx);
  if (idx.dtype !== 'i32' || idx.rank !== 1 || idx.dim(0) !== x.dim(0)) badShapes('gatherRows', `idx must be i32 [${x.dim(0)}] (one row per batch)`, x, idx);
  return x.graph.add('embedding', [x, idx], [x.dim(0), x.dim(2)], x.dtype, { stride: x.dim(1), limit: x.dim(1) });
}

defineOp({
  name: 'embedding',
  encode(n) {
    const d = n.dim(-1), vec4 = d % 4 === 0;
    const total = vec4 ? n.numel / 4 : n.numel;
    return [{
      kernel: { name: 'embedding', defines: { VEC4: vec4 }, constants: { WG } },
      buffers: [n.inputs[0], n.inputs[1], n],
      params: [u32(total), u32(vec4 ? d / 4 : d), u32(n.attrs.stride), u32(n.attrs.limit)],
      grid: grid1d(Math.ceil(total / WG)),
    }];
  },
  async ref(n, [src, idx]) {
    const { gather } = await import('../ref/embedding.ts');
    return gather(src, idx, n.dim(-1), n.attrs.stride, n.attrs.limit);
  },
});
