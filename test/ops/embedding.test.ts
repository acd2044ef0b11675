import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embedding, gatherRows } from '../../src/ops/embedding.ts';
import { gather } from '../../src/ref/embedding.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { device, rand, roundF16, runGraph } from '../util/gpu.ts';
import { Executable } from '../../src/graph/run.ts';
import { matmul } from '../../src/ops/matmul.ts';

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

test('a table over one storage binding is read in slabs: rows on both sides of the split, zeros outside', async () => {
  const dev = await device();
  const D = 1024, limit = dev.facts.maxBindingBytes;
  const V = Math.floor(limit / (D * 4)) + 1000; // f32: just over one binding (lavapipe: 33768 rows)
  const table = new Float32Array(V * D);
  for (let r = 0; r < V; r++) table.fill(r, r * D, (r + 1) * D); // row r holds r: exact in f32
  const ids = Int32Array.from([0, 1, V - 1, Math.floor(limit / (D * 4)) - 1, Math.floor(limit / (D * 4)), 12345, -1, V]);
  const out = await runGraph('f32', (g) => ({ y: embedding(g.input('ids', [ids.length], 'i32'), g.weight({ name: 'table', shape: [V, D], data: table })) }), { ids });
  assertClose(`embedding over ${limit} bytes`, out.y, gather(table, ids, D, 0, V), 0, 0);
  // A whole-bound tensor that large still fails clearly, before any upload.
  const g = new Graph('f32');
  g.output('y', matmul(g.input('x', [1, V]), g.weight({ name: 'big', shape: [V, D], data: table })));
  try {
    await Executable.compile(dev, g);
    assert.unreachable('compiled a binding over the limit');
  } catch (e) {
    assert.match(String((e as Error).message), new RegExp(`big: tensor \\[${V}, ${D}\\] f32 needs ${V * D * 4} bytes, over the adapter's maxStorageBufferBindingSize`));
  }
});

test.run();
