// Data movement: concat, slice, permute (one strided-copy kernel, kernels/copy.wgsl) and
// reshape (a free view of the same storage).
import { badShapes, type Node } from '../graph/graph.ts';
import { EngineError } from '../errors.ts';
import { grid1d } from '../gpu/facts.ts';
import { numel, shapeStr, stridesOf } from '../tensor/dtype.ts';
import { mergeDims } from './broadcast.ts';
import { defineOp, u32, type KernelCall } from './registry.ts';

const WG = 256;
const MAX_RANK = 8;

function axis(x: Node, dim: number, op: string): number {
  const d = dim < 0 ? dim + x.rank : dim;
  if (!Number.isInteger(d) || d < 0 || d >= x.rank) badShapes(op, `dim ${dim} out of range for rank ${x.rank}`, x);
  return d;
}

function checkRank(op: string, ...xs: Node[]): void {
  if (xs.some((x) => x.rank > MAX_RANK)) badShapes(op, `rank above ${MAX_RANK} is not supported`, ...xs);
}

/** Joins `xs` along `dim`; every other dim must match. */
export function concat(xs: Node[], dim: number): Node {
  if (xs.length === 0) throw new EngineError('concat: no inputs');
  const x0 = xs[0];
  const d = axis(x0, dim, 'concat');
  checkRank('concat', ...xs);
  for (const x of xs) {
    if (x.dtype !== x0.dtype) badShapes('concat', 'dtypes differ', ...xs);
    if (x.rank !== x0.rank || x.shape.some((s, i) => i !== d && s !== x0.shape[i])) badShapes('concat', `shapes differ outside dim ${dim}`, ...xs);
  }
  const shape = [...x0.shape];
  shape[d] = xs.reduce((s, x) => s + x.shape[d], 0);
  return x0.graph.add('copy', xs, shape, x0.dtype, { kind: 'concat', dim: d });
}

/** x[..., start:end, ...] along `dim` (negative start/end count from the end, as in Python). */
export function slice(x: Node, dim: number, start: number, end: number): Node {
  const d = axis(x, dim, 'slice');
  checkRank('slice', x);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > size || s >= e) {
    badShapes('slice', `range ${start}:${end} is empty or outside dim ${dim} of size ${size}`, x);
  }
  const shape = [...x.shape];
  shape[d] = e - s;
  return x.graph.add('copy', [x], shape, x.dtype, { kind: 'slice', dim: d, start: s });
}

/** out.shape[i] = x.shape[dims[i]] (torch.permute). */
export function permute(x: Node, dims: number[]): Node {
  checkRank('permute', x);
  const ds = dims.map((d) => (d < 0 ? d + x.rank : d));
  if (ds.length !== x.rank || [...ds].sort((a, b) => a - b).some((d, i) => d !== i)) {
    badShapes('permute', `dims [${dims}] are not a permutation of 0..${x.rank - 1}`, x);
  }
  return x.graph.add('copy', [x], ds.map((d) => x.shape[d]), x.dtype, { kind: 'permute', dims: ds });
}

/** Same data, another shape (one dim may be -1). No copy: a view of x's storage. */
export function reshape(x: Node, shape: number[]): Node {
  const known = shape.filter((s) => s !== -1);
  if (shape.length - known.length > 1) throw new EngineError(`reshape: at most one -1 in ${shapeStr(shape)}`);
  const rest = numel(known);
  const out = shape.map((s) => (s === -1 ? (rest > 0 ? x.numel / rest : NaN) : s));
  if (out.some((s) => !Number.isInteger(s) || s < 0) || numel(out) !== x.numel) badShapes('reshape', `cannot reshape to ${shapeStr(shape)}`, x);
  return x.graph.view(x, out);
}

/** One strided copy of a region: dims with source and destination strides and offsets. */
function copyCall(n: Node, src: Node, dims: number[], ss: number[], ds: number[], so: number, dof: number): KernelCall {
  const m = mergeDims(dims, ss, ds);
  const r = m.dims.length;
  const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(0)].map(u32);
  const chunks = (numel(m.dims) / m.dims[r - 1]) * Math.ceil(m.dims[r - 1] / 4);
  const word = n.dtype === 'i32' || n.dtype === 'u32';
  return {
    kernel: { name: 'copy', defines: { WORD: word }, constants: { WG } },
    buffers: [src, n],
    params: [u32(chunks), u32(r), u32(so), u32(dof), ...pad(m.dims), ...pad(m.strides[0]), ...pad(m.strides[1])],
    grid: grid1d(Math.ceil(chunks / WG)),
  };
}

defineOp({
  name: 'copy',
  encode(n) {
    if (n.numel === 0) return [];
    const a = n.attrs, out = stridesOf(n.shape);
    if (a.kind === 'concat') {
      const calls: KernelCall[] = [];
      let off = 0;
      for (const x of n.inputs) {
        if (x.numel > 0) calls.push(copyCall(n, x, x.shape, stridesOf(x.shape), out, 0, off * out[a.dim]));
        off += x.shape[a.dim];
      }
      return calls;
    }
    const x = n.inputs[0], xs = stridesOf(x.shape);
    if (a.kind === 'slice') return [copyCall(n, x, n.shape, xs, out, a.start * xs[a.dim], 0)];
    return [copyCall(n, x, n.shape, a.dims.map((d: number) => xs[d]), out, 0, 0)];
  },
  async ref(n, ins) {
    const ref = await import('../ref/copy.ts');
    const a = n.attrs, shapes = n.inputs.map((x) => x.shape);
    if (a.kind === 'concat') return ref.concat(ins, shapes, a.dim);
    if (a.kind === 'slice') return ref.slice(ins[0], shapes[0], a.dim, a.start, a.start + n.shape[a.dim]);
    return ref.permute(ins[0], shapes[0], a.dims);
  },
});
