// conv2d on SD-Turbo's real shapes (UNet 3x3 and 1x1, VAE decoder 3x3), against
// @tensorflow/tfjs-backend-webgpu's conv2d on the same Dawn adapter in the same process.
//   npm run bench -- conv2d [--quick] [--no-tfjs] [--filter 32x32]
// --quick uses smaller images (the full VAE shapes take seconds per run on lavapipe).
// Our op runs NCHW/OIHW as the engine does; tfjs runs the same convolution NHWC/HWIO
// (its native layout), fused with the bias like ours. Ratio = tfjs time / our time.
import type { Harness, BenchResult } from './harness.ts';
import { conv2d } from '../src/ops/conv2d.ts';
import { defaultVariant, type Conv2dVariant } from '../src/ops/variant.ts';

interface Shape { what: string; hw: number; cin: number; cout: number; k: number; pad: number }
const s = (what: string, hw: number, cin: number, cout: number, k: number): Shape => ({ what, hw, cin, cout, k, pad: k === 3 ? 1 : 0 });

const FULL: Shape[] = [
  s('unet', 32, 320, 320, 3), // the tfjs reference shape (3.5 GFLOP/s on lavapipe)
  s('unet', 64, 320, 320, 3),
  s('unet', 32, 640, 640, 3),
  s('unet', 16, 1280, 1280, 3),
  s('unet', 64, 320, 320, 1),
  s('vae', 128, 512, 512, 3),
  s('vae', 256, 256, 256, 3),
];
const QUICK: Shape[] = [
  s('unet', 32, 320, 320, 3),
  s('unet', 16, 640, 640, 3),
  s('unet', 8, 1280, 1280, 3),
  s('unet', 32, 320, 320, 1),
  s('vae', 32, 512, 512, 3),
  s('vae', 64, 256, 256, 3),
];

const label = (x: Shape) => `${x.what} ${x.k}x${x.k} ${x.hw}x${x.hw}x${x.cin}->${x.cout}`;
const flops = (x: Shape) => 2 * x.hw * x.hw * x.cout * x.cin * x.k * x.k;

export async function bench(h: Harness): Promise<void> {
  const shapes = h.quick ? QUICK : FULL;
  const tf = process.argv.includes('--no-tfjs') ? null : await loadTfjs(h);
  const mine = defaultVariant('conv2d', h.device.facts);
  const other: Conv2dVariant = mine === 'direct' ? 'gemm' : 'direct';
  const ratios: number[] = [];
  for (const [i, x] of shapes.entries()) {
    const ours = await runOurs(h, x, 'f32', mine);
    if (i === 0) {
      await runOurs(h, x, 'f16', mine);
      await runOurs(h, x, 'f32', other); // the other adapter class's kernel, for reference
    }
    if (tf) {
      const theirs = await runTfjs(h, tf, x);
      const r = h.ratio(`${label(x)}: engine (${mine}) vs tfjs`, ours, theirs);
      if (r !== null) ratios.push(r);
    }
  }
  if (ratios.length) h.note(`conv2d vs tfjs-webgpu: min ratio ${Math.min(...ratios).toFixed(2)}x over ${ratios.length} shapes (goal >= 1.5x on lavapipe)`);
}

function runOurs(h: Harness, x: Shape, dtype: 'f32' | 'f16', variant: Conv2dVariant): Promise<BenchResult | null> {
  return h.benchKernel({
    name: 'conv2d', shape: label(x), dtype, flops: flops(x), variant,
    build: (g) => ({
      y: conv2d(g.input('x', [1, x.cin, x.hw, x.hw]), g.input('w', [x.cout, x.cin, x.k, x.k]), g.input('b', [x.cout]), { padding: x.pad, variant }),
    }),
  });
}

type Tf = typeof import('@tensorflow/tfjs-core');

/**
 * tfjs-backend-webgpu looks for `navigator.gpu`; we give it a Dawn instance from the
 * `webgpu` package. This bench file is the only place outside src/gpu that imports
 * `webgpu`, and only for that. Returns null (and says why) when tfjs cannot start.
 */
async function loadTfjs(h: Harness): Promise<Tf | null> {
  try {
    const { create } = await import('webgpu');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend(webgpu) failed');
    await tf.ready();
    const info = (tf.backend() as any).adapterInfo;
    h.note(`tfjs ${tf.version_core} webgpu backend on ${info?.vendor ?? '?'} ${info?.architecture ?? ''}`.trim());
    return tf;
  } catch (e) {
    h.note(`tfjs-backend-webgpu unavailable (${(e as Error).message}); skipping the comparison`);
    return null;
  }
}

async function runTfjs(h: Harness, tf: Tf, x: Shape): Promise<BenchResult | null> {
  const input = tf.randomUniform([1, x.hw, x.hw, x.cin], -1, 1) as any;
  const filter = tf.randomUniform([x.k, x.k, x.cin, x.cout], -0.05, 0.05) as any;
  const bias = tf.randomUniform([x.cout], -1, 1) as any;
  const conv = () => tf.fused.conv2d({ x: input, filter, bias, strides: 1, pad: x.pad });
  try {
    const warm = conv(); // warm-up: compiles tfjs's pipelines
    await warm.data();
    warm.dispose();
    return await h.timed({
      name: 'conv2d', shape: label(x), dtype: 'f32', flops: flops(x), impl: 'tfjs',
      run: async () => {
        const y = conv();
        await y.data();
        y.dispose();
      },
      gpuMs: async () => {
        const t = await tf.time(() => { tf.tidy(() => { conv(); }); });
        return typeof t.kernelMs === 'number' ? t.kernelMs : null;
      },
    });
  } finally {
    tf.dispose([input, filter, bias]);
    tf.disposeVariables();
  }
}
