// CPU reference for GroupNorm (NCHW) with optional SiLU, in float64, two passes per group.
export function groupNorm(x: ArrayLike<number>, shape: number[], groups: number, w: ArrayLike<number>, b: ArrayLike<number>,
  eps: number, silu = false): Float32Array {
  const [B, C] = shape;
  const S = x.length / (B * C), cg = C / groups, L = cg * S;
  const out = new Float32Array(x.length);
  for (let bg = 0; bg < B * groups; bg++) {
    const base = bg * L;
    let mean = 0;
    for (let i = 0; i < L; i++) mean += x[base + i];
    mean /= L;
    let v = 0;
    for (let i = 0; i < L; i++) v += (x[base + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / L + eps);
    for (let i = 0; i < L; i++) {
      const c = (bg % groups) * cg + Math.floor(i / S);
      const y = (x[base + i] - mean) * rstd * w[c] + b[c];
      out[base + i] = silu ? y / (1 + Math.exp(-y)) : y;
    }
  }
  return out;
}
