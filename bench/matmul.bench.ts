// matmul / linear throughput (M x K x N), f32 and f16, against tfjs-backend-webgpu's
// matMul on the same adapter in the same process (f32 only: tfjs has no f16 storage).
//   npm run bench -- matmul [--quick] [--json]
// Then linear with q8_0 weights against f32/f16 ones (benchQ8, GB/s).
// The engine's default variant for the adapter is timed first; the full run also times
// the other variant. Ratio = tfjs ms / engine ms (>1: the engine is faster).
import { create } from 'webgpu';
import { matmul, linear } from '../src/ops/matmul.ts';
import { defaultVariant, VARIANTS, type MatmulVariant } from '../src/ops/variant.ts';
import { memorySource } from '../src/io/views.ts';
import { q8Bytes, quantizeQ8_0 } from '../src/tensor/q8_0.ts';
import { randomData, type BenchResult, type Harness } from './harness.ts';

const SHAPES: [number, number, number][] = [[512, 512, 512], [1024, 320, 320], [4096, 320, 320], [1024, 640, 1280]];

export async function bench(h: Harness): Promise<void> {
  const tf = await loadTfjs(h);
  const preferred = defaultVariant('matmul', h.device.facts);
  const variants = h.quick ? [preferred] : [preferred, ...VARIANTS.matmul.filter((v) => v !== preferred)];
  const shapes = h.quick ? SHAPES.slice(0, 2) : SHAPES;
  for (const [M, K, N] of shapes) {
    const shape = `${M}x${K}x${N}`;
    const flops = 2 * M * K * N;
    for (const dtype of ['f32', 'f16'] as const) {
      if (dtype === 'f16' && !h.device.hasF16()) continue;
      for (const variant of variants) {
        const mm = await h.benchKernel({
          name: 'matmul', shape, dtype, flops, variant,
          build: (g) => ({ y: matmul(g.input('a', [M, K]), g.input('b', [K, N]), { variant }) }),
        });
        // tfjs is timed right after each engine case, so both see the same machine load.
        const other = tf && mm ? await tf.matmul(M, K, N, shape, flops) : null;
        h.ratio(`matmul ${variant} ${dtype} vs tfjs f32`, mm, other);
        if (h.quick) continue;
        const lin = await h.benchKernel({
          name: 'linear', shape, dtype, flops, variant,
          build: (g) => ({ y: linear(g.input('x', [M, K]), g.input('w', [N, K]), g.input('bias', [N]), { variant }) }),
        });
        h.ratio(`linear ${variant} ${dtype} vs tfjs f32 matMul`, lin, other);
      }
    }
  }
  tf?.dispose();
  await benchQ8(h, preferred);
}

// linear with f32 / f16 / q8_0 weights at SD-Turbo and FLUX.1 shapes (M x K x N = tokens x
// in x out): 1024 / 4096 latent tokens of SD-Turbo at 512px, FLUX's 4096 image tokens at
// 1024px through a 3072-wide projection, and a single block's modulation linear (one row, 3072 -> 9216:
// all weight traffic; the f32 one of 3072 -> 18432 passes lavapipe's 128 MiB binding limit). GB/s counts the bytes a run must move: the weight as stored plus
// the activations in and out; q8_0 moves 34/32 bytes per weight against f16's 2.
const Q8_SHAPES: [number, number, number][] = [[1024, 320, 320], [4096, 320, 1280], [4096, 3072, 3072], [1, 3072, 9216]];

async function benchQ8(h: Harness, variant: MatmulVariant): Promise<void> {
  for (const [M, K, N] of h.quick ? Q8_SHAPES.slice(0, 1) : Q8_SHAPES) {
    const shape = `${M}x${K}x${N}`;
    const blocks = memorySource('w', 'Q8_0', [N, K], quantizeQ8_0(randomData(N * K, 4)));
    for (const act of ['f32', 'f16'] as const) {
      if (act === 'f16' && !h.device.hasF16()) continue;
      const ab = act === 'f16' ? 2 : 4;
      for (const w of [act, 'q8_0'] as const) {
        const bytes = (w === 'q8_0' ? q8Bytes([N, K]) : N * K * ab) + (M * K + M * N) * ab;
        await h.benchKernel({
          name: `linear w=${w}`, shape, dtype: act, bytes, variant,
          build: (g) => ({ y: linear(g.input('x', [M, K]), w === 'q8_0' ? g.weight(blocks, 'q8_0') : g.input('w', [N, K]), null, { variant }) }),
        });
      }
    }
  }
}

/**
 * tfjs-backend-webgpu looks for navigator.gpu, so this bench gives it one from Dawn.
 * (bench/ is the one place besides src/gpu that imports `webgpu`, only for tfjs.)
 */
async function loadTfjs(h: Harness) {
  let tf: typeof import('@tensorflow/tfjs-core');
  try {
    (globalThis as any).navigator ??= {};
    (globalThis as any).navigator.gpu ??= create([]);
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend(webgpu) failed');
    await tf.ready();
  } catch (e) {
    h.note(`(tfjs-backend-webgpu unavailable: ${(e as Error).message}; no comparison)`);
    return null;
  }
  return {
    async matmul(M: number, K: number, N: number, shape: string, flops: number): Promise<BenchResult | null> {
      const a = tf.tensor2d(randomData(M * K, 1), [M, K]);
      const b = tf.tensor2d(randomData(K * N, 2), [K, N]);
      const once = async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      };
      await once(); // compiles its pipeline
      try {
        return await h.timed({
          name: 'matmul', shape, dtype: 'f32', flops, impl: 'tfjs', run: once,
          gpuMs: async () => {
            const t = await tf.time(() => { tf.matMul(a, b).dispose(); });
            return typeof t.kernelMs === 'number' ? t.kernelMs : null;
          },
        });
      } finally {
        a.dispose();
        b.dispose();
      }
    },
    dispose() { tf.disposeVariables(); },
  };
}
