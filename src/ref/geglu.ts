// CPU reference for GEGLU: rows of 2F values -> hidden[j] * gelu(gate[j]), gelu exact (erf).
import { geluErf } from './unary.ts';

export function geglu(x: ArrayLike<number>, f: number): Float32Array {
  const rows = x.length / (2 * f);
  const out = new Float32Array(rows * f);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) out[r * f + j] = x[r * 2 * f + j] * geluErf(x[r * 2 * f + f + j]);
  }
  return out;
}
