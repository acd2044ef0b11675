// Summary statistics of per-image scores: mean, sample standard deviation, a 95%
// confidence interval of the mean (Student t), and a success rate with its 95% Wilson
// score interval (sound for rates near 0 or 1, where NASA's removal rates sit).
export interface MeanSummary {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n - 1); null below 2 values. */
  std: number | null;
  /** mean -/+ t(0.975, n-1) * std / sqrt(n); null below 2 values. */
  ci95: [number, number] | null;
}

export interface RateSummary {
  n: number;
  successes: number;
  rate: number | null;
  /** Wilson score interval at 95%. */
  ci95: [number, number] | null;
}

// t(0.975, df) for df = 1..30 (standard table values).
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
const Z975 = 1.959963984540054;

/** Student t quantile at 0.975: the table to df 30, then the Cornish-Fisher expansion (error < 1e-4). */
export function t975(df: number): number {
  if (df <= 30) return T975[df - 1];
  const z = Z975, z3 = z ** 3, z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

export function summarizeMean(xs: number[]): MeanSummary {
  const n = xs.length;
  if (!n) return { n, mean: null, std: null, ci95: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, std: null, ci95: null };
  const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const h = (t975(n - 1) * std) / Math.sqrt(n);
  return { n, mean, std, ci95: [mean - h, mean + h] };
}

export function summarizeRate(flags: boolean[]): RateSummary {
  const n = flags.length, k = flags.filter(Boolean).length;
  if (!n) return { n, successes: 0, rate: null, ci95: null };
  const p = k / n, z = Z975, z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { n, successes: k, rate: p, ci95: [Math.max(0, center - half), Math.min(1, center + half)] };
}
