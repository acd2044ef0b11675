// The model-level attention paths that the golden cases do not reach: the explicit-score
// path for single heads wider than the flash kernel's limit (the real SD VAE's mid block:
// one head of 512), checked against the flash attention op at a width both handle, with
// and without query blocking; and a real-width head (512) against a CPU loop.
import { test } from 'uvu';
import { attention } from '../../src/ops/index.ts';
import { wideHeadAttention } from '../../src/models/attention.ts';
import { assertClose } from '../util/compare.ts';
import { rand, runGraph } from '../util/gpu.ts';

function cpuAttention(q: Float32Array, k: Float32Array, v: Float32Array, N: number, M: number, D: number): Float32Array {
  const out = new Float32Array(N * D);
  const s = new Float64Array(M);
  for (let i = 0; i < N; i++) {
    let mx = -Infinity;
    for (let j = 0; j < M; j++) {
      let d = 0;
      for (let c = 0; c < D; c++) d += q[i * D + c] * k[j * D + c];
      s[j] = d / Math.sqrt(D);
      mx = Math.max(mx, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < M; j++) sum += (s[j] = Math.exp(s[j] - mx));
    for (let c = 0; c < D; c++) {
      let acc = 0;
      for (let j = 0; j < M; j++) acc += s[j] * v[j * D + c];
      out[i * D + c] = acc / sum;
    }
  }
  return out;
}

for (const dtype of ['f32', 'f16'] as const) {
  test(`wideHeadAttention equals flash attention (${dtype}), blocked and not`, async () => {
    const [B, N, M, D] = [2, 67, 45, 64];
    const inputs = { q: rand(B * N * D, 1), k: rand(B * M * D, 2), v: rand(B * M * D, 3) };
    const out = await runGraph(dtype, (g) => {
      const [q, k, v] = [g.input('q', [B, N, D]), g.input('k', [B, M, D]), g.input('v', [B, M, D])];
      return {
        flash: attention(q, k, v, { heads: 1 }),
        whole: wideHeadAttention(q, k, v, 1),
        blocked: wideHeadAttention(q, k, v, 1, 4 * B * M * 10), // 10 query rows per block: 7 blocks
      };
    }, inputs);
    const tol = dtype === 'f32' ? 2e-5 : 1e-2;
    assertClose('whole vs flash', out.whole, out.flash, tol, tol);
    assertClose('blocked vs flash', out.blocked, out.flash, tol, tol);
  });
}

test('wideHeadAttention at the SD VAE width (one head of 512) vs a CPU loop', async () => {
  const [N, M, D] = [40, 40, 512];
  const inputs = { q: rand(N * D, 4, 0.2), k: rand(M * D, 5, 0.2), v: rand(M * D, 6) };
  const out = await runGraph('f32', (g) => ({ z: wideHeadAttention(g.input('q', [1, N, D]), g.input('k', [1, M, D]), g.input('v', [1, M, D]), 1) }), inputs);
  assertClose('one head of 512', out.z, cpuAttention(inputs.q, inputs.k, inputs.v, N, M, D), 1e-5, 1e-4);
});

test.run();
