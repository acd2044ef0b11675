// attention and fused NASA attention, SD-like shapes (5 heads x 64 = 320 channels):
// self-attention over 4096 tokens (64x64 latent), cross-attention 4096 queries x 77 text
// tokens, and NASA's cross-attention with a 77-token negative prompt, compared with
// plain cross-attention (the cost NASA adds) and with the unfused composition
// (two attentions, a scale and a subtraction).
//   npm run bench -- attention [--quick] [--json]
// FLOPs count the two matmuls per head: 4 * Nq * Nk * H * D (softmax not counted).
import { attention } from '../src/ops/attention.ts';
import { defaultVariant, VARIANTS } from '../src/ops/variant.ts';
import { nasaAttention, NASA_VARIANTS, type NasaVariant } from '../src/ops/nasa.ts';
import { mul, sub } from '../src/ops/binary.ts';
import type { Harness } from './harness.ts';

const H = 5, D = 64, C = H * D, TEXT = 77, ALPHA = 0.2;

export async function bench(h: Harness): Promise<void> {
  const selfN = h.quick ? 1024 : 4096;
  // The defaults for self-attention and for text keys (they differ on software adapters) first.
  const preferred = [...new Set([defaultVariant('attention', h.device.facts, { keys: selfN }), defaultVariant('attention', h.device.facts, { keys: TEXT })])];
  const variants = h.quick ? preferred : [...preferred, ...VARIANTS.attention.filter((v) => !preferred.includes(v))];
  const Nq = 4096;
  for (const dtype of ['f32', 'f16'] as const) {
    if (dtype === 'f16' && !h.device.hasF16()) continue;
    for (const variant of variants) {
      await h.benchKernel({
        name: 'attention self', shape: `${selfN}x${selfN} ${H}x${D}`, dtype, variant, flops: 4 * selfN * selfN * C,
        build: (g) => {
          const x = (n: string) => g.input(n, [1, selfN, C]);
          return { y: attention(x('q'), x('k'), x('v'), { heads: H, variant }) };
        },
      });
      const cross = await h.benchKernel({
        name: 'attention cross', shape: `${Nq}x${TEXT} ${H}x${D}`, dtype, variant, flops: 4 * Nq * TEXT * C,
        build: (g) => ({
          y: attention(g.input('q', [1, Nq, C]), g.input('k', [1, TEXT, C]), g.input('v', [1, TEXT, C]), { heads: H, variant }),
        }),
      });
      if (!isNasaVariant(variant)) continue; // nasa runs the flash variants only
      const fused = await h.benchKernel({
        name: 'nasa fused', shape: `${Nq}x(${TEXT}+${TEXT}) ${H}x${D}`, dtype, variant, flops: 4 * Nq * 2 * TEXT * C,
        build: (g) => {
          const t = (n: string) => g.input(n, [1, TEXT, C]);
          return { y: nasaAttention(g.input('q', [1, Nq, C]), t('kp'), t('vp'), t('kn'), t('vn'), { heads: H, alpha: ALPHA, variant }) };
        },
      });
      if (cross && fused) {
        const x = fused.ms / cross.ms;
        h.note(`  nasa fused / plain cross-attention time, ${variant} ${dtype}: ${x.toFixed(2)}x (+${((x - 1) * 100).toFixed(0)}% for the negative prompt)`);
      }
      if (h.quick) continue;
      const unfused = await h.benchKernel({
        name: 'nasa unfused', shape: `${Nq}x(${TEXT}+${TEXT}) ${H}x${D}`, dtype, variant, flops: 4 * Nq * 2 * TEXT * C,
        build: (g) => {
          const q = g.input('q', [1, Nq, C]), t = (n: string) => g.input(n, [1, TEXT, C]);
          const zp = attention(q, t('kp'), t('vp'), { heads: H, variant });
          const zn = attention(q, t('kn'), t('vn'), { heads: H, variant });
          return { y: sub(zp, mul(zn, g.constant([ALPHA], [1]))) };
        },
      });
      h.ratio(`nasa fused vs unfused (2 attentions + mul + sub), ${variant} ${dtype}`, fused, unfused);
    }
  }
}

const isNasaVariant = (v: string): v is NasaVariant => (NASA_VARIANTS as readonly string[]).includes(v);
