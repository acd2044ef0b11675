import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clampAbs, scale, silu, gelu, geluTanh, quickGelu, relu, tanh } from '../../src/ops/unary.ts';
import { unary, type UnaryKind } from '../../src/ref/unary.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const fns: Record<UnaryKind, (x: any) => any> = {
  scale: (x) => scale(x, -1.75, 0.3), silu, gelu, geluTanh, quickGelu, relu, tanh, clamp: (x) => clampAbs(x, 5),
};
// Odd sizes exercise the scalar path, multiples of 4 the vec4 path.
const shapes = [[1], [7], [3, 37], [2, 5, 64], [1001]];
// Wide range so both tails of each activation are covered (gelu's erf tail, sigmoid saturation).
const spread = 12;

for (const dtype of ['f32', 'f16'] as const) {
  for (const kind of Object.keys(fns) as UnaryKind[]) {
    test(`${kind} ${dtype}`, async () => {
      for (const shape of shapes) {
        const n = shape.reduce((a, b) => a * b, 1);
        let x = rand(n, n + 3, spread);
        x[0] = 0;
        if (dtype === 'f16') x = roundF16(x);
        const out = await runGraph(dtype, (g) => ({ y: fns[kind](g.input('x', shape)) }), { x });
        const want = kind === 'scale' ? unary(kind, x, -1.75, 0.3) : kind === 'clamp' ? unary(kind, x, 5) : unary(kind, x);
        // f32: erfc fit error 1.2e-7 relative, GPU exp a few ulp; f16: output rounding (2^-11 relative).
        const [atol, rtol] = dtype === 'f32' ? [2e-6, 2e-5] : [1e-3, 2e-3];
        assertClose(`${kind} ${dtype} [${shape}]`, out.y, want, atol, rtol);
      }
    });
  }
}

test('clamp maps infinities to the limit (the f16 overflow guard)', async () => {
  const x = Float32Array.from([Infinity, -Infinity, 70000, -3, 65504]);
  const out = await runGraph('f16', (g) => ({ y: clampAbs(g.input('x', [5]), 65504) }), { x });
  assertClose('clamp', out.y, [65504, -65504, 65504, -3, 65504], 0, 0);
});

test('gelu matches tabulated values in its far tails', async () => {
  const x = Float32Array.from([-10, -6, -4, -1, 1e-3, 4, 6, 10]);
  const out = await runGraph('f32', (g) => ({ y: gelu(g.input('x', [8])) }), { x });
  // 0.5 x erfc(-x/sqrt2): gelu(-4) = -1.2668e-4, gelu(-6) = -5.9202e-9.
  assertClose('gelu tails', out.y, [-0, -5.920e-9, -1.26685e-4, -0.158655, 5.003989e-4, 3.999873, 6, 10], 1e-9, 2e-4);
});

test('unary rejects integer input at build time', () => {
  const g = new Graph();
  assert.throws(() => silu(g.input('ids', [4], 'i32')), /silu: expected a float tensor \(got \[4\] i32\)/);
  assert.throws(() => scale(g.input('x', [4]), NaN), /scale: factor and bias must be finite/);
});

test.run();
