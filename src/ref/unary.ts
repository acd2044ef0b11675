// CPU references for the elementwise activations, in float64 from their definitions.
export type UnaryKind = 'scale' | 'silu' | 'gelu' | 'geluTanh' | 'quickGelu' | 'relu' | 'tanh' | 'clamp';

/** erf in float64: Maclaurin series near 0, Lentz continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // erf x = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = a, sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const d = term / (2 * n + 1);
      sum += d;
      if (Math.abs(d) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (a > 10) return Math.sign(x);
  return Math.sign(x) * (1 - erfcTail(a));
}

// erfc(a), a >= 2.5: exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))).
function erfcTail(a: number): number {
  const tiny = 1e-300;
  let f = a, C = a, D = 0;
  for (let k = 1; k < 300; k++) {
    const ak = k / 2;
    D = a + ak * D;
    if (Math.abs(D) < tiny) D = tiny;
    C = a + ak / C;
    if (Math.abs(C) < tiny) C = tiny;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
}

export const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const geluErf = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

export function unaryScalar(kind: UnaryKind, v: number, s = 1, bias = 0): number {
  switch (kind) {
    case 'scale': return v * s + bias;
    case 'silu': return v * sigmoid(v);
    case 'gelu': return geluErf(v);
    case 'geluTanh': return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'quickGelu': return v * sigmoid(1.702 * v);
    case 'relu': return v > 0 ? v : 0;
    case 'tanh': return Math.tanh(v);
    case 'clamp': return Math.min(Math.max(v, -s), s);
  }
}

export function unary(kind: UnaryKind, x: ArrayLike<number>, s = 1, bias = 0): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = unaryScalar(kind, x[i], s, bias);
  return out;
}
