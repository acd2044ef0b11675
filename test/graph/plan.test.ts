import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph } from '../../src/graph/graph.ts';
import { plan } from '../../src/graph/plan.ts';
import { Executable } from '../../src/graph/run.ts';
import { add, mul } from '../../src/ops/binary.ts';
import { binary } from '../../src/ref/binary.ts';
import { assertClose } from '../util/compare.ts';
import { device, rand } from '../util/gpu.ts';

/** x -> (x+w) -> (*w) -> (+w) ... a chain of `n` intermediates of equal size. */
function chain(n: number, size: number) {
  const g = new Graph('f32');
  const x = g.input('x', [size]);
  const w = g.weight({ name: 'w', shape: [size], data: rand(size, 9) });
  let h = x;
  for (let i = 0; i < n; i++) h = i % 2 ? mul(h, w) : add(h, w);
  g.output('y', h);
  return { g, w };
}

test('planned peak memory on a chain is below the sum of its intermediates', () => {
  const { g } = chain(10, 1024);
  const p = plan(g);
  console.log(`  chain of 10: arena tensors ${p.intermediateBytes} B, laid out in ${p.arenaBytes} B (${p.chunkSizes.length} chunk), peak ${p.peakBytes} B`);
  assert.ok(p.arenaBytes < p.intermediateBytes, `arena ${p.arenaBytes} should be < ${p.intermediateBytes}`);
  assert.is(p.arenaBytes, 2 * 4096, 'a chain needs two ping-pong tensors');
  assert.is(p.peakBytes, p.arenaBytes + p.pinned.weights + p.pinned.consts);
});

test('no-reuse plan (validate mode) gives every arena tensor its own bytes', () => {
  const { g } = chain(6, 256);
  const p = plan(g, { noReuse: true });
  assert.is(p.arenaBytes, 7 * 1024, 'input + 6 intermediates, 1 KiB each');
});

test('dead nodes are not planned; views share storage with what they alias', () => {
  const g = new Graph('f32');
  const x = g.input('x', [4, 4]);
  const dead = add(x, x);
  const y = add(g.view(add(x, x), [16]), g.input('b', [16]));
  g.output('y', y);
  const p = plan(g);
  assert.not.ok(p.order.includes(dead));
  const v = p.live.find((n) => n.op === 'view')!;
  assert.is(p.root.get(v), v.inputs[0]);
});

test('reused buffers still give the right answer (chain run on the GPU)', async () => {
  const size = 333;
  const { g } = chain(7, size);
  const dev = await device();
  const ex = await Executable.compile(dev, g);
  const xv = rand(size, 3);
  const { y } = await ex.run({ x: xv });
  let h: Float32Array = xv;
  const w = rand(size, 9);
  for (let i = 0; i < 7; i++) h = binary(i % 2 ? 'mul' : 'add', h, [size], w, [size]);
  assertClose('chain', y, h, 1e-5, 1e-5);
  // A second run with new inputs reuses the compiled plan.
  const { y: y2 } = await ex.run({ x: new Float32Array(size) });
  assert.ok(Math.abs(y2[0]) < 100);
  ex.destroy();
});

test('inputs are checked by name, count and shape', async () => {
  const g = new Graph('f32');
  g.output('y', add(g.input('x', [3]), g.input('b', [3])));
  const ex = await Executable.compile(await device(), g);
  try { await ex.run({ x: [1, 2, 3] }); assert.unreachable(); } catch (e: any) { assert.match(e.message, /missing input 'b'/); }
  try { await ex.run({ x: [1, 2], b: [1, 2, 3] }); assert.unreachable(); } catch (e: any) { assert.match(e.message, /input 'x': expected 3 values/); }
  try { await ex.run({ x: [1, 2, 3], b: [1, 2, 3], z: [1] }); assert.unreachable(); } catch (e: any) { assert.match(e.message, /unknown input 'z'/); }
  ex.destroy();
});

test('tensors over the binding limit are rejected naming the tensor and the limit', async () => {
  const dev = await device();
  const n = Math.floor(dev.limits.maxStorageBufferBindingSize / 4) + 1;
  const g = new Graph('f32');
  g.output('y', add(g.input('huge', [n]), g.input('b', [1])));
  try {
    await Executable.compile(dev, g);
    assert.unreachable('should reject');
  } catch (e: any) {
    assert.match(e.message, /maxStorageBufferBindingSize/);
    assert.match(e.message, /huge|binary/);
  }
});

test.run();
