import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmsNorm } from '../../src/ops/rms_norm.ts';
import { VARIANTS } from '../../src/ops/variant.ts';
import { rmsNorm as ref } from '../../src/ref/rms_norm.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const shapes = [[1], [3, 5], [2, 7, 77], [9, 512], [2, 1031], [150, 21]];

for (const variant of VARIANTS.rms_norm) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`rms_norm ${variant} ${dtype}`, async () => {
      for (const shape of shapes) {
        const d = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
        let x = rand(n, n + 5, 3), w = rand(d, 11, 2);
        if (dtype === 'f16') [x, w] = [roundF16(x), roundF16(w)];
        const eps = 1e-6;
        const out = await runGraph(dtype, (g) => ({ y: rmsNorm(g.input('x', shape), g.input('w', [d]), eps, { variant }) }), { x, w });
        // f32: f32 sums; f16: output rounding on values up to ~|x|/rms * |w| ~ 4.
        const [atol, rtol] = dtype === 'f32' ? [1e-5, 1e-5] : [4e-3, 2e-3];
        assertClose(`rms_norm ${variant} ${dtype} [${shape}]`, out.y, ref(x, d, w, eps), atol, rtol);
      }
    });
  }
}

test('rms_norm rejects a weight of another dtype at build time', () => {
  const g = new Graph('f16');
  assert.throws(() => rmsNorm(g.input('x', [2, 8]), g.input('w', [8], 'f32'), 1e-6),
    /rms_norm: weight dtype must match the input \(got \[2, 8\] f16 and \[8\] f32\)/);
});

test.run();
