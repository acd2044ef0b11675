import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { layerNorm } from '../../src/ops/layer_norm.ts';
import { VARIANTS } from '../../src/ops/variant.ts';
import { layerNorm as ref } from '../../src/ref/layer_norm.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const shapes = [[1], [3, 5], [2, 7, 77], [9, 320], [2, 1025], [200, 19]];
const affines = [[true, true], [true, false], [false, true], [false, false]];

for (const variant of VARIANTS.layer_norm) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`layer_norm ${variant} ${dtype}`, async () => {
      for (const [k, shape] of shapes.entries()) {
        const [hasW, hasB] = affines[k % 4];
        const d = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
        let x = rand(n, n, 2), w = rand(d, 7, 1.5), b = rand(d, 8);
        for (let i = 0; i < n; i++) x[i] += 5; // offset mean: a one-pass E[x^2]-E[x]^2 would lose digits
        if (dtype === 'f16') [x, w, b] = [roundF16(x), roundF16(w), roundF16(b)];
        const eps = 1e-5;
        const out = await runGraph(dtype, (g) => ({
          y: layerNorm(g.input('x', shape), hasW ? g.input('w', [d]) : null, hasB ? g.input('b', [d]) : null, eps, { variant }),
        }), { x, ...(hasW ? { w } : {}), ...(hasB ? { b } : {}) });
        // f32: f32 sums of up to ~1000 terms; f16: output rounding on values up to ~6.
        const [atol, rtol] = dtype === 'f32' ? [2e-5, 1e-5] : [5e-3, 2e-3];
        assertClose(`layer_norm ${variant} ${dtype} [${shape}] w=${hasW} b=${hasB}`, out.y,
          ref(x, d, hasW ? w : null, hasB ? b : null, eps), atol, rtol);
      }
    });
  }
}

test('layer_norm rejects a weight of the wrong length at build time', () => {
  const g = new Graph();
  assert.throws(() => layerNorm(g.input('x', [2, 8]), g.input('w', [7]), null, 1e-5),
    /layer_norm: weight must be \[8\] \(the last dim of the input\) \(got \[2, 8\] f32 and \[7\] f32\)/);
});

test.run();
