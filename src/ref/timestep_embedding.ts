// CPU reference for diffusers' get_timestep_embedding, in float64, step by step as upstream:
// exponent = -ln(max_period) * arange(half) / (half - shift); emb = scale * t * exp(exponent);
// cat(sin, cos); flip -> cat(cos, sin); odd dim -> one zero column.
export function timestepEmbedding(t: ArrayLike<number>, dim: number, flipSinToCos: boolean, shift: number,
  maxPeriod = 10000, scale = 1): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    const row: number[] = [];
    const args = Array.from({ length: half }, (_, k) => scale * t[n] * Math.exp((-Math.log(maxPeriod) * k) / (half - shift)));
    const sin = args.map(Math.sin), cos = args.map(Math.cos);
    row.push(...(flipSinToCos ? [...cos, ...sin] : [...sin, ...cos]));
    if (dim % 2 === 1) row.push(0);
    out.set(row, n * dim);
  }
  return out;
}
