import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, type Pair, type Padding } from '../../src/ops/conv2d.ts';
import { VARIANTS } from '../../src/ops/variant.ts';
import { conv2d as ref } from '../../src/ref/conv2d.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

interface Case { B: number; cin: number; H: number; W: number; cout: number; k: [number, number]; stride: Pair; pad: Padding; bias: boolean; res: boolean }
const c = (B: number, cin: number, H: number, W: number, cout: number, k: number | [number, number], stride: Pair, pad: Padding, bias = true, res = false): Case =>
  ({ B, cin, H, W, cout, k: typeof k === 'number' ? [k, k] : k, stride, pad, bias, res });

// Odd sizes on purpose: channel counts that are not multiples of the kernels' tiles
// (4/8/16 channels direct, 64 gemm), K = cin*kh*kw not a multiple of 16, and pixel
// counts spanning several workgroups with ragged tails.
const cases: Case[] = [
  c(2, 5, 9, 7, 11, 3, 1, 1),
  c(1, 3, 9, 9, 6, 3, 2, 1),
  c(2, 5, 7, 7, 13, 1, 1, 0, false),
  c(1, 4, 9, 9, 8, 3, 2, 0),
  c(2, 3, 7, 9, 3, 3, 2, 1, false),
  c(1, 20, 8, 8, 70, 3, 1, 1),
  c(1, 3, 23, 23, 5, 3, 1, 1),
  c(1, 6, 6, 10, 5, [1, 3], [1, 2], [0, 1]),
  c(2, 7, 11, 9, 17, 3, 2, 0),
  c(1, 4, 9, 7, 6, 3, 2, [0, 1, 0, 1]), // VAE encoder downsample: F.pad(0, 1, 0, 1), stride 2
  c(1, 5, 6, 6, 4, 1, 1, [1, 0, 0, 1], false), // 1x1 with padding: not the pointwise path
  c(1, 512, 134, 134, 6, 3, 1, 1), // winograd: 34^2 = 1156 tiles in bands of 224 (the last 36)
  c(2, 9, 5, 1, 3, 3, 1, 1), // winograd: a one-pixel-wide image, odd height, batch 2
  c(1, 2048, 5, 5, 230, 3, 1, 1), // winograd: u over 64 MiB, output channels in chunks of 224 + 6
  // With a residual added as the output is stored (ResNet blocks), with and without bias.
  c(2, 5, 9, 7, 11, 3, 1, 1, true, true),
  c(1, 20, 8, 8, 70, 3, 1, 1, false, true),
  c(2, 5, 7, 7, 13, 1, 1, 0, false, true), // pointwise
  c(1, 3, 9, 9, 6, 3, 2, 1, true, true),
];

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);
const sides = (v: Padding): [number, number, number, number] =>
  typeof v === 'number' ? [v, v, v, v] : v.length === 2 ? [v[0], v[0], v[1], v[1]] : v;

for (const variant of VARIANTS.conv2d) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`conv2d ${variant} ${dtype}`, async () => {
      for (const [i, k] of cases.entries()) {
        const wShape = [k.cout, k.cin, ...k.k];
        const scale = 1 / Math.sqrt(k.cin * k.k[0] * k.k[1]);
        const [pt, pb, pl, pr] = sides(k.pad), [sh, sw] = pair(k.stride);
        const oShape = [k.B, k.cout, Math.floor((k.H + pt + pb - k.k[0]) / sh) + 1, Math.floor((k.W + pl + pr - k.k[1]) / sw) + 1];
        let x = rand(k.B * k.cin * k.H * k.W, 10 + i), w = rand(wShape.reduce((a, b) => a * b), 20 + i, scale), b = rand(k.cout, 30 + i);
        let r = rand(oShape.reduce((a, b) => a * b), 40 + i);
        if (dtype === 'f16') [x, w, b, r] = [roundF16(x), roundF16(w), roundF16(b), roundF16(r)];
        const out = await runGraph(dtype, (g) => ({
          y: conv2d(g.input('x', [k.B, k.cin, k.H, k.W]), g.input('w', wShape), k.bias ? g.input('b', [k.cout]) : null,
            { stride: k.stride, padding: k.pad, variant, residual: k.res ? g.input('r', oShape) : null }),
        }), { x, w, ...(k.bias ? { b } : {}), ...(k.res ? { r } : {}) });
        const want = ref(x, [k.B, k.cin, k.H, k.W], w, wShape, k.bias ? b : null, pair(k.stride), sides(k.pad));
        if (k.res) for (let j = 0; j < want.length; j++) want[j] += r[j];
        const [atol, rtol] = dtype === 'f32' ? [2e-5, 1e-4] : [1e-2, 1e-2];
        assertClose(`conv2d ${variant} ${dtype} case ${i} ${JSON.stringify(k)}`, out.y, want, atol, rtol);
      }
    });
  }
}

// Both variants recombine pixel blocks from grid x and z the same way; the direct one
// (256 pixels per workgroup) is the cheap one to push past 65535 blocks on a CPU adapter.
test('conv2d: pixel blocks beyond 65535 continue in grid z', async () => {
  const [H, W] = [4097, 4097]; // 16.8M pixels = 65544 blocks of 256
  const x = rand(H * W, 5), w = Float32Array.of(0.5), b = Float32Array.of(0.25);
  const out = await runGraph('f32', (g) => ({ y: conv2d(g.input('x', [1, 1, H, W]), g.input('w', [1, 1, 1, 1]), g.input('b', [1]), { variant: 'direct' }) }), { x, w, b });
  assertClose('conv2d 1x1 big', out.y, x.map((v) => 0.5 * v + 0.25), 1e-6, 1e-6);
});

test('conv2d rejects bad shapes at build time', () => {
  const g = new Graph();
  const x = g.input('x', [1, 3, 8, 8]);
  assert.throws(() => conv2d(x, g.input('w', [4, 2, 3, 3]), null), /conv2d.*input channels.*\[1, 3, 8, 8\]/);
  assert.throws(() => conv2d(x, g.input('w2', [4, 3, 3, 3]), g.input('b', [5])), /conv2d.*bias must be \[4\]/);
  assert.throws(() => conv2d(x, g.input('w3', [4, 3, 9, 9]), null), /conv2d.*does not fit/);
  assert.throws(() => conv2d(g.input('x2', [3, 8, 8]), g.input('w4', [4, 3, 3, 3]), null), /conv2d.*expected x \[B, Cin, H, W\]/);
  assert.throws(() => conv2d(x, g.input('w5', [4, 3, 3, 3]), null, { stride: 0 }), /conv2d: stride/);
  assert.throws(() => conv2d(x, g.input('w6', [4, 3, 3, 3]), null, { padding: [1, 2, 3] as any }), /conv2d: padding must be/);
  assert.throws(() => conv2d(x, g.input('w7', [4, 3, 3, 3]), null, { padding: 1, residual: g.input('r', [1, 4, 6, 6]) }), /conv2d.*residual must be \[1,4,8,8\] in f32/);
});

test.run();
