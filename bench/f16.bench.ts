// Does f16 pay on this adapter? The ops that carry SD-Turbo's time (linear, conv2d 3x3,
// attention) at its shapes, each timed in f32 and then in f16 (f16 storage, f32
// accumulation) right after, with the adapter's default variants; prints f32 ms / f16 ms
// per shape (> 1: f16 is faster). Together with the e2e bench (f16 native vs f32) it is
// what src/ops/f16_policy.ts is decided from; it asserts nothing.
//   npm run bench -- f16 [--quick] [--json]
import type { Graph, Node } from '../src/graph/graph.ts';
import { attention } from '../src/ops/attention.ts';
import { conv2d } from '../src/ops/conv2d.ts';
import { linear } from '../src/ops/matmul.ts';
import type { Harness } from './harness.ts';

interface Case { name: string; shape: string; flops: number; build: (g: Graph) => Record<string, Node> }

const lin = (what: string, M: number, K: number, N: number): Case => ({
  name: 'linear', shape: `${what} ${M}x${K}x${N}`, flops: 2 * M * K * N,
  build: (g) => ({ y: linear(g.input('x', [M, K]), g.input('w', [N, K]), g.input('b', [N])) }),
});
const conv = (what: string, hw: number, cin: number, cout: number): Case => ({
  name: 'conv2d', shape: `${what} 3x3 ${hw}x${hw}x${cin}->${cout}`, flops: 2 * hw * hw * cin * cout * 9,
  build: (g) => ({ y: conv2d(g.input('x', [1, cin, hw, hw]), g.input('w', [cout, cin, 3, 3]), g.input('b', [cout]), { padding: 1 }) }),
});
const attn = (what: string, nq: number, nk: number, heads: number): Case => ({
  name: 'attention', shape: `${what} ${nq}x${nk} ${heads}x64`, flops: 4 * nq * nk * heads * 64,
  build: (g) => ({ y: attention(g.input('q', [1, nq, heads * 64]), g.input('k', [1, nk, heads * 64]), g.input('v', [1, nk, heads * 64]), { heads }) }),
});

// UNet at 512^2 (latent 64^2: 4096 tokens at 320 channels ...), VAE decoder 3x3 convs.
const FULL: Case[] = [
  lin('unet proj', 4096, 320, 320), lin('unet ff', 4096, 320, 2560), lin('unet proj', 1024, 640, 640), lin('text mlp', 77, 1024, 4096),
  conv('unet', 64, 320, 320), conv('unet', 32, 640, 640), conv('unet', 16, 1280, 1280),
  conv('vae', 64, 512, 512), conv('vae', 128, 512, 512), conv('vae', 256, 256, 256),
  attn('unet self', 4096, 4096, 5), attn('unet cross', 4096, 77, 5),
];
const QUICK: Case[] = [
  lin('unet proj', 4096, 320, 320), lin('unet proj', 1024, 640, 640),
  conv('unet', 32, 320, 320), conv('unet', 16, 640, 640), conv('vae', 32, 512, 512), conv('vae', 64, 256, 256),
  attn('unet self', 1024, 1024, 10),
];

export async function bench(h: Harness): Promise<void> {
  if (!h.device.hasF16()) {
    h.note(`f16: ${h.adapter} has no shader-f16; nothing to compare`);
    return;
  }
  const ratios: { what: string; r: number }[] = [];
  for (const c of h.quick ? QUICK : FULL) {
    const f32 = await h.benchKernel({ ...c, dtype: 'f32' });
    const f16 = await h.benchKernel({ ...c, dtype: 'f16' });
    const r = h.ratio(`${c.name} ${c.shape}: f16 vs f32`, f16, f32);
    if (r !== null) ratios.push({ what: `${c.name} ${c.shape}`, r });
  }
  if (!ratios.length) return;
  const by = (op: string) => ratios.filter((x) => x.what.startsWith(op)).map((x) => x.r.toFixed(2)).join(' ');
  h.note(`f16 speed-up over f32 on ${h.adapter} (f32 ms / f16 ms, > 1 = f16 faster): linear ${by('linear')} | conv2d ${by('conv2d')} | attention ${by('attention')}`);
}
