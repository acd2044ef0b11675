// The f16 policy: f16 is honoured wherever the adapter has shader-f16 (measured to pay end
// to end on lavapipe); without it an 'auto' f16 graph runs in f32, said once, instead of
// failing to compile. 'native' keeps f16; ENGINE_F16 overrides; SD pipelines use 'auto'.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'node:path';
import { Device } from '../../src/gpu/device.ts';
import { computeDtype, f16Pays } from '../../src/ops/f16_policy.ts';
import { TextToImagePipeline } from '../../src/pipeline/pipeline.ts';

const lavapipe = { hasF16: () => true, adapterName: 'llvmpipe' };
const noF16 = { hasF16: () => false, adapterName: 'old GPU' };
const DEFAULT = path.join(path.dirname(new URL(import.meta.url).pathname), '../../weights/default');

function withEnv<T>(v: string | undefined, fn: () => T): T {
  const old = process.env.ENGINE_F16;
  if (v === undefined) delete process.env.ENGINE_F16; else process.env.ENGINE_F16 = v;
  try { return fn(); } finally { if (old === undefined) delete process.env.ENGINE_F16; else process.env.ENGINE_F16 = old; }
}

test('computeDtype: auto keeps f16 with shader-f16, picks f32 without it and says so; native keeps f16', () => {
  withEnv(undefined, () => {
    const said: string[] = [];
    const say = (l: string) => said.push(l);
    assert.is(computeDtype('f16', lavapipe, 'auto', say), 'f16');
    assert.is(said.length, 0);
    assert.is(computeDtype('f16', noF16, 'auto', say), 'f32');
    assert.match(said[0], /old GPU has no shader-f16.*run in f32.*ENGINE_F16=native/);
    assert.is(computeDtype('f16', noF16, 'native', say), 'f16');
    assert.is(computeDtype('f32', noF16, 'auto', say), 'f32');
    assert.ok(f16Pays(lavapipe) && !f16Pays(noF16));
  });
  assert.is(withEnv('native', () => computeDtype('f16', noF16, 'auto', () => {})), 'f16');
  assert.is(withEnv('auto', () => computeDtype('f16', noF16, 'native', () => {})), 'f32');
  assert.throws(() => withEnv('fast', () => computeDtype('f16', noF16, 'auto', () => {})), /ENGINE_F16 must be 'auto' or 'native', got 'fast'/);
});

test('the SD pipeline asked for f16 on a device without shader-f16 gives the f32 image', async () => {
  const dev = await Device.open({ disableFeatures: ['shader-f16'] });
  const o = { prompts: ['a lighthouse at dusk'], seed: 3 };
  const image = async (opts: { dtype: 'f16' | 'f32' }) => {
    const p = TextToImagePipeline.load(DEFAULT, { ...opts, device: dev });
    try { return (await p.generate(o)).image.data; } finally { p.destroy(); }
  };
  try {
    assert.not.ok(dev.hasF16());
    const f32 = await image({ dtype: 'f32' });
    const auto = await withEnv(undefined, () => image({ dtype: 'f16' }));
    assert.ok(auto.every((v, i) => Object.is(v, f32[i])), 'f16 asked without shader-f16 = the f32 image, bit for bit');
  } finally {
    dev.destroy();
  }
});

test.run();
