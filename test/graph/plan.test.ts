import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph } from '../../src/graph/graph.ts';
import { plan } from '../../src/graph/plan.ts';
import { Executable } from '../../src/graph/run.ts';
import type { Node } from '../../src/graph/graph.ts';
import { add, mul } from '../../src/ops/binary.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { byteSize } from '../../src/tensor/dtype.ts';
import { binary } from '../../src/ref/binary.ts';
import { matmul as refMatmul } from '../../src/ref/matmul.ts';
import { assertNoLiveOverlap } from '../util/arena.ts';
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

/**
 * A UNet-shaped DAG: a down path whose every level's output is kept (through a view, as
 * the UNet's res-samples are) until the matching up level, a middle that outlives them
 * all, and levels of different sizes. Returns the graph and a CPU evaluation of it.
 */
function unetLike(levels = [32, 16, 8, 4], rows = 6) {
  const g = new Graph('f32');
  const x = g.input('x', [rows, levels[0]]);
  const ws: Record<string, [number[], Float32Array]> = {};
  const weight = (name: string, shape: number[]) => {
    const data = rand(shape[0] * shape[1], Object.keys(ws).length + 11, 0.5);
    ws[name] = [shape, data];
    return g.weight({ name, shape, data });
  };
  const skips: Node[] = [];
  let h: Node = x;
  for (let i = 1; i < levels.length; i++) {
    h = add(matmul(h, weight(`down${i}`, [levels[i - 1], levels[i]])), h.dim(1) === levels[i] ? h : matmul(h, weight(`proj${i}`, [levels[i - 1], levels[i]])));
    skips.push(g.view(h, [rows * levels[i]]));
  }
  h = mul(h, h); // the middle block
  for (let i = levels.length - 1; i >= 1; i--) {
    const skip = g.view(skips[i - 1], [rows, levels[i]]);
    h = matmul(add(h, skip), weight(`up${i}`, [levels[i], levels[i - 1]]));
  }
  g.output('y', h);
  // The same graph on the CPU.
  const mm = (a: Float32Array, [m, k]: number[], name: string) => refMatmul(a, [m, k], ws[name][1], ws[name][0], false, null);
  const cpu = (xv: Float32Array) => {
    const sk: Float32Array[] = [];
    let v = xv;
    for (let i = 1; i < levels.length; i++) {
      const d = mm(v, [rows, levels[i - 1]], `down${i}`);
      v = binary('add', d, [rows, levels[i]], levels[i - 1] === levels[i] ? v : mm(v, [rows, levels[i - 1]], `proj${i}`), [rows, levels[i]]);
      sk.push(v);
    }
    const last = levels[levels.length - 1];
    v = binary('mul', v, [rows, last], v, [rows, last]);
    for (let i = levels.length - 1; i >= 1; i--) v = mm(binary('add', v, [rows, levels[i]], sk[i - 1], [rows, levels[i]]), [rows, levels[i]], `up${i}`);
    return v;
  };
  return { g, cpu };
}

test('a UNet-like DAG with long-lived skips: no two live tensors share bytes, and it still reuses', () => {
  const { g } = unetLike();
  const p = plan(g);
  const pairs = assertNoLiveOverlap(p);
  console.log(`  unet-like: ${p.order.length} ops, ${pairs} simultaneously live pairs checked, arena ${p.arenaBytes} B in ${p.chunkSizes.length} chunk(s) vs ${p.intermediateBytes} B unshared`);
  assert.ok(pairs > 10, 'the DAG should keep several tensors alive at once');
  assert.ok(p.arenaBytes < p.intermediateBytes, 'bytes are reused where lifetimes allow');
});

test('random DAGs (seeded), with and without a chunk limit: no two live tensors share bytes', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let t = 0; t < 40; t++) {
    const g = new Graph('f32');
    const sizes = [16, 64, 256, 1024];
    const nodes: Node[] = sizes.map((s) => g.input(`x${s}`, [s]));
    const n = 5 + Math.floor(rnd() * 30);
    for (let i = 0; i < n; i++) {
      const a = nodes[Math.floor(rnd() * nodes.length)];
      const same = nodes.filter((m) => m.numel === a.numel);
      const b = same[Math.floor(rnd() * same.length)];
      const v = rnd() < 0.2 ? g.view(a, [a.numel / 4, 4]) : null;
      nodes.push(v ? g.view(add(v, g.view(b, [b.numel / 4, 4])), [a.numel]) : rnd() < 0.5 ? add(a, b) : mul(a, b));
    }
    // A few outputs, some early (pinned intermediates), the last always.
    const ops = nodes.filter((m) => m.op !== 'leaf');
    for (let k = 0; k < 3; k++) g.output(`o${k}`, ops[Math.floor(rnd() * ops.length)]);
    g.output('last', nodes[nodes.length - 1]);
    const limit = t % 2 ? 8192 : Infinity; // odd cases: several chunks
    assertNoLiveOverlap(plan(g, { chunkBytes: limit }), limit);
  }
});

test('the UNet-like DAG run on the GPU with reused buffers equals its CPU evaluation', async () => {
  const { g, cpu } = unetLike();
  const ex = await Executable.compile(await device(), g);
  try {
    const xv = rand(6 * 32, 5);
    const { y } = await ex.run({ x: xv });
    assertClose('unet-like', y, cpu(xv), 1e-5, 1e-4);
  } finally {
    ex.destroy();
  }
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
