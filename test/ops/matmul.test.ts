import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmul, linear, MATMUL_VARIANTS } from '../../src/ops/matmul.ts';
import { matmul as ref } from '../../src/ref/matmul.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);

// [a shape, b shape, transB]: aligned (vec4 paths) and odd (scalar paths) sizes, broadcasts.
const cases: [number[], number[], boolean][] = [
  [[8, 16], [16, 12], false],
  [[13, 7], [7, 5], false], // nothing aligned
  [[5, 12], [12, 9], false], // VA, not VB/VC
  [[7, 9], [9, 16], false], // VB/VC, not VA
  [[3, 70, 33], [33, 20], false], // batch folded into rows
  [[2, 3, 5, 8], [3, 8, 6], false], // broadcast batch of b
  [[1, 6, 4], [4, 4, 7], false], // broadcast batch of a
  [[2, 1, 9, 11], [1, 3, 11, 4], false], // both broadcast
  [[13, 20], [9, 20], true],
  [[6, 17], [10, 17], true],
  [[2, 3, 67, 40], [2, 3, 24, 40], true],
  [[70, 65], [66, 65], true], // more than one tile each way (SHARED uses 64x64)
];

// f16 differs from f32 only in storage and loads, so it runs a subset covering the
// aligned (vec4) and scalar paths of both layouts: every case is a pipeline for lavapipe
// to compile (LLVM, ~0.5-1 s each on a cold shader cache).
const f16Cases = [0, 1, 8, 11].map((i) => cases[i]);

for (const variant of MATMUL_VARIANTS) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`matmul ${variant} ${dtype}`, async () => {
      for (const [sa, sb, transB] of dtype === 'f32' ? cases : f16Cases) {
        let a = rand(numel(sa), 1), b = rand(numel(sb), 2);
        if (dtype === 'f16') [a, b] = [roundF16(a), roundF16(b)];
        const out = await runGraph(dtype, (g) => ({ y: matmul(g.input('a', sa), g.input('b', sb), { transB, variant }) }), { a, b });
        const K = sa[sa.length - 1];
        // f32: accumulation-order differences; f16: output rounding (~K^0.5 * 2^-11 relative).
        const [atol, rtol] = dtype === 'f32' ? [1e-5 * K, 1e-5] : [2e-3 * Math.sqrt(K), 2e-3];
        assertClose(`${variant} ${dtype} [${sa}]x[${sb}]${transB ? 'T' : ''}`, out.y, ref(a, sa, b, sb, transB), atol, rtol);
      }
    });

    test(`linear ${variant} ${dtype} with and without bias`, async () => {
      const all: [number[], number, boolean][] = [[[2, 5, 12], 9, true], [[7, 33], 20, false], [[3, 4, 16], 8, true], [[11], 3, true]];
      for (const [xs, N, withBias] of dtype === 'f32' ? all : all.slice(1, 3)) {
        const K = xs[xs.length - 1];
        let x = rand(numel(xs), 3), w = rand(N * K, 4), bias = rand(N, 5);
        if (dtype === 'f16') [x, w, bias] = [roundF16(x), roundF16(w), roundF16(bias)];
        const inputs: Record<string, Float32Array> = { x, w };
        if (withBias) inputs.bias = bias;
        const out = await runGraph(dtype, (g) => ({
          y: linear(g.input('x', xs), g.input('w', [N, K]), withBias ? g.input('bias', [N]) : null, { variant }),
        }), inputs);
        const rows = numel(xs) / K;
        const exp = ref(x, [rows, K], w, [N, K], true, withBias ? bias : null);
        const [atol, rtol] = dtype === 'f32' ? [1e-5 * K, 1e-5] : [2e-3 * Math.sqrt(K), 2e-3];
        assertClose(`linear ${variant} ${dtype} [${xs}]->${N}`, out.y, exp, atol, rtol);
      }
    });
  }
}

test('linear output shape keeps leading dims', () => {
  const g = new Graph();
  const y = linear(g.input('x', [2, 3, 8]), g.input('w', [5, 8]), null);
  assert.equal(y.shape, [2, 3, 5]);
});

test('bad shapes fail at build time naming the op and shapes', () => {
  const g = new Graph();
  assert.throws(() => matmul(g.input('a', [2, 3]), g.input('b', [4, 5])), /matmul.*inner.*\[2, 3\].*\[4, 5\]/);
  assert.throws(() => matmul(g.input('c', [2, 3, 4]), g.input('d', [3, 4, 5])), /matmul.*batch/);
  assert.throws(() => linear(g.input('x', [2, 8]), g.input('w', [5, 7]), null), /linear.*in_features/);
  assert.throws(() => linear(g.input('x2', [2, 8]), g.input('w2', [5, 8]), g.input('b2', [4])), /linear.*bias must be \[5\]/);
});

test.run();
