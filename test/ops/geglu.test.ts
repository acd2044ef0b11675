import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { geglu } from '../../src/ops/geglu.ts';
import { geglu as ref } from '../../src/ref/geglu.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

// [..., 2F]: F odd (scalar path), F % 4 == 0 (vec4 path), several leading dims.
const shapes = [[2], [3, 14], [2, 5, 2 * 37], [77, 2 * 64], [1, 2, 3, 2 * 20]];

for (const dtype of ['f32', 'f16'] as const) {
  test(`geglu ${dtype}`, async () => {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      let x = rand(n, n, 6);
      if (dtype === 'f16') x = roundF16(x);
      const out = await runGraph(dtype, (g) => ({ y: geglu(g.input('x', shape)) }), { x });
      // f32: erfc fit 1.2e-7 relative + exp ulps; f16: one output rounding on values up to ~36.
      const [atol, rtol] = dtype === 'f32' ? [2e-6, 2e-5] : [2e-3, 2e-3];
      assertClose(`geglu ${dtype} [${shape}]`, out.y, ref(x, shape[shape.length - 1] / 2), atol, rtol);
    }
  });
}

test('geglu rejects an odd last dimension at build time', () => {
  const g = new Graph();
  assert.throws(() => geglu(g.input('x', [4, 7])), /geglu: last dimension must be even .*\[4, 7\] f32/);
});

test.run();
