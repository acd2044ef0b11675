// Numpy broadcasting shared by the elementwise ops and their CPU references.
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Strides of `shape` read as `out`-shaped: 0 where broadcast, right-aligned. */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const s = new Array(out.length).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const k = out.length - shape.length + i;
    s[k] = shape[i] === 1 && out[k] !== 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

/** Merges adjacent dims that broadcast alike, so kernels see the smallest rank. */
export function mergeDims(dims: number[], ...strides: number[][]): { dims: number[]; strides: number[][] } {
  const od: number[] = [], os: number[][] = strides.map(() => []);
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const k = od.length - 1;
    if (k >= 0 && strides.every((s, j) => s[i] * dims[i] === os[j][k] || (s[i] === 0 && os[j][k] === 0))) {
      od[k] *= dims[i];
      strides.forEach((s, j) => (os[j][k] = s[i]));
    } else {
      od.push(dims[i]);
      strides.forEach((s, j) => os[j].push(s[i]));
    }
  }
  if (od.length === 0) return { dims: [1], strides: strides.map(() => [0]) };
  return { dims: od, strides: os };
}
