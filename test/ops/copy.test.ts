import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concat, slice, permute, reshape } from '../../src/ops/copy.ts';
import * as ref from '../../src/ref/copy.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const data = (s: number[], seed: number, dtype: 'f32' | 'f16') => (dtype === 'f16' ? roundF16(rand(size(s), seed)) : rand(size(s), seed));

// Copies are exact in every dtype: tolerance 0.
for (const dtype of ['f32', 'f16'] as const) {
  test(`concat ${dtype}`, async () => {
    const cases: [number[][], number][] = [
      [[[3], [5], [1]], 0],
      [[[2, 3, 5], [2, 4, 5]], 1],
      [[[2, 3, 5], [2, 3, 7], [2, 3, 1]], -1],
      [[[1, 7, 9, 9], [3, 7, 9, 9]], 0],
      [[[2, 13, 5, 7], [2, 6, 5, 7]], 1], // UNet skip connection: channels of NCHW
    ];
    for (const [shapes, dim] of cases) {
      const xs = shapes.map((s, i) => data(s, 50 + i, dtype));
      const inputs = Object.fromEntries(xs.map((x, i) => [`x${i}`, x]));
      const out = await runGraph(dtype, (g) => ({ y: concat(shapes.map((s, i) => g.input(`x${i}`, s)), dim) }), inputs);
      const d = dim < 0 ? dim + shapes[0].length : dim;
      assertClose(`concat ${dtype} ${JSON.stringify(shapes)} dim ${dim}`, out.y, ref.concat(xs, shapes, d), 0, 0);
    }
  });

  test(`slice ${dtype}`, async () => {
    const cases: [number[], number, number, number][] = [
      [[10], 0, 3, 7],
      [[4, 9, 5], 1, 2, 9],
      [[4, 9, 5], -1, 1, -1],
      [[2, 3, 7, 5], 0, 1, 2],
      [[2, 3, 7, 5], 2, -4, 7],
      [[3, 2, 11], 2, 0, 11],
    ];
    for (const [i, [s, dim, a, b]] of cases.entries()) {
      const x = data(s, 60 + i, dtype);
      const out = await runGraph(dtype, (g) => ({ y: slice(g.input('x', s), dim, a, b) }), { x });
      const d = dim < 0 ? dim + s.length : dim, n = s[d];
      assertClose(`slice ${dtype} [${s}] dim ${dim} ${a}:${b}`, out.y, ref.slice(x, s, d, a < 0 ? a + n : a, b < 0 ? b + n : b), 0, 0);
    }
  });

  test(`permute ${dtype}`, async () => {
    const cases: [number[], number[]][] = [
      [[5, 7], [1, 0]],
      [[2, 5, 3, 7], [0, 2, 3, 1]], // NCHW -> NHWC
      [[2, 3, 7, 5], [0, 3, 1, 2]], // NHWC -> NCHW
      [[2, 9, 3, 5], [0, 2, 1, 3]], // [B, N, H, D] -> [B, H, N, D]
      [[2, 3, 1, 4, 5, 3], [5, 3, 1, 0, 4, 2]],
      [[3, 4, 5], [0, 1, 2]],
    ];
    for (const [i, [s, dims]] of cases.entries()) {
      const x = data(s, 70 + i, dtype);
      const out = await runGraph(dtype, (g) => ({ y: permute(g.input('x', s), dims) }), { x });
      assertClose(`permute ${dtype} [${s}] by [${dims}]`, out.y, ref.permute(x, s, dims), 0, 0);
    }
  });
}

test('copy ops compose with reshape views', async () => {
  const x = rand(2 * 6 * 35, 80);
  const out = await runGraph('f32', (g) => {
    const v = reshape(g.input('x', [2, 6, 35]), [2, 6, 5, -1]); // [2, 6, 5, 7]
    const p = permute(v, [0, 2, 3, 1]); // [2, 5, 7, 6]
    return { y: reshape(slice(p, -1, 2, 5), [2, -1]), v: reshape(v, [-1]) };
  }, { x });
  assertClose('reshape view', out.v, x, 0, 0);
  const p = ref.permute(x, [2, 6, 5, 7], [0, 2, 3, 1]);
  assertClose('slice(permute(reshape))', out.y, ref.slice(p, [2, 5, 7, 6], 3, 2, 5), 0, 0);
});

test('copy ops move i32 tensors bit for bit', async () => {
  // Within +-2^24 so the f32 CPU reference holds them exactly; negatives check sign bits.
  const ids = Int32Array.from({ length: 3 * 77 }, (_, i) => ((i * 2654435761) | 0) >> 8);
  const out = await runGraph('f32', (g) => {
    const t = g.input('ids', [3, 77], 'i32');
    return { s: slice(t, 1, 5, 40), c: concat([t, t], 0), p: permute(t, [1, 0]) };
  }, { ids });
  assert.ok(out.s instanceof Int32Array);
  assert.equal(Array.from(out.s), Array.from(ref.slice(ids, [3, 77], 1, 5, 40)));
  assert.equal(Array.from(out.c), [...ids, ...ids]);
  assert.equal(Array.from(out.p), Array.from(ref.permute(ids, [3, 77], [1, 0])));
});

test('copy ops reject bad arguments at build time', () => {
  const g = new Graph();
  const x = g.input('x', [2, 3, 4]);
  assert.throws(() => concat([x, g.input('y', [2, 5, 5])], 1), /concat.*shapes differ outside dim 1.*\[2, 3, 4\].*\[2, 5, 5\]/);
  assert.throws(() => concat([x, g.input('z', [2, 3, 4], 'i32')], 0), /concat.*dtypes differ/);
  assert.throws(() => slice(x, 1, 2, 2), /slice.*range 2:2/);
  assert.throws(() => slice(x, 3, 0, 1), /slice.*dim 3 out of range/);
  assert.throws(() => permute(x, [0, 0, 1]), /permute.*not a permutation/);
  assert.throws(() => reshape(x, [5, -1]), /reshape.*cannot reshape to \[5, -1\]/);
  assert.throws(() => reshape(x, [-1, -1]), /reshape: at most one -1/);
});

test.run();
