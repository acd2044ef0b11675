// Checks on arena plans shared by the planner tests (test/graph/plan.test.ts, arena.test.ts).
import * as assert from 'uvu/assert';
import type { Node } from '../../src/graph/graph.ts';
import type { Plan } from '../../src/graph/plan.ts';
import { getOp, type Scratch } from '../../src/ops/registry.ts';
import { byteSize } from '../../src/tensor/dtype.ts';

/** What the encoders would ask as scratch, the way Executable plans it (CPU-adapter facts). */
export const scratchOf = (n: Node): Scratch[] =>
  getOp(n.op).encode(n, { isSoftware: true, hasSubgroups: false, hasF16: false, maxWorkgroupStorage: 16384, maxBindingBytes: 2 ** 27, variants: {} }).flatMap((c) => c.buffers.filter((o): o is Scratch => 'scratch' in o));

/**
 * From first principles (not the plan's own lifetimes): a tensor lives from the step that
 * writes it (inputs: before step 0) to the last step reading it or a view of it (outputs:
 * to the end); scratch lives in its op's step. Any two alive at a common step must be in
 * different chunks or disjoint byte ranges; none may cross its chunk's end or the limit.
 */
export function assertNoLiveOverlap(p: Plan, limit = Infinity): number {
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

