// CPU reference for row gathers: out row r = src row (r * stride + idx[r]); an index outside
// [0, limit) gives zeros. embedding: stride 0, limit V; gatherRows: stride = limit = N.
export function gather(src: ArrayLike<number>, idx: ArrayLike<number>, d: number, stride: number, limit: number): Float32Array {
  const out = new Float32Array(idx.length * d);
  for (let r = 0; r < idx.length; r++) {
    const id = idx[r];
    if (!(id >= 0 && id < limit)) continue;
    for (let j = 0; j < d; j++) out[r * d + j] = src[(r * stride + id) * d + j];
  }
  return out;
}
