// Each attention-space guidance mode as the UNet's cross-attention builds it
// (src/guidance/modes.ts), against CPU references written from each method's formula.
import { test } from 'uvu';
import { guidedAttention } from '../../src/guidance/modes.ts';
import { guidanceScalars } from '../../src/guidance/scalars.ts';
import { siteOf, type AttentionGuidance } from '../../src/guidance/types.ts';
import { attention } from '../../src/ref/attention.ts';
import { nag } from '../../src/ref/nag.ts';
import { nasa } from '../../src/ref/nasa.ts';
import { vsf } from '../../src/ref/vsf.ts';
import { assertClose } from '../util/compare.ts';
import { rand, runGraph } from '../util/gpu.ts';

const B = 2, N = 9, M = 7, Mn = 5, H = 2, D = 8, C = H * D;
const q = rand(B * N * C, 1), k = rand(B * M * C, 2), v = rand(B * M * C, 3), kn = rand(B * Mn * C, 4), vn = rand(B * Mn * C, 5);
const site = siteOf('transformer_blocks.0.attn2', 0, { transformer_blocks: 'blocks' });

async function run(g: AttentionGuidance): Promise<Float32Array> {
  const out = await runGraph('f32', (gr) => {
    const neg = gr.input('kn', [B, Mn, C]);
    return { z: guidedAttention(gr.input('q', [B, N, C]), gr.input('k', [B, M, C]), gr.input('v', [B, M, C]), neg, gr.input('vn', [B, Mn, C]), H, { mode: g.mode, negativeContext: neg, site }) };
  }, { q, k, v, kn, vn }, guidanceScalars(g, [site], ['blocks']));
  return out.z as Float32Array;
}

const report = (name: string, r: { maxAbs: number }) => {
  if (process.env.MODEL_TEST_VERBOSE) console.log(`${name}: max |diff| ${r.maxAbs.toExponential(1)}`);
};

test('nasa: Z+ - alpha Z-', async () => {
  const want = nasa({ q, qShape: [B, N, C], kPos: k, kPosShape: [B, M, C], vPos: v, vPosShape: [B, M, C], kNeg: kn, kNegShape: [B, Mn, C], vNeg: vn, vNegShape: [B, Mn, C] }, { heads: H, alpha: 0.3 });
  report('nasa', assertClose('nasa', await run({ mode: 'nasa', alpha: 0.3 }), want, 1e-5, 1e-4));
});

test('nag: normalised extrapolation of Z+ and Z-', async () => {
  const zp = attention(q, [B, N, C], k, [B, M, C], v, [B, M, C], { heads: H });
  const zn = attention(q, [B, N, C], kn, [B, Mn, C], vn, [B, Mn, C], { heads: H });
  report('nag', assertClose('nag', await run({ mode: 'nag', scale: 4, tau: 1.5, alpha: 0.5 }), nag(zp, zn, B * N, C, 4, 1.5, 0.5), 1e-5, 1e-4));
});

test('vsf: one softmax over [K+; K-] with values [V+; -s V-]', async () => {
  const want = vsf(q, k, v, kn, vn, { B, N, M, Mn, H, D }, 3, 0.1);
  report('vsf', assertClose('vsf', await run({ mode: 'vsf', scale: 3, offset: 0.1 }), want, 1e-5, 1e-4));
});

test.run();
