// The device arena: plans on a UNet-shaped DAG (long-lived skip connections, levels of
// different shapes, group-norm scratch) never give two simultaneously live tensors the same
// bytes, chunks respect the binding limit with no tensor straddling two, graphs on one
// device hold the maximum of their plans rather than the sum, and the results stay right.
// (Random DAGs and a matmul UNet-like DAG: test/graph/plan.test.ts, same checker.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device } from '../../src/gpu/device.ts';
import { Graph, type Node } from '../../src/graph/graph.ts';
import { plan } from '../../src/graph/plan.ts';
import { Executable } from '../../src/graph/run.ts';
import { add, mul } from '../../src/ops/binary.ts';
import { groupNorm } from '../../src/ops/group_norm.ts';
import { binary } from '../../src/ref/binary.ts';
import { groupNorm as refGroupNorm } from '../../src/ref/group_norm.ts';
import { assertNoLiveOverlap, scratchOf } from '../util/arena.ts';
import { assertClose } from '../util/compare.ts';
import { device, rand } from '../util/gpu.ts';

/**
 * Down levels [C_i, H_i, H_i] (each kept as a skip, through a view as the UNet's res
 * samples are), a middle, and up levels that add the skip of the same level, with a group
 * norm (which plans scratch) per level. Returns the graph and the same computation on the CPU.
 */
function unetLike(levels = [[4, 16], [16, 8], [64, 4], [256, 2]]) {
  const g = new Graph('f32');
  const [C0, H0] = levels[0];
  const x = g.input('x', [1, C0, H0, H0]);
  const consts: Record<string, Float32Array> = {};
  const param = (name: string, n: number, seed: number) => g.weight({ name, shape: [n], data: (consts[name] = rand(n, seed, 0.5)) });
  const skips: Node[] = [];
  let h = x;
  levels.forEach(([C, H], i) => {
    const inp = i === 0 ? h : g.view(h, [1, C, H, H]); // same numel by construction below
    const n = groupNorm(inp, 2, param(`dn${i}.w`, C, 10 + i), param(`dn${i}.b`, C, 20 + i), 1e-5);
    h = add(n, inp);
    skips.push(g.view(h, [C * H * H]));
  });
  h = mul(h, h); // the middle block
  for (let i = levels.length - 1; i >= 0; i--) {
    const [C, H] = levels[i];
    const cur = g.view(h, [1, C, H, H]);
    // The split variant (stats in parts) is the one that plans scratch.
    const n = groupNorm(add(cur, g.view(skips[i], [1, C, H, H])), 2, param(`up${i}.w`, C, 30 + i), param(`up${i}.b`, C, 40 + i), 1e-5, { variant: 'split' });
    h = mul(n, cur);
  }
  g.output('y', h);
  const cpu = (xv: Float32Array) => {
    const sk: Float32Array[] = [];
    let v = xv;
    levels.forEach(([C, H], i) => {
      const n = refGroupNorm(v, [1, C, H, H], 2, consts[`dn${i}.w`], consts[`dn${i}.b`], 1e-5);
      v = binary('add', n, [C * H * H], v, [C * H * H]);
      sk.push(v);
    });
    v = binary('mul', v, [v.length], v, [v.length]);
    for (let i = levels.length - 1; i >= 0; i--) {
      const [C, H] = levels[i];
      const n = refGroupNorm(binary('add', v, [v.length], sk[i], [v.length]), [1, C, H, H], 2, consts[`up${i}.w`], consts[`up${i}.b`], 1e-5);
      v = binary('mul', n, [v.length], v, [v.length]);
    }
    return v;
  };
  return { g, cpu };
}
// Every level keeps C*H*H = 1024 values so it can be a view of the one above (what matters
// here is lifetimes; the random DAGs below mix sizes, and scratch differs per level).

test('UNet-like DAG: no two simultaneously live tensors (or scratch) overlap in the arena, and bytes are reused', () => {
  const { g } = unetLike();
  const p = plan(g, { scratch: scratchOf });
  const pairs = assertNoLiveOverlap(p);
  console.log(`  unet-like: ${p.order.length} ops, ${p.place.size} arena tensors + ${p.scratch.size} scratch, ${pairs} live pairs checked; arena ${p.arenaBytes} B vs ${p.intermediateBytes} B unshared`);
  assert.ok(pairs > 50, 'the skips keep many tensors alive at once');
  assert.ok(p.scratch.size >= 8, 'the split group norms plan their scratch');
  assert.ok(p.arenaBytes < p.intermediateBytes / 2, 'lifetimes that end are reused');
  // The skips all live through the middle: the arena can't be smaller than them.
  assert.ok(p.arenaBytes >= 4 * 4096, 'four 4 KiB skips are alive at the middle block');
});

test('chunks: a small limit splits the arena, no tensor straddles two, and over-limit tensors are named', () => {
  const { g } = unetLike();
  const limit = 3 * 4096;
  const p = plan(g, { scratch: scratchOf, chunkBytes: limit });
  assertNoLiveOverlap(p, limit);
  assert.ok(p.chunkSizes.length >= 2, `expected several chunks, got ${p.chunkSizes}`);
  assert.ok(p.chunkSizes.every((c) => c <= limit));
  try {
    plan(g, { chunkBytes: 2048 });
    assert.unreachable();
  } catch (e: any) {
    assert.match(e.message, /needs 4096 bytes, over the adapter's maxStorageBufferBindingSize 2048/);
  }
});

test('on the GPU: the UNet-like DAG in one chunk and in several equals the CPU; graphs share the arena', async () => {
  // A device of its own: the shared one's arena also serves graphs other test files left cached.
  const dev = await Device.open();
  const { g, cpu } = unetLike();
  const xv = rand(1024, 5);
  const want = cpu(xv);
  const arena0 = dev.arena.bytes;
  const one = await Executable.compile(dev, g);
  const split = await Executable.compile(dev, unetLike().g, { chunkBytes: 3 * 4096 });
  try {
    // Interleaved: the arena's turn-taking keeps one graph's run from clobbering the other's.
    const [a, b] = await Promise.all([one.run({ x: xv }), split.run({ x: xv })]);
    assertClose('one chunk', a.y, want, 1e-5, 1e-4);
    assertClose('three chunks', b.y, want, 1e-5, 1e-4);
    assert.ok(split.plan.chunkSizes.length >= 2);
    const held = dev.arena.bytes - arena0;
    assert.ok(held < one.plan.arenaBytes + split.plan.arenaBytes, `the arena holds ${held} B: per chunk the larger plan, not the sum ${one.plan.arenaBytes + split.plan.arenaBytes}`);
  } finally {
    one.destroy();
    split.destroy();
  }
  assert.is(dev.arena.bytes, arena0, 'destroying both graphs gives their arena bytes back');
  assert.is(dev.memory.snapshot().total, 0, 'and the device holds nothing');
  dev.destroy();
});

test('validate mode reads intermediates from their arena offsets', async () => {
  const { g, cpu } = unetLike();
  const ex = await Executable.compile(await device(), g, { validate: true });
  try {
    const xv = rand(1024, 6);
    assertClose('validate', (await ex.run({ x: xv })).y, cpu(xv), 1e-5, 1e-4);
  } finally {
    ex.destroy();
  }
});

test.run();
