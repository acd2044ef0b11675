// CPU reference for NAG, written from the paper's formula (see kernels/nag.wgsl header):
// per row, g = s*zp - (s-1)*zn, r = |g|_1/|zp|_1, out = alpha*g*min(r,tau)/r + (1-alpha)*zp.
export function nag(zp: ArrayLike<number>, zn: ArrayLike<number>, rows: number, C: number, s: number, tau: number, alpha: number): Float32Array {
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    const g = new Float64Array(C);
    let ng = 0, np = 0;
    for (let c = 0; c < C; c++) {
      const a = zp[r * C + c];
      g[c] = s * a - (s - 1) * zn[r * C + c];
      ng += Math.abs(g[c]);
      np += Math.abs(a);
    }
    const ratio = ng / np;
    const factor = np === 0 ? (ng === 0 ? 1 : 0) : ratio === 0 ? 1 : Math.min(ratio, tau) / ratio;
    for (let c = 0; c < C; c++) out[r * C + c] = alpha * g[c] * factor + (1 - alpha) * zp[r * C + c];
  }
  return out;
}
