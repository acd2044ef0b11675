// CPU reference for RMSNorm (T5LayerNorm) over rows of length n, in float64.
export function rmsNorm(x: ArrayLike<number>, n: number, w: ArrayLike<number>, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let ms = 0;
    for (let j = 0; j < n; j++) ms += x[base + j] ** 2;
    const rs = 1 / Math.sqrt(ms / n + eps);
    for (let j = 0; j < n; j++) out[base + j] = x[base + j] * rs * w[j];
  }
  return out;
}
