// CPU references for concat / slice / permute: walk every output index, find its source.
function unravel(i: number, shape: number[]): number[] {
  const idx = new Array(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return idx;
}

function ravel(idx: number[], shape: number[]): number {
  let o = 0;
  for (let k = 0; k < shape.length; k++) o = o * shape[k] + idx[k];
  return o;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function concat(xs: ArrayLike<number>[], shapes: number[][], dim: number): Float32Array {
  const out = [...shapes[0]];
  out[dim] = shapes.reduce((s, x) => s + x[dim], 0);
  const res = new Float32Array(size(out));
  for (let i = 0; i < res.length; i++) {
    const idx = unravel(i, out);
    let j = 0;
    while (idx[dim] >= shapes[j][dim]) idx[dim] -= shapes[j++][dim];
    res[i] = xs[j][ravel(idx, shapes[j])];
  }
  return res;
}

export function slice(x: ArrayLike<number>, shape: number[], dim: number, start: number, end: number): Float32Array {
  const out = [...shape];
  out[dim] = end - start;
  const res = new Float32Array(size(out));
  for (let i = 0; i < res.length; i++) {
    const idx = unravel(i, out);
    idx[dim] += start;
    res[i] = x[ravel(idx, shape)];
  }
  return res;
}

export function permute(x: ArrayLike<number>, shape: number[], dims: number[]): Float32Array {
  const out = dims.map((d) => shape[d]);
  const res = new Float32Array(size(out));
  for (let i = 0; i < res.length; i++) {
    const idx = unravel(i, out);
    const src = new Array(shape.length);
    dims.forEach((d, k) => (src[d] = idx[k]));
    res[i] = x[ravel(src, shape)];
  }
  return res;
}
