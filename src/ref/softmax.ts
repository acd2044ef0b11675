// CPU reference for softmax over rows of length n, in float64: exp(x - max) / sum.
export function softmax(x: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[base + j] - m);
    for (let j = 0; j < n; j++) out[base + j] = Math.exp(x[base + j] - m) / s;
  }
  return out;
}
