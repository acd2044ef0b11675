import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmul, linear, MATMUL_VARIANTS } from '../../src/ops/matmul.ts';
import { matmul as ref } from '../../src/ref/matmul.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { device, rand, roundF16, runGraph } from '../util/gpu.ts';
import { Executable } from '../../src/graph/run.ts';
import { linearQ8 } from '../../src/ref/matmul.ts';
import { dequantizeQ8_0, quantizeQ8_0 } from '../../src/tensor/q8_0.ts';
import { memorySource } from '../../src/io/views.ts';
import { getOp } from '../../src/ops/registry.ts';

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

// q8_0 weights (GGML block_q8_0), dequantized inside the kernel: against the naive
// block-decoding reference, which uses exactly the stored weights, so the tolerance is
// the float one; odd M and N exercise the clamped/masked paths.
const q8Cases: [number[], number, boolean][] = [[[5, 32], 3, true], [[2, 3, 64], 8, false], [[70, 96], 66, true]];
for (const variant of MATMUL_VARIANTS) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`linear ${variant} ${dtype} with a q8_0 weight`, async () => {
      for (const [xs, N, withBias] of dtype === 'f32' ? q8Cases : q8Cases.slice(0, 2)) {
        const K = xs[xs.length - 1];
        let x = rand(numel(xs), 6), bias = rand(N, 7);
        if (dtype === 'f16') [x, bias] = [roundF16(x), roundF16(bias)];
        const blocks = quantizeQ8_0(rand(N * K, 8, 0.3));
        const w = memorySource('w', 'Q8_0', [N, K], blocks);
        const out = await runGraph(dtype, (g) => ({
          y: linear(g.input('x', xs), g.weight(w, 'q8_0'), withBias ? g.input('bias', [N]) : null, { variant }),
        }), withBias ? { x, bias } : { x });
        const exp = linearQ8(x, numel(xs) / K, K, blocks, N, withBias ? bias : null);
        const [atol, rtol] = dtype === 'f32' ? [1e-5 * K, 1e-5] : [2e-3 * Math.sqrt(K), 2e-3];
        const r = assertClose(`linear q8_0 ${variant} ${dtype} [${xs}]->${N}`, out.y, exp, atol, rtol);
        if (process.env.VERBOSE) console.log(`q8_0 ${variant} ${dtype} [${xs}]->${N}: max |diff| ${r.maxAbs.toExponential(2)}`);
      }
    });
  }
}

test('q8_0 blocks: GGML quantization, and the two CPU decoders agree', () => {
  // x = i - 16 in one block: amax 16, d = 16/127, q = round(x * 127/16), half away from zero
  const x = Float32Array.from({ length: 32 }, (_, i) => i - 16);
  const b = quantizeQ8_0(x);
  assert.is(b.length, 34);
  assert.is(new DataView(b.buffer).getUint16(0, true), 0x3008); // f16(0.1259842) = 0x3008
  const q = Array.from(new Int8Array(b.buffer, 2, 32));
  assert.equal(q.slice(0, 4), [-127, -119, -111, -103]);
  assert.is(q[16], 0);
  assert.is(q[31], 119); // 15 * 7.9375 = 119.06
  const w = rand(4 * 64, 9);
  const blocks = quantizeQ8_0(w);
  const deq = dequantizeQ8_0(blocks, w.length);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(deq[i] - w[i]) <= 1 / 127 / 2 + 1e-3, `|w - deq| at ${i}`);
  const xin = rand(3 * 64, 10);
  assertClose('linearQ8 vs dequantize + matmul', linearQ8(xin, 3, 64, blocks, 4), ref(xin, [3, 64], deq, [4, 64], true), 1e-5);
});

test('validate mode reads a q8_0 weight back dequantized and checks the q8_0 linear', async () => {
  const g = new Graph('f32');
  const blocks = quantizeQ8_0(rand(8 * 64, 11));
  g.output('y', linear(g.input('x', [3, 64]), g.weight(memorySource('w', 'Q8_0', [8, 64], blocks), 'q8_0'), null));
  const ex = await Executable.compile(await device(), g, { validate: true });
  try {
    assert.is(ex.memory.weights, 8 * 2 * 34); // blocks, not 8 x 64 floats
    await ex.run({ x: rand(3 * 64, 12) }); // throws if the GPU result diverges from the reference
  } finally {
    ex.destroy();
  }
});

test('q8_0 weight with rows that are not whole blocks fails at build time', () => {
  const g = new Graph();
  assert.throws(() => linear(g.input('x', [2, 40]), g.input('w', [5, 40], 'q8_0' as any), null), /linear.*40 values are not whole 32-value blocks/);
  assert.throws(() => g.weight(memorySource('w2', 'F32', [2, 32], new Uint8Array(256)), 'q8_0'), /q8_0 storage needs a q8_0 tensor/);
});

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

test('matmul subgroup: an adapter without subgroups gets an error naming the node and the feature', () => {
  const g = new Graph('f32');
  const y = matmul(g.input('a', [4, 8]), g.input('b', [8, 4]), { variant: 'subgroup' });
  const ctx = { isSoftware: true, hasSubgroups: false, hasF16: false, maxWorkgroupStorage: 16384, maxBindingBytes: 2 ** 27, variants: {} };
  assert.throws(() => getOp('matmul').encode(y, ctx), (e: unknown) => e instanceof Error && /matmul variant 'subgroup' needs the adapter feature 'subgroups'/.test(e.message) && e.message.includes(y.label));
});

test.run();
