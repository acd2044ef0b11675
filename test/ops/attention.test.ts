import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attention, ATTENTION_VARIANTS } from '../../src/ops/attention.ts';
import { attention as ref } from '../../src/ref/attention.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

interface Case { B: number; Nq: number; Nk: number; H: number; D: number; Dv?: number; causal?: boolean; mask?: 'some' | 'rows'; kvB1?: boolean }

const cases: Case[] = [
  { B: 2, Nq: 13, Nk: 77, H: 5, D: 8 },
  { B: 2, Nq: 13, Nk: 7, H: 1, D: 16 },
  { B: 2, Nq: 13, Nk: 77, H: 2, D: 40, mask: 'some' },
  { B: 2, Nq: 13, Nk: 13, H: 3, D: 64, causal: true },
  { B: 2, Nq: 13, Nk: 7, H: 4, D: 16, causal: true, mask: 'rows' }, // query 0 fully masked in batch 1
  { B: 2, Nq: 13, Nk: 77, H: 2, D: 8, mask: 'rows' }, // every row of batch 1 fully masked
  { B: 2, Nq: 70, Nk: 45, H: 2, D: 6, Dv: 10 }, // odd head sizes: scalar path; > 1 query tile
  { B: 2, Nq: 9, Nk: 77, H: 3, D: 16, Dv: 8, kvB1: true, mask: 'some' }, // broadcast k/v batch
];

/** Additive key mask [B, Nk]: 'some' drops a few keys (-inf and -1e4); 'rows' also drops every key of batch 1, or key 0 there. */
function makeMask(c: Case): Float32Array {
  const m = new Float32Array(c.B * c.Nk);
  for (let j = 0; j < c.Nk; j++) if (j % 5 === 3) m[j] = -Infinity;
  m[1] = -1e4;
  if (c.mask === 'rows') for (let j = 0; j < c.Nk; j++) m[c.Nk + j] = c.causal && j > 0 ? 0 : -Infinity;
  else for (let j = 0; j < c.Nk; j++) m[c.Nk + j] = j % 3 === 0 ? -Infinity : 0.25;
  return m;
}

for (const variant of ATTENTION_VARIANTS) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`attention ${variant} ${dtype}`, async () => {
      for (const c of cases) {
        const Dv = c.Dv ?? c.D, kB = c.kvB1 ? 1 : c.B;
        const qs = [c.B, c.Nq, c.H * c.D], ks = [kB, c.Nk, c.H * c.D], vs = [kB, c.Nk, c.H * Dv];
        let q = rand(qs[0] * qs[1] * qs[2], 1, 2), k = rand(ks[0] * ks[1] * ks[2], 2, 2), v = rand(vs[0] * vs[1] * vs[2], 3);
        let mask = c.mask ? makeMask(c) : null;
        if (dtype === 'f16') [q, k, v] = [roundF16(q), roundF16(k), roundF16(v)];
        const inputs: Record<string, Float32Array> = { q, k, v };
        if (mask) inputs.mask = mask;
        const out = await runGraph(dtype, (g) => ({
          y: attention(g.input('q', qs), g.input('k', ks), g.input('v', vs), {
            heads: c.H, causal: c.causal, mask: mask ? g.input('mask', [c.B, c.Nk]) : null, variant,
          }),
        }), inputs);
        const exp = ref(q, qs, k, ks, v, vs, { heads: c.H, causal: c.causal, mask });
        // f32: summation order; f16: output rounding (|out| <= 1, 2^-11 relative) plus f16 q*k products.
        const [atol, rtol] = dtype === 'f32' ? [2e-6, 1e-5] : [2e-3, 2e-3];
        assertClose(`${variant} ${dtype} ${JSON.stringify(c)}`, out.y, exp, atol, rtol);
        if (c.mask === 'rows' && !c.causal) {
          // Fully masked rows are exactly 0, as torch SDPA (>= 2.5) returns.
          assert.ok(out.y.subarray(c.Nq * c.H * Dv).every((x) => x === 0), 'fully masked rows must be 0');
        }
      }
    });
  }
}

test('self-attention over 4096 tokens, 5 heads x 64 (spot-checked rows)', async () => {
  const N = 4096, H = 5, D = 64, C = H * D;
  const q = rand(N * C, 11, 2), k = rand(N * C, 12, 2), v = rand(N * C, 13);
  const out = await runGraph('f32', (g) => ({
    y: attention(g.input('q', [1, N, C]), g.input('k', [1, N, C]), g.input('v', [1, N, C]), { heads: H }),
  }), { q, k, v });
  for (const i of [0, 1, 2047, 4095]) {
    const exp = ref(q.subarray(i * C, (i + 1) * C), [1, 1, C], k, [1, N, C], v, [1, N, C], { heads: H });
    assertClose(`4096 tokens row ${i}`, out.y.subarray(i * C, (i + 1) * C), exp, 2e-6, 1e-4);
  }
});

test('attention scores: several query chunks with causal, a per-image mask and a broadcast k/v batch', async () => {
  // 32 MiB of scores per chunk: B*H = 4 rows of 2100 keys -> chunks of 996 queries (996 + 104).
  const c: Case = { B: 2, Nq: 1100, Nk: 2100, H: 2, D: 16, causal: true, mask: 'some', kvB1: true };
  const qs = [c.B, c.Nq, c.H * c.D], ks = [1, c.Nk, c.H * c.D];
  const q = rand(c.B * c.Nq * c.H * c.D, 4, 2), k = rand(c.Nk * c.H * c.D, 5, 2), v = rand(c.Nk * c.H * c.D, 6), mask = makeMask(c);
  const out = await runGraph('f32', (g) => ({
    y: attention(g.input('q', qs), g.input('k', ks), g.input('v', ks), { heads: c.H, causal: true, mask: g.input('mask', [c.B, c.Nk]), variant: 'scores' }),
  }), { q, k, v, mask });
  assertClose('scores chunks', out.y, ref(q, qs, k, ks, v, ks, { heads: c.H, causal: true, mask }), 2e-6, 1e-5);
});

test('bad shapes fail at build time naming the op and shapes', () => {
  const g = new Graph();
  const q = g.input('q', [2, 13, 40]);
  assert.throws(() => attention(q, g.input('k', [2, 7, 32]), g.input('v', [2, 7, 40]), { heads: 5 }), /attention.*k's last dim 32/);
  assert.throws(() => attention(q, g.input('k2', [2, 7, 40]), g.input('v2', [2, 8, 40]), { heads: 5 }), /attention.*key counts/);
  assert.throws(() => attention(q, g.input('k3', [2, 7, 40]), g.input('v3', [2, 7, 40]), { heads: 3 }), /divisible by heads=3/);
  assert.throws(() => attention(q, g.input('k4', [2, 7, 40]), g.input('v4', [2, 7, 40]), { heads: 5, mask: g.input('m', [2, 8]) }), /mask must be \[2 or 1, 7\]/);
});

test.run();
