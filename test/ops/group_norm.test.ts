import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupNorm } from '../../src/ops/group_norm.ts';
import { VARIANTS } from '../../src/ops/variant.ts';
import { groupNorm as ref } from '../../src/ref/group_norm.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

// [shape, groups]: odd spatial (scalar path), S % 4 == 0 (vec4 path), 1-D spatial, no spatial
// dims, one group per channel, spatial sizes below/above the workgroup (256), and the SD size
// 32 groups x 320 channels x 64x64.
const cases: [number[], number][] = [
  [[1, 6, 5, 7], 3], [[2, 8, 4, 4], 4], [[1, 4, 3], 2], [[2, 64, 9, 11], 32], [[1, 5, 13], 5], [[3, 12], 4],
  [[1, 6, 17, 19], 2], [[1, 320, 64, 64], 32],
];

for (const variant of VARIANTS.group_norm) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`group_norm ${variant} ${dtype}`, async () => {
      for (const [k, [shape, groups]] of cases.entries()) {
        const silu = k % 2 === 1;
        const C = shape[1], n = shape.reduce((a, b) => a * b, 1);
        let x = rand(n, n + groups, 2), w = rand(C, 3, 1.5), b = rand(C, 4);
        // A mean far from zero: statistics must not lose the variance to cancellation.
        const offset = k % 3 === 0 ? 20 : 0;
        for (let i = 0; i < n; i++) x[i] += offset;
        if (dtype === 'f16') [x, w, b] = [roundF16(x), roundF16(w), roundF16(b)];
        const eps = 1e-5;
        const out = await runGraph(dtype, (g) => ({
          y: groupNorm(g.input('x', shape), groups, g.input('w', [C]), g.input('b', [C]), eps, { silu, variant }),
        }), { x, w, b });
        // f32: f32 sums over up to 40960 values; f16: output rounding on values up to ~6.
        const [atol, rtol] = dtype === 'f32' ? [3e-5, 1e-5] : [5e-3, 2e-3];
        assertClose(`group_norm ${variant} ${dtype} [${shape}] G=${groups} silu=${silu} offset=${offset}`, out.y,
          ref(x, shape, groups, w, b, eps, silu), atol, rtol);
      }
    });
  }
}

test('group_norm rejects groups that do not divide the channels at build time', () => {
  const g = new Graph();
  const x = g.input('x', [1, 10, 4, 4]);
  assert.throws(() => groupNorm(x, 4, g.input('w', [10]), g.input('b', [10]), 1e-5),
    /group_norm: 4 groups must divide the 10 channels \(got \[1, 10, 4, 4\] f32\)/);
  assert.throws(() => groupNorm(x, 5, g.input('w2', [5]), g.input('b2', [10]), 1e-5), /group_norm: weight must be \[10\]/);
});

test.run();
