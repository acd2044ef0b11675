// Row gathers (kernels/embedding.wgsl):
//   embedding(ids [...] i32, table [V, D]) -> [..., D]          (token / position embeddings)
//   gatherRows(x [B, N, D], idx [B] i32) -> [B, D], row idx[b] of batch b (e.g. CLIP's pooled EOS)
// Out-of-range indices give zero rows. A table over one storage binding (lavapipe: 128 MiB;
// SD-Turbo's 49408x1024 token table is 202 MB in f32) is read in row slabs, one call each.
import { badShapes, type Node } from '../graph/graph.ts';
import { EngineError } from '../errors.ts';
import { grid1d } from '../gpu/facts.ts';
import { byteSize } from '../tensor/dtype.ts';
import { defineOp, u32, type KernelCall } from './registry.ts';

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
  encode(n, ctx) {
    const [src, ids] = n.inputs;
    const d = n.dim(-1), vec4 = d % 4 === 0;
    const total = vec4 ? n.numel / 4 : n.numel;
    const rows: number = n.attrs.limit;
    const call = (table: KernelCall['buffers'][number], lo: number, count: number): KernelCall => ({
      kernel: { name: 'embedding', defines: { VEC4: vec4 }, constants: { WG } },
      buffers: [table, ids, n],
      params: [u32(total), u32(vec4 ? d / 4 : d), u32(n.attrs.stride), u32(rows), u32(lo), u32(count)],
      grid: grid1d(Math.ceil(total / WG)),
    });
    const bytes = byteSize(src.shape, src.dtype);
    if (bytes <= ctx.maxBindingBytes || n.attrs.stride !== 0) return [call(src, 0, rows)];
    // Slabs of whole rows starting on 256-byte boundaries (storage offset alignment).
    const rowBytes = bytes / rows;
    const align = 256 / gcd(rowBytes, 256);
    const per = Math.floor(ctx.maxBindingBytes / rowBytes / align) * align;
    if (per < 1) throw new EngineError(`${n.label}: embedding rows of ${rowBytes} bytes do not fit one storage binding of ${ctx.maxBindingBytes}`);
    const calls: KernelCall[] = [];
    for (let lo = 0; lo < rows; lo += per) {
      const count = Math.min(per, rows - lo);
      calls.push(call({ node: src, byteOffset: lo * rowBytes, bytes: count * rowBytes }, lo, count));
    }
    return calls;
  },
  async ref(n, [src, idx]) {
    const { gather } = await import('../ref/embedding.ts');
    return gather(src, idx, n.dim(-1), n.attrs.stride, n.attrs.limit);
  },
});

function gcd(a: number, b: number): number { return b ? gcd(b, a % b) : a; }
