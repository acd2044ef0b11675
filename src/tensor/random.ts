// Deterministic pseudo-random data for tests and benchmarks (xorshift32): the same seed
// gives the same values on every run, so results and timings are comparable. Not the
// generation noise: that is src/pipeline/rng.ts (torch/numpy-exact).
export function seededUniform(n: number, seed = 1, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
