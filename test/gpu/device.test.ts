import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grid1d } from '../../src/gpu/facts.ts';
import { defineKernelSource, preprocess } from '../../src/gpu/kernels.ts';
import { GpuTensor } from '../../src/tensor/tensor.ts';
import { device } from '../util/gpu.ts';

test('adapter is reported with the features the engine asked for', async () => {
  const dev = await device();
  assert.ok(dev.adapterName.length > 0);
  for (const f of ['shader-f16', 'timestamp-query']) {
    if (dev.adapter.features.includes(f)) assert.ok(dev.features.has(f), `${f} offered but not enabled`);
  }
  assert.is(dev.limits.maxStorageBufferBindingSize, dev.adapter.maxStorageBufferBindingSize);
});

test('a kernel that does not compile names the kernel and the line', async () => {
  const dev = await device();
  defineKernelSource('bad_kernel', '@compute @workgroup_size(1) fn main() {\n  let x: u32 = undefined_thing;\n}\n');
  try {
    await dev.pipeline({ name: 'bad_kernel', dtype: 'f32' });
    assert.unreachable();
  } catch (e: any) {
    assert.match(e.message, /bad_kernel\|f32/);
    assert.match(e.message, /line \d+/);
  }
});

test('a validation error at submit surfaces naming the operation', async () => {
  const dev = await device();
  defineKernelSource('needs_two', `
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(1) fn main() { a[0] = b[0]; }`);
  const p = await dev.pipeline({ name: 'needs_two', dtype: 'f32' });
  const buf = dev.createBuffer(16, 'x');
  // Same buffer bound twice as writable storage: invalid in WebGPU.
  let err: any;
  try {
    const bg = dev.bindGroup(p, [{ buffer: buf }, { buffer: buf }], 'aliasing');
    await dev.submit([{ pipeline: p, bindGroup: bg, grid: [1, 1, 1], label: 'aliasing' }], 'aliasing test');
  } catch (e) { err = e; }
  assert.ok(err, 'expected an error');
  assert.match(String(err.message), /aliasing/);
  buf.destroy();
});

test('preprocessor: nested #if/#else keeps line numbers', () => {
  const src = 'a\n#if X\nb\n#if !Y\nc\n#else\nd\n#endif\n#else\ne\n#endif\nf';
  const out = preprocess(src, { X: true, Y: false }, 't').split('\n');
  assert.equal(out.length, src.split('\n').length);
  assert.equal(out.filter(Boolean), ['a', 'b', 'c', 'f']);
  assert.throws(() => preprocess('#if X\n', {}, 't'), /unterminated/);
});

test('grid1d splits big dispatches under 65535 per dimension', () => {
  assert.equal(grid1d(10), [10, 1, 1]);
  const [x, y] = grid1d(65536 * 3);
  assert.ok(x <= 65535 && y <= 65535 && x * y >= 65536 * 3);
});

test('GpuTensor views: reshape, permute and slice share the buffer', async () => {
  const dev = await device();
  const data = Array.from({ length: 24 }, (_, i) => i);
  const t = GpuTensor.upload(dev, data, [2, 3, 4], 'f32');
  assert.equal([...(await t.permute([2, 0, 1]).download())].slice(0, 6), [0, 4, 8, 12, 16, 20]);
  assert.equal([...(await t.slice(1, 1, 3).download())], [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]);
  assert.equal([...(await t.reshape([6, 4]).slice(0, 5, 6).download())], [20, 21, 22, 23]);
  assert.throws(() => t.permute([2, 0, 1]).reshape([24]), /non-contiguous/);
  const h = GpuTensor.upload(dev, [1.5, -2, 3.25], [3], 'f16');
  assert.equal([...(await h.slice(0, 1, 3).download())], [-2, 3.25]);
  t.destroy();
  h.destroy();
});

test.run();
