import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embedding, gatherRows } from '../../src/ops/embedding.ts';
import { gather } from '../../src/ref/embedding.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

for (const dtype of ['f32', 'f16'] as const) {
  test(`embedding ${dtype}`, async () => {
    // D odd (scalar path) and D % 4 == 0 (vec4); ids [2, 5] and [77]; includes out-of-range ids.
    for (const [V, D, idShape] of [[11, 7, [2, 5]], [49, 32, [77]], [3, 1, [4]]] as [number, number, number[]][]) {
      let table = rand(V * D, V + D);
      if (dtype === 'f16') table = roundF16(table);
      const n = idShape.reduce((a, b) => a * b, 1);
      const ids = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % V);
      ids[n - 1] = V; // out of range -> zeros
      if (n > 2) ids[1] = -1;
      const out = await runGraph(dtype, (g) => ({ y: embedding(g.input('ids', idShape, 'i32'), g.input('table', [V, D])) }), { ids, table });
      assertClose(`embedding ${dtype} V=${V} D=${D}`, out.y, gather(table, ids, D, 0, V), 0, 0); // a copy: exact
    }
  });

  test(`gatherRows ${dtype}`, async () => {
    for (const [B, N, D] of [[2, 77, 32], [3, 5, 9], [1, 1, 4]]) {
      let x = rand(B * N * D, B + N + D);
      if (dtype === 'f16') x = roundF16(x);
      const idx = Int32Array.from({ length: B }, (_, b) => (b * 31 + N - 1) % N);
      const out = await runGraph(dtype, (g) => ({ y: gatherRows(g.input('x', [B, N, D]), g.input('idx', [B], 'i32')) }), { x, idx });
      const want = gather(x, idx, D, N, N);
      assertClose(`gatherRows ${dtype} [${B}, ${N}, ${D}]`, out.y, want, 0, 0);
      assertClose('gatherRows row 0 by hand', out.y.slice(0, D), x.slice(idx[0] * D, idx[0] * D + D), 0, 0);
    }
  });
}

test('embedding and gatherRows reject bad index tensors at build time', () => {
  const g = new Graph();
  assert.throws(() => embedding(g.input('ids', [4]), g.input('table', [10, 8])), /embedding: ids must be i32 \(got \[4\] f32 and \[10, 8\] f32\)/);
  assert.throws(() => gatherRows(g.input('x', [2, 5, 8]), g.input('idx', [3], 'i32')), /gatherRows: idx must be i32 \[2\]/);
});

test.run();
