// Tolerance checks for tests: |got - expected| <= atol + rtol*|expected| elementwise.
// A failure names the tensor and prints the largest error, where it is, and both values.
import * as assert from 'uvu/assert';

export interface CloseReport { maxAbs: number; maxAt: number; worstExcess: number; worstAt: number; }

export function closeReport(got: ArrayLike<number>, exp: ArrayLike<number>, atol: number, rtol: number): CloseReport {
  let maxAbs = 0, maxAt = -1, worstExcess = -Infinity, worstAt = -1;
  for (let i = 0; i < exp.length; i++) {
    const g = got[i], e = exp[i];
    const d = Math.abs(g - e);
    const excess = Number.isNaN(d) ? Infinity : d - (atol + rtol * Math.abs(e));
    if (d > maxAbs || Number.isNaN(d)) { maxAbs = Number.isNaN(d) ? NaN : d; maxAt = i; }
    if (excess > worstExcess) { worstExcess = excess; worstAt = i; }
  }
  return { maxAbs, maxAt, worstExcess, worstAt };
}

export function assertClose(name: string, got: ArrayLike<number>, exp: ArrayLike<number>, atol: number, rtol = 1e-3): CloseReport {
  assert.is(got.length, exp.length, `${name}: length ${got.length} != expected ${exp.length}`);
  const r = closeReport(got, exp, atol, rtol);
  if (r.worstExcess > 0) {
    const i = r.worstAt;
    assert.unreachable(
      `${name}: max |diff| ${r.maxAbs} at [${r.maxAt}]; worst vs tolerance at [${i}]: got ${got[i]}, expected ${exp[i]} ` +
      `(atol ${atol}, rtol ${rtol})`,
    );
  }
  return r;
}
