import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph } from '../../src/graph/graph.ts';
import { rope } from '../../src/ops/rope.ts';
import { rope as ref } from '../../src/ref/rope.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

// [B, N, heads, D]: odd token counts, one head, FLUX's 24 heads x 128 on a few tokens.
const cases = [[1, 1, 1, 2], [2, 7, 3, 16], [1, 33, 2, 6], [1, 5, 24, 128]];

for (const dtype of ['f32', 'f16'] as const) {
  test(`rope ${dtype}`, async () => {
    for (const [B, N, H, D] of cases) {
      let x = rand(B * N * H * D, B + N + H + D, 3);
      if (dtype === 'f16') x = roundF16(x);
      // Angles as FLUX makes them: pos * theta^(-2k/D), each value repeated for its pair.
      const cos = new Float32Array(N * D), sin = new Float32Array(N * D);
      for (let n = 0; n < N; n++) for (let j = 0; j < D; j++) {
        const a = (n + 0.5) * 10000 ** (-(j >> 1) * 2 / D);
        cos[n * D + j] = Math.cos(a);
        sin[n * D + j] = Math.sin(a);
      }
      const out = await runGraph(dtype, (g) => ({ y: rope(g.input('x', [B, N, H * D]), g.input('cos', [N, D], 'f32'), g.input('sin', [N, D], 'f32'), H) }), { x, cos, sin });
      const [atol, rtol] = dtype === 'f32' ? [1e-6, 1e-5] : [4e-3, 2e-3];
      assertClose(`rope ${dtype} [${B}, ${N}, ${H}x${D}]`, out.y, ref(x, [B, N, H * D], cos, sin, H), atol, rtol);
    }
  });
}

test('rope keeps norms and rotates pairs, not halves', () => {
  // (1, 0) rotated by 90 degrees is (0, 1) within its own pair.
  const y = ref([1, 0, 0, 1], [1, 1, 4], [0, 0, 1, 1], [1, 1, 0, 0], 1);
  assert.equal(Array.from(y), [0, 1, 0, 1]);
});

test('rope rejects odd heads and mis-shaped tables at build time', () => {
  const g = new Graph('f32');
  const x = g.input('x', [1, 4, 6]);
  assert.throws(() => rope(x, g.input('c', [4, 3], 'f32'), g.input('s', [4, 3], 'f32'), 2), /rope: head size 3 must be even/);
  assert.throws(() => rope(x, g.input('c2', [3, 6], 'f32'), g.input('s2', [3, 6], 'f32'), 1), /cos and sin must be f32 \[4, 6\]/);
});

test.run();
