// Summary statistics against textbook values: Student t quantiles, a mean's t interval,
// Wilson score intervals (also at 0 and 1, where the normal interval collapses).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summarizeMean, summarizeRate, t975 } from '../../src/eval/stats.ts';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('t quantiles: table and Cornish-Fisher beyond it', () => {
  near(t975(1), 12.706, 1e-3, 'df 1');
  near(t975(10), 2.228, 1e-3, 'df 10');
  near(t975(40), 2.0211, 2e-4, 'df 40');
  near(t975(60), 2.0003, 2e-4, 'df 60');
  near(t975(120), 1.9799, 2e-4, 'df 120');
});

test('mean, sample std, 95% t interval', () => {
  const m = summarizeMean([2, 4, 4, 4, 5, 5, 7, 9]);
  near(m.mean!, 5, 1e-12, 'mean');
  near(m.std!, Math.sqrt(32 / 7), 1e-12, 'std');
  const h = (2.365 * Math.sqrt(32 / 7)) / Math.sqrt(8);
  near(m.ci95![0], 5 - h, 1e-9, 'lo');
  near(m.ci95![1], 5 + h, 1e-9, 'hi');
  assert.equal(summarizeMean([1]), { n: 1, mean: 1, std: null, ci95: null });
  assert.equal(summarizeMean([]), { n: 0, mean: null, std: null, ci95: null });
});

test('Wilson score interval', () => {
  const r = summarizeRate([...Array(9).fill(true), false]);
  assert.is(r.rate, 0.9);
  near(r.ci95![0], 0.5958, 1e-4, '9/10 lo');
  near(r.ci95![1], 0.9821, 1e-4, '9/10 hi');
  const all = summarizeRate(Array(20).fill(true));
  near(all.ci95![0], 0.8389, 1e-4, '20/20 lo');
  assert.is(all.ci95![1], 1);
  assert.equal(summarizeRate([false, false]).ci95![0], 0);
});

test.run();
