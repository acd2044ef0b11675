import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upsampleNearest2x } from '../../src/ops/upsample.ts';
import { upsampleNearest2x as ref } from '../../src/ref/upsample.ts';
import { Graph } from '../../src/graph/graph.ts';
import { getOp } from '../../src/ops/registry.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const shapes = [[1, 1, 1, 1], [2, 3, 5, 7], [1, 5, 9, 9], [2, 17, 13, 11]];

for (const dtype of ['f32', 'f16'] as const) {
  test(`upsampleNearest2x ${dtype}`, async () => {
    for (const [i, s] of shapes.entries()) {
      let x = rand(s.reduce((a, b) => a * b), 40 + i);
      if (dtype === 'f16') x = roundF16(x);
      const out = await runGraph(dtype, (g) => ({ y: upsampleNearest2x(g.input('x', s)) }), { x });
      // A pure copy: exact in either dtype.
      assertClose(`upsample ${dtype} [${s}]`, out.y, ref(x, s), 0, 0);
    }
  });
}

// Running a 4096^2 f16 image on lavapipe costs ~20 s (mostly f16 host conversion), so
// check the encoded dispatch instead: it must cover every element within 65535 per dim.
test('upsample: dispatch of a 4096x4096 image stays within 65535 workgroups per dim', () => {
  const g = new Graph('f16');
  const n = upsampleNearest2x(g.input('x', [1, 1, 4096, 4096]));
  const [call] = getOp('upsample').encode(n, { isSoftware: true, hasSubgroups: false, hasF16: true, maxWorkgroupStorage: 16384, maxBindingBytes: 2 ** 27, variants: {} });
  assert.ok(call.grid.every((d) => d >= 1 && d <= 65535), `grid ${call.grid}`);
  assert.ok(call.grid[0] * call.grid[1] * 256 >= 4096 * 4096, `grid ${call.grid} too small`);
});

test('upsample rejects non-4D input', () => {
  const g = new Graph();
  assert.throws(() => upsampleNearest2x(g.input('x', [3, 8, 8])), /upsample.*\[B, C, H, W\].*\[3, 8, 8\]/);
});

test.run();
