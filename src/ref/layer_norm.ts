// CPU reference for LayerNorm over rows of length n, in float64 (biased variance, like torch).
export function layerNorm(x: ArrayLike<number>, n: number, w: ArrayLike<number> | null, b: ArrayLike<number> | null, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[base + j];
    mean /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (x[base + j] - mean) ** 2;
    v /= n;
    const rstd = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < n; j++) out[base + j] = (x[base + j] - mean) * rstd * (w ? w[j] : 1) + (b ? b[j] : 0);
  }
  return out;
}
