import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nag } from '../../src/ops/nag.ts';
import { nag as nagRef } from '../../src/ref/nag.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

for (const dtype of ['f32', 'f16'] as const) {
  test(`nag ${dtype} matches the reference (clipped and unclipped rows, odd C)`, async () => {
    for (const [B, N, C, s, tau, alpha] of [[1, 5, 7, 4, 2.5, 0.5], [2, 13, 320, 3, 1.1, 0.25], [1, 3, 130, 5, 100, 1]]) {
      let zp = rand(B * N * C, 1), zn = rand(B * N * C, 2, 3);
      if (dtype === 'f16') [zp, zn] = [roundF16(zp), roundF16(zn)];
      const out = await runGraph(dtype, (g) => ({ y: nag(g.input('p', [B, N, C]), g.input('n', [B, N, C]), { scale: s, tau, alpha }) }), { p: zp, n: zn });
      const tol = dtype === 'f32' ? 1e-5 : 2e-2;
      assertClose(`nag ${B}x${N}x${C}`, out.y, nagRef(zp, zn, B * N, C, s, tau, alpha), tol, tol);
    }
  });
}

test('nag with scale 1 returns the positive output; zero rows give no NaN', async () => {
  const zp = rand(40, 3); zp.fill(0, 0, 8);
  const zn = rand(40, 4);
  const out = await runGraph('f32', (g) => ({ y: nag(g.input('p', [5, 8]), g.input('n', [5, 8]), { scale: 1, tau: 2.5, alpha: 0.5 }) }), { p: zp, n: zn });
  assertClose('nag s=1', out.y, zp, 1e-6, 0);
});

test('nag rejects mismatched shapes and tau <= 0 at build time', () => {
  const g = new Graph();
  assert.throws(() => nag(g.input('a', [2, 3]), g.input('b', [2, 4]), { scale: 3, tau: 2.5, alpha: 0.5 }), /nag.*\[2, 3\].*\[2, 4\]/);
  assert.throws(() => nag(g.input('c', [2, 3]), g.input('d', [2, 3]), { scale: 3, tau: 0, alpha: 0.5 }), /tau/);
});

test.run();
