import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nasaAttention, NASA_VARIANTS } from '../../src/ops/nasa.ts';
import { attention } from '../../src/ops/attention.ts';
import { nasa as ref } from '../../src/ref/nasa.ts';
import { Graph } from '../../src/graph/graph.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

interface Case { B: number; Nq: number; NkP: number; NkN: number; H: number; D: number; Dv?: number; alpha: number; maskP?: boolean; maskN?: 'some' | 'all'; negB1?: boolean }

const cases: Case[] = [
  { B: 2, Nq: 13, NkP: 77, NkN: 77, H: 5, D: 8, alpha: 0.2 },
  { B: 2, Nq: 13, NkP: 77, NkN: 7, H: 2, D: 40, alpha: 1 }, // different key counts
  { B: 2, Nq: 13, NkP: 7, NkN: 77, H: 3, D: 16, alpha: 0.5, maskP: true, maskN: 'some' },
  { B: 2, Nq: 70, NkP: 9, NkN: 13, H: 1, D: 64, alpha: 0.1, negB1: true }, // one negative prompt for the batch
  { B: 2, Nq: 13, NkP: 11, NkN: 5, H: 2, D: 6, Dv: 10, alpha: 0.2, maskN: 'all' }, // scalar path; negative fully masked
];

/** Additive mask [B, Nk]: a few keys -inf, one -1e4; 'all' drops every key of batch 1. */
function makeMask(B: number, Nk: number, all: boolean): Float32Array {
  const m = new Float32Array(B * Nk);
  for (let i = 0; i < m.length; i++) if (i % 4 === 1) m[i] = -Infinity;
  m[0] = -1e4;
  if (all) m.fill(-Infinity, Nk);
  return m;
}

function shapes(c: Case) {
  const Dv = c.Dv ?? c.D, nB = c.negB1 ? 1 : c.B;
  return {
    q: [c.B, c.Nq, c.H * c.D], kPos: [c.B, c.NkP, c.H * c.D], vPos: [c.B, c.NkP, c.H * Dv],
    kNeg: [nB, c.NkN, c.H * c.D], vNeg: [nB, c.NkN, c.H * Dv],
  };
}

const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);

for (const variant of NASA_VARIANTS) {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`nasa ${variant} ${dtype} vs two reference attentions`, async () => {
      for (const c of cases) {
        const s = shapes(c);
        const data: Record<string, Float32Array> = {};
        Object.entries(s).forEach(([k, sh], i) => {
          data[k] = rand(numel(sh), i + 1, k === 'q' || k.startsWith('k') ? 2 : 1);
          if (dtype === 'f16') data[k] = roundF16(data[k]);
        });
        const maskPos = c.maskP ? makeMask(c.B, c.NkP, false) : null;
        const maskNeg = c.maskN ? makeMask(c.B, c.NkN, c.maskN === 'all') : null;
        const inputs: Record<string, Float32Array> = { ...data };
        if (maskPos) inputs.maskPos = maskPos;
        if (maskNeg) inputs.maskNeg = maskNeg;
        const out = await runGraph(dtype, (g) => {
          const n = (k: keyof typeof s) => g.input(k, s[k]);
          return {
            y: nasaAttention(n('q'), n('kPos'), n('vPos'), n('kNeg'), n('vNeg'), {
              heads: c.H, alpha: c.alpha, variant,
              maskPos: maskPos ? g.input('maskPos', [c.B, c.NkP]) : null,
              maskNeg: maskNeg ? g.input('maskNeg', [c.B, c.NkN]) : null,
            }),
          };
        }, inputs);
        const exp = ref({
          q: data.q, qShape: s.q, kPos: data.kPos, kPosShape: s.kPos, vPos: data.vPos, vPosShape: s.vPos,
          kNeg: data.kNeg, kNegShape: s.kNeg, vNeg: data.vNeg, vNegShape: s.vNeg,
        }, { heads: c.H, alpha: c.alpha, maskPos, maskNeg });
        // f32: summation order; f16: output rounding of values up to 1 + alpha.
        const [atol, rtol] = dtype === 'f32' ? [3e-6, 1e-5] : [3e-3, 2e-3];
        assertClose(`nasa ${variant} ${dtype} ${JSON.stringify(c)}`, out.y, exp, atol, rtol);
      }
    });

    test(`nasa ${variant} ${dtype} with alpha = 0 equals attention bit for bit`, async () => {
      const c: Case = { B: 2, Nq: 13, NkP: 77, NkN: 7, H: 2, D: 40, alpha: 0, maskP: true };
      const s = shapes(c);
      const data = Object.fromEntries(Object.entries(s).map(([k, sh], i) => [k, rand(numel(sh), 10 + i, 2)]));
      const maskPos = makeMask(c.B, c.NkP, false);
      const out = await runGraph(dtype, (g) => {
        const n = (k: keyof typeof s) => g.input(k, s[k]);
        const q = n('q'), kP = n('kPos'), vP = n('vPos'), mP = g.input('maskPos', [c.B, c.NkP]);
        return {
          nasa: nasaAttention(q, kP, vP, n('kNeg'), n('vNeg'), { heads: c.H, alpha: 0, maskPos: mP, variant }),
          plain: attention(q, kP, vP, { heads: c.H, mask: mP, variant }),
        };
      }, { ...data, maskPos });
      // Same per-set arithmetic in both kernels and z - 0 * zNeg == z exactly.
      for (let i = 0; i < out.plain.length; i++) {
        if (out.nasa[i] !== out.plain[i]) assert.unreachable(`alpha 0 differs at [${i}]: ${out.nasa[i]} vs ${out.plain[i]}`);
      }
    });
  }
}

test('bad shapes fail at build time naming nasa and the shapes', () => {
  const g = new Graph();
  const q = g.input('q', [2, 13, 16]), k = g.input('k', [2, 7, 16]), v = g.input('v', [2, 7, 16]);
  assert.throws(() => nasaAttention(q, k, v, g.input('kn', [2, 5, 16]), g.input('vn', [2, 5, 8]), { heads: 2, alpha: 0.2 }), /nasa.*vNeg's head size 4 != vPos's 8/);
  assert.throws(() => nasaAttention(q, k, v, g.input('kn2', [3, 5, 16]), g.input('vn2', [3, 5, 16]), { heads: 2, alpha: 0.2 }), /nasa.*batch/);
  assert.throws(() => nasaAttention(q, k, v, k, v, { heads: 2, alpha: 0.2, maskNeg: g.input('m', [2, 5]) }), /nasa: maskNeg must be \[2 or 1, 7\]/);
});

test.run();
