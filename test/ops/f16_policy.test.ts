// The f16 policy: on adapters where f16 does not pay (CPU-emulated) an 'auto' f16 graph
// runs in f32, said once; 'native' and GPUs keep f16; ENGINE_F16 overrides; pipelines
// use 'auto', and a tensor over the binding limit in f32 keeps its graph in f16.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'node:path';
import { computeDtype, f16Pays } from '../../src/ops/f16_policy.ts';
import { GraphCache } from '../../src/models/api/common.ts';
import { TextToImagePipeline } from '../../src/pipeline/pipeline.ts';
import { device } from '../util/gpu.ts';

const cpu = { isSoftware: true, hasF16: () => true, adapterName: 'llvmpipe' };
const gpu = { isSoftware: false, hasF16: () => true, adapterName: 'NVIDIA H200' };
const DEFAULT = path.join(path.dirname(new URL(import.meta.url).pathname), '../../weights/default');

function withEnv<T>(v: string | undefined, fn: () => T): T {
  const old = process.env.ENGINE_F16;
  if (v === undefined) delete process.env.ENGINE_F16; else process.env.ENGINE_F16 = v;
  try { return fn(); } finally { if (old === undefined) delete process.env.ENGINE_F16; else process.env.ENGINE_F16 = old; }
}

test('computeDtype: auto picks f32 on a CPU-emulated adapter and says so; GPUs and native keep f16', () => {
  withEnv(undefined, () => {
    const said: string[] = [];
    const say = (l: string) => said.push(l);
    assert.is(computeDtype('f16', cpu, 'auto', say), 'f32');
    assert.match(said[0], /llvmpipe.*run in f32.*ENGINE_F16=native/);
    assert.is(computeDtype('f16', cpu, 'native', say), 'f16');
    assert.is(computeDtype('f16', gpu, 'auto', say), 'f16');
    assert.is(computeDtype('f32', cpu, 'auto', say), 'f32');
    assert.is(said.length, 1);
    assert.ok(f16Pays(gpu) && !f16Pays(cpu));
  });
  assert.is(withEnv('native', () => computeDtype('f16', cpu, 'auto', () => {})), 'f16');
  assert.is(withEnv('auto', () => computeDtype('f16', cpu, 'native', () => {})), 'f32');
  assert.throws(() => withEnv('fast', () => computeDtype('f16', cpu, 'auto', () => {})), /ENGINE_F16 must be 'auto' or 'native', got 'fast'/);
});

test('GraphCache auto: f32 where tensors fit the binding limit, f16 where one would not', async () => {
  const dev = await device();
  if (!dev.isSoftware) { console.log(`skipped: ${dev.adapterName} is not CPU-emulated (f16 pays; auto keeps f16)`); return; }
  const cache = new GraphCache('f16', Promise.resolve(dev), 2, 'auto');
  try {
    const small = await cache.get('small', (g) => ({ y: g.input('x', [4]) }));
    assert.is(small.ex.plan.graph.dtype, 'f32');
    // 40M values: 80 MB in f16, 160 MB in f32 (over lavapipe's 128 MiB binding limit).
    const n = Math.floor(dev.limits.maxStorageBufferBindingSize / 4) + 1024;
    const big = await cache.get('big', (g) => ({ y: g.input('x', [n]) }));
    assert.is(big.ex.plan.graph.dtype, 'f16');
  } finally {
    cache.destroy();
  }
});

test('the SD pipeline asked for f16 on a CPU-emulated adapter gives the f32 image; f16 native differs', async () => {
  const dev = await device();
  if (!dev.isSoftware) { console.log(`skipped: ${dev.adapterName} is not CPU-emulated`); return; }
  const o = { prompts: ['a lighthouse at dusk'], seed: 3 };
  const image = async (opts: { dtype: 'f16' | 'f32'; f16?: 'native' }) => {
    const p = TextToImagePipeline.load(DEFAULT, opts);
    try { return (await p.generate(o)).image.data; } finally { p.destroy(); }
  };
  const f32 = await image({ dtype: 'f32' });
  const auto = await withEnv(undefined, () => image({ dtype: 'f16' }));
  const native = await withEnv(undefined, () => image({ dtype: 'f16', f16: 'native' }));
  assert.ok(auto.every((v, i) => Object.is(v, f32[i])), 'auto f16 = f32 bit for bit on this adapter');
  let d = 0;
  for (let i = 0; i < f32.length; i++) d = Math.max(d, Math.abs(native[i] - f32[i]));
  console.log(`weights/default: f16 native vs f32 image max |diff| ${d.toExponential(2)}`);
  assert.ok(d > 0, 'native f16 really ran f16 kernels');
});

test.run();
