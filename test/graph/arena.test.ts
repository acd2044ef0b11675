// The device arena: plans on a UNet-shaped DAG (long-lived skip connections, levels of
// different shapes, group-norm scratch) never give two simultaneously live tensors the same
// bytes, chunks respect the binding limit with no tensor straddling two, graphs on one
// device hold the maximum of their plans rather than the sum, and the results stay right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, type Node } from '../../src/graph/graph.ts';
import { plan, type Plan } from '../../src/graph/plan.ts';
import { Executable } from '../../src/graph/run.ts';
import { add, mul } from '../../src/ops/binary.ts';
import { groupNorm } from '../../src/ops/group_norm.ts';
import { getOp, type Scratch } from '../../src/ops/registry.ts';
import { binary } from '../../src/ref/binary.ts';
import { groupNorm as refGroupNorm } from '../../src/ref/group_norm.ts';
import { byteSize } from '../../src/tensor/dtype.ts';
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

/** What the encoders would ask as scratch, the way Executable plans it (CPU-adapter facts). */
const scratchOf = (n: Node): Scratch[] =>
  getOp(n.op).encode(n, { isSoftware: true, hasSubgroups: false, hasF16: false, maxWorkgroupStorage: 16384 }).flatMap((c) => c.buffers.filter((o): o is Scratch => 'scratch' in o));

/**
 * From first principles (not the plan's own lifetimes): a tensor lives from the step that
 * writes it (inputs: before step 0) to the last step reading it or a view of it (outputs:
 * to the end); scratch lives in its op's step. Any two alive at a common step must be in
 * different chunks or disjoint byte ranges; none may cross its chunk's end or the limit.
 */
function assertNoLiveOverlap(p: Plan, limit = Infinity): number {
  const rootOf = (n: Node): Node => (n.op === 'view' ? rootOf(n.inputs[0]) : n);
  const step = new Map(p.order.map((n, i) => [n, i]));
  const end = p.order.length;
  const outs = new Set([...p.graph.outputs.values()].map(rootOf));
  const spans: { what: string; chunk: number; lo: number; hi: number; s: number; e: number }[] = [];
  const last = new Map<Node, number>();
  for (const n of p.order) for (const i of n.inputs) last.set(rootOf(i), Math.max(last.get(rootOf(i)) ?? -1, step.get(n)!));
  for (const [n, at] of p.place) {
    const s = n.op === 'leaf' ? 0 : step.get(n)!;
    spans.push({ what: n.label, chunk: at.chunk, lo: at.offset, hi: at.offset + byteSize(n.shape, n.dtype), s, e: outs.has(n) ? end : Math.max(s, last.get(n) ?? s) });
  }
  for (const n of p.order) {
    const tags = new Map(scratchOf(n).map((sc) => [sc.tag, sc])); // one buffer per tag, shared by the op's calls
    for (const sc of tags.values()) {
      const at = p.scratch.get(`${n.id}:${sc.tag}`);
      assert.ok(at, `${n.label}: scratch ${sc.tag} not planned`);
      spans.push({ what: `${n.label} scratch ${sc.tag}`, chunk: at!.chunk, lo: at!.offset, hi: at!.offset + sc.scratch, s: step.get(n)!, e: step.get(n)! });
    }
  }
  for (const a of spans) {
    assert.ok(a.lo % 256 === 0, `${a.what}: offset ${a.lo} is not 256-aligned`);
    assert.ok(a.hi <= p.chunkSizes[a.chunk] && a.hi <= limit, `${a.what}: bytes [${a.lo}, ${a.hi}) cross chunk ${a.chunk} (${p.chunkSizes[a.chunk]} B, limit ${limit})`);
  }
  let pairs = 0;
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i], b = spans[j];
      if (a.s > b.e || b.s > a.e) continue;
      pairs++;
      assert.ok(a.chunk !== b.chunk || a.hi <= b.lo || b.hi <= a.lo,
        `${a.what} (steps ${a.s}..${a.e}, chunk ${a.chunk} [${a.lo}, ${a.hi})) and ${b.what} (steps ${b.s}..${b.e}, [${b.lo}, ${b.hi})) are alive together and overlap`);
    }
  }
  return pairs;
}

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

test('random DAGs (seeded) with chunk limits: no two live tensors overlap', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let t = 0; t < 40; t++) {
    const g = new Graph('f32');
    const nodes: Node[] = [16, 64, 256, 1024].map((s) => g.input(`x${s}`, [s]));
    const n = 5 + Math.floor(rnd() * 30);
    for (let i = 0; i < n; i++) {
      const a = nodes[Math.floor(rnd() * nodes.length)];
      const same = nodes.filter((m) => m.numel === a.numel);
      const b = same[Math.floor(rnd() * same.length)];
      nodes.push(rnd() < 0.2 ? g.view(add(g.view(a, [a.numel / 4, 4]), g.view(b, [b.numel / 4, 4])), [a.numel]) : rnd() < 0.5 ? add(a, b) : mul(a, b));
    }
    const ops = nodes.filter((m) => m.op !== 'leaf');
    for (let k = 0; k < 3; k++) g.output(`o${k}`, ops[Math.floor(rnd() * ops.length)]);
    g.output('last', nodes[nodes.length - 1]);
    const limit = t % 2 ? 8192 : Infinity;
    assertNoLiveOverlap(plan(g, { chunkBytes: limit }), limit);
  }
});

test('on the GPU: the UNet-like DAG in one chunk and in several equals the CPU; graphs share the arena', async () => {
  const dev = await device();
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
