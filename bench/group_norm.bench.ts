// group_norm throughput on diffusers UNet/VAE shapes, f32 and f16, both variants.
//   npm run bench -- group_norm [--quick] [--json]
// GB/s counts the minimum traffic (read x once, write y once); the fused variant reads x twice
// and split reads it twice plus its small partials, so they move ~1.5x what is counted.
import { groupNorm, groupNormWork } from '../src/ops/group_norm.ts';
import { defaultVariant, VARIANTS } from '../src/ops/variant.ts';
import type { Harness } from './harness.ts';

// [B, C, H, W, groups]: SD resnets at 64x64 / 32x32 / 8x8 (batch 1 and CFG batch 2), a VAE decoder
// stage at 256x256.
const SHAPES: [number, number, number, number, number][] = [
  [1, 320, 64, 64, 32], [2, 320, 64, 64, 32], [1, 640, 32, 32, 32], [2, 1280, 8, 8, 32], [1, 128, 256, 256, 32],
];

export async function bench(h: Harness): Promise<void> {
  for (const [B, C, H, W, G] of h.quick ? SHAPES.slice(0, 1) : SHAPES) {
    // The default depends on the shape too: time it first, the other one in full runs.
    const preferred = defaultVariant('group_norm', h.device.facts, groupNormWork([B, C, H, W], G));
    const variants = h.quick ? [preferred] : [preferred, ...VARIANTS.group_norm.filter((v) => v !== preferred)];
    const shape = `${B}x${C}x${H}x${W}/g${G}`;
    for (const dtype of ['f32', 'f16'] as const) {
      if (dtype === 'f16' && !h.device.hasF16()) continue;
      for (const variant of variants) {
        await h.benchKernel({
          name: 'group_norm+silu', shape, dtype, variant, bytes: 2 * B * C * H * W * (dtype === 'f16' ? 2 : 4),
          build: (g) => ({
            y: groupNorm(g.input('x', [B, C, H, W]), G, g.input('w', [C]), g.input('b', [C]), 1e-5, { silu: true, variant }),
          }),
        });
      }
    }
  }
}
