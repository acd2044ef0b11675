// The MMDiT guided joint attention (src/guidance/flux.ts) in every mode, against the CPU
// reference written from the definitions (src/ref/flux_guidance.ts), f32 and f16.
import { test } from 'uvu';
import type { Node } from '../../src/graph/graph.ts';
import { jointAttention } from '../../src/guidance/flux.ts';
import { SITE_LAYOUTS } from '../../src/guidance/families.ts';
import { guidanceScalars } from '../../src/guidance/scalars.ts';
import { siteOf, type AttentionGuidance } from '../../src/guidance/types.ts';
import { fluxJointAttention, type FluxRefMode } from '../../src/ref/flux_guidance.ts';
import { assertClose } from '../util/compare.ts';
import { rand, roundF16, runGraph } from '../util/gpu.ts';

const B = 2, H = 2, D = 8, C = H * D, T = 3, N = 6, Tn = 4, L = T + N;
const site = siteOf('transformer_blocks.0.attn', 0, SITE_LAYOUTS.mmdit, 'joint');
const r = (n: number, seed: number, f16: boolean) => (f16 ? roundF16(rand(n, seed, 1.5)) : rand(n, seed, 1.5));

const modes: FluxRefMode[] = [
  { mode: 'none' },
  { mode: 'nasa', alpha: 0.7 },
  { mode: 'nag', scale: 3, tau: 2.5, alpha: 0.5 },
  { mode: 'nag', scale: 5, tau: 1.2, alpha: 0.9 }, // tau clips
  { mode: 'vsf', scale: 2, offset: 0.3 },
];

for (const dtype of ['f32', 'f16'] as const) {
  test(`MMDiT joint attention ${dtype}: ${modes.map((m) => m.mode).join(', ')}`, async () => {
    const f16 = dtype === 'f16';
    const d = { q: r(B * L * C, 1, f16), k: r(B * L * C, 2, f16), v: r(B * L * C, 3, f16), qn: r(B * Tn * C, 4, f16), kn: r(B * Tn * C, 5, f16), vn: r(B * Tn * C, 6, f16) };
    for (const m of modes) {
      const out = await runGraph(dtype, (g) => {
        const i = (name: string, n: number) => g.input(name, [B, n, C]);
        const neg = m.mode === 'none' ? null : { q: i('qn', Tn), k: i('kn', Tn), v: i('vn', Tn) };
        const lg = m.mode === 'none' ? null : { mode: m.mode, negativeContext: neg!.k, site };
        const res = jointAttention({ q: i('q', L), k: i('k', L), v: i('v', L) }, T, H, neg, lg);
        const outs: Record<string, Node> = { z: res.z };
        if (res.zNeg) outs.zNeg = res.zNeg;
        return outs;
      }, m.mode === 'none' ? { q: d.q, k: d.k, v: d.v } : d, m.mode === 'none' ? {} : guidanceScalars(m as AttentionGuidance, [site], ['double', 'single']));
      const want = fluxJointAttention(B, H, D, { q: d.q, k: d.k, v: d.v, n: L }, T, m.mode === 'none' ? null : { q: d.qn, k: d.kn, v: d.vn, n: Tn }, m);
      const [atol, rtol] = f16 ? [8e-3, 4e-3] : [2e-5, 1e-4];
      assertClose(`${JSON.stringify(m)} ${dtype} z`, out.z, want.z, atol, rtol);
      if (want.zNeg) assertClose(`${m.mode} ${dtype} negative stream`, out.zNeg, want.zNeg, atol, rtol);
    }
  });
}

test.run();
