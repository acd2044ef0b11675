import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { add, sub, mul, div } from '../../src/ops/binary.ts';
import { binary, type BinaryKind } from '../../src/ref/binary.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const fns = { add, sub, mul, div };
const cases: [number[], number[]][] = [
  [[7], [7]],
  [[3, 5, 7], [7]],
  [[2, 1, 6], [1, 5, 1]],
  [[2, 3, 17, 19], [2, 3, 1, 1]],
  [[1], [4, 1, 3]],
  [[1000, 37], [1000, 37]],
];

for (const dtype of ['f32', 'f16'] as const) {
  for (const kind of ['add', 'sub', 'mul', 'div'] as BinaryKind[]) {
    test(`${kind} ${dtype} broadcasting`, async () => {
      for (const [sa, sb] of cases) {
        const na = sa.reduce((x, y) => x * y, 1), nb = sb.reduce((x, y) => x * y, 1);
        let a = rand(na, 1), b = rand(nb, 2);
        if (kind === 'div') b = b.map((v) => (Math.abs(v) < 0.1 ? 0.5 : v));
        if (dtype === 'f16') [a, b] = [roundF16(a), roundF16(b)];
        const out = await runGraph(dtype, (g) => ({ y: fns[kind](g.input('a', sa), g.input('b', sb)) }), { a, b });
        const tol = dtype === 'f32' ? [1e-6, 1e-6] : [2e-3, 2e-3];
        assertClose(`${kind} [${sa}]x[${sb}]`, out.y, binary(kind, a, sa, b, sb), tol[0], tol[1]);
      }
    });
  }
}

test('shape mismatch fails at build time naming the op and shapes', () => {
  const g = new Graph();
  assert.throws(() => add(g.input('a', [2, 3]), g.input('b', [4])), /binary|add.*\[2, 3\].*\[4\]/);
});

test('large 1D dispatch spans more than 65535 workgroups', async () => {
  const n = 65536 * 256 + 3;
  const a = rand(n, 3), b = rand(1, 4);
  const out = await runGraph('f32', (g) => ({ y: add(g.input('a', [n]), g.input('b', [1])) }), { a, b });
  assertClose('add big', out.y, a.map((v) => v + b[0]), 1e-6, 1e-6);
});

test.run();
