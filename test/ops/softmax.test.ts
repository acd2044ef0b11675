import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { softmax } from '../../src/ops/softmax.ts';
import { VARIANTS } from '../../src/ops/variant.ts';
import { softmax as ref } from '../../src/ref/softmax.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

// Rows shorter and longer than the workgroup (256), odd lengths, one long row, many rows.
const shapes = [[1], [5, 3], [2, 3, 77], [7, 257], [1, 1000], [3, 2049], [300, 33]];

for (const variant of VARIANTS.softmax) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`softmax ${variant} ${dtype}`, async () => {
      for (const shape of shapes) {
        const n = shape.reduce((a, b) => a * b, 1);
        let x = rand(n, n + 1, 8);
        x[0] += 30; // one dominant logit: the max subtraction must hold
        if (dtype === 'f16') x = roundF16(x);
        const out = await runGraph(dtype, (g) => ({ y: softmax(g.input('x', shape), { variant }) }), { x });
        // f32: exp ulps and f32 sums; f16: output rounding (2^-11 relative on values <= 1).
        const [atol, rtol] = dtype === 'f32' ? [1e-7, 1e-5] : [2e-5, 2e-3];
        assertClose(`softmax ${variant} ${dtype} [${shape}]`, out.y, ref(x, shape[shape.length - 1]), atol, rtol);
      }
    });
  }

  test(`softmax ${variant} with -inf (masked) entries`, async () => {
    const x = rand(4 * 300, 9, 3);
    for (let i = 0; i < x.length; i += 3) x[i] = -Infinity;
    x[1] = -Infinity; // row 0 starts with two masked entries
    const out = await runGraph('f32', (g) => ({ y: softmax(g.input('x', [4, 300]), { variant }) }), { x });
    assertClose(`softmax ${variant} masked`, out.y, ref(x, 300), 1e-7, 1e-5);
  });
}

test('softmax rejects a scalar at build time', () => {
  const g = new Graph();
  assert.throws(() => softmax(g.input('x', [])), /softmax: expected at least one dimension \(got \[\] f32\)/);
});

test.run();
