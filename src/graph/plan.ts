// Plan step: keep what the outputs need, order it, compute each tensor's lifetime (the
// step that writes it to the last step that reads it or a view of it) and lay every
// intermediate, graph input, graph output and op scratch out in the device's arena
// (src/gpu/arena.ts) as (chunk, offset), so that tensors whose lifetimes overlap never
// share bytes and those that don't may. Only weights and constants are held per graph.
import { EngineError } from '../errors.ts';
import type { Scratch } from '../ops/registry.ts';
import { byteSize, shapeStr } from '../tensor/dtype.ts';
import type { Graph, Node } from './graph.ts';

/** Where a tensor lives in the arena: chunk index and 256-aligned byte offset in it. */
export interface Place { chunk: number; offset: number }

export interface Plan {
  graph: Graph;
  /** Op nodes to execute, in order. */
  order: Node[];
  /** Every live node (leaves, views, ops) in id order. */
  live: Node[];
  /** Storage root of each live node (views map to the node they alias). */
  root: Map<Node, Node>;
  /** Arena place of each root that lives in the arena (all but weights and constants). */
  place: Map<Node, Place>;
  /** Arena place of each op's scratch, keyed `${node.id}:${tag}`; alive during that op only. */
  scratch: Map<string, Place>;
  /** Bytes this plan needs of each arena chunk. */
  chunkSizes: number[];
  /** Steps [first, last] each arena root (and scratch key) is alive; inputs from step 0, outputs to the end. */
  lifetime: Map<Node | string, [number, number]>;
  /** Bytes held by this graph alone: weights and constants. */
  pinned: { weights: number; consts: number };
  /** Bytes of the arena's content by role (before reuse). */
  arena: { inputs: number; outputs: number; intermediates: number; scratch: number };
  /** Sum of every arena tensor's (aligned) size: what no reuse would cost. */
  intermediateBytes: number;
  /** Sum of chunkSizes: the most arena bytes alive at once, as laid out. */
  arenaBytes: number;
  /** Planned peak of this graph: arena + pinned. */
  peakBytes: number;
}

export interface PlanOptions {
  /** No sharing (validate mode keeps every intermediate readable). */
  noReuse?: boolean;
  /** Largest arena chunk (the adapter's binding / buffer limit); default unbounded. */
  chunkBytes?: number;
  /** Scratch each op asks for (from its kernel calls); default none. */
  scratch?: (n: Node) => Scratch[];
}

const ALIGN = 256; // minStorageBufferOffsetAlignment everywhere

export function plan(graph: Graph, opts: PlanOptions = {}): Plan {
  if (graph.outputs.size === 0) throw new EngineError('graph has no outputs');
  const live = new Set<Node>();
  const visit = (n: Node) => {
    if (live.has(n)) return;
    live.add(n);
    for (const i of n.inputs) visit(i);
  };
  for (const n of graph.outputs.values()) visit(n);
  const liveNodes = [...live].sort((a, b) => a.id - b.id);

  const root = new Map<Node, Node>();
  for (const n of liveNodes) root.set(n, n.op === 'view' ? root.get(n.inputs[0])! : n);
  const held = (n: Node) => n.leaf !== undefined && n.leaf.kind !== 'input'; // weights, constants

  const order = liveNodes.filter((n) => n.op !== 'leaf' && n.op !== 'view');
  const end = order.length; // "after the last op": outputs live until they are read
  const step = new Map(order.map((n, i) => [n, i]));
  const lifetime = new Map<Node | string, [number, number]>();
  const items: { key: Node | string; bytes: number }[] = [];
  const arena = { inputs: 0, outputs: 0, intermediates: 0, scratch: 0 };
  const outputs = new Set([...graph.outputs.values()].map((n) => root.get(n)!));
  for (const n of liveNodes) {
    if (root.get(n) !== n || held(n)) continue;
    // Inputs are written before the first op; an op's output exists from its own step.
    const first = n.op === 'leaf' ? 0 : step.get(n)!;
    lifetime.set(n, [first, outputs.has(n) ? end : first]);
    const bytes = alignUp(Math.max(1, byteSize(n.shape, n.dtype)), ALIGN);
    items.push({ key: n, bytes });
    arena[n.op === 'leaf' ? 'inputs' : outputs.has(n) ? 'outputs' : 'intermediates'] += bytes;
  }
  order.forEach((n, s) => {
    // Uses go to the storage root, so a view read late keeps what it aliases alive.
    for (const i of n.inputs) {
      const t = lifetime.get(root.get(i)!);
      if (t) t[1] = Math.max(t[1], s);
    }
    const sizes = new Map<string, number>();
    for (const sc of opts.scratch?.(n) ?? []) sizes.set(sc.tag, Math.max(sizes.get(sc.tag) ?? 0, sc.scratch));
    for (const [tag, b] of sizes) {
      const key = `${n.id}:${tag}`;
      lifetime.set(key, [s, s]);
      items.push({ key, bytes: alignUp(Math.max(1, b), ALIGN) });
      arena.scratch += alignUp(b, ALIGN);
    }
  });
  if (opts.noReuse) for (const t of lifetime.values()) [t[0], t[1]] = [0, end];

  const limit = opts.chunkBytes ?? Infinity;
  for (const it of items) {
    if (it.bytes > limit) {
      const what = typeof it.key === 'string' ? `scratch ${it.key}` : `${it.key.label}: tensor ${shapeStr(it.key.shape)} ${it.key.dtype}`;
      throw new EngineError(`${what} needs ${it.bytes} bytes, over the adapter's maxStorageBufferBindingSize ${limit}`);
    }
  }
  const { places, chunkSizes } = layout(items.map((it) => ({ bytes: it.bytes, life: lifetime.get(it.key)! })), limit);
  const place = new Map<Node, Place>();
  const scratch = new Map<string, Place>();
  items.forEach((it, i) => (typeof it.key === 'string' ? scratch.set(it.key, places[i]) : place.set(it.key, places[i])));

  const pinned = { weights: 0, consts: 0 };
  for (const n of liveNodes) if (root.get(n) === n && held(n)) pinned[n.leaf!.kind === 'weight' ? 'weights' : 'consts'] += byteSize(n.shape, n.dtype);
  const arenaBytes = chunkSizes.reduce((a, b) => a + b, 0);
  return {
    graph, order, live: liveNodes, root, place, scratch, chunkSizes, lifetime, pinned, arena,
    intermediateBytes: items.reduce((a, it) => a + it.bytes, 0), arenaBytes,
    peakBytes: arenaBytes + pinned.weights + pinned.consts,
  };
}

/**
 * Greedy by size (largest first): each tensor takes the lowest offset, in the first chunk
 * where it fits under `limit`, that no already placed tensor alive at an overlapping step
 * occupies. Offline and simple; on UNet-like graphs it lands close to the lower bound
 * (the most bytes alive at one step).
 */
export function layout(items: { bytes: number; life: [number, number] }[], limit: number): { places: Place[]; chunkSizes: number[] } {
  const byCost = items.map((_, i) => i).sort((a, b) => items[b].bytes - items[a].bytes || items[a].life[0] - items[b].life[0]);
  const places: Place[] = new Array(items.length);
  const chunkSizes: number[] = [];
  const placed: number[] = [];
  for (const i of byCost) {
    const { bytes, life: [s, e] } = items[i];
    const busy = placed.filter((j) => items[j].life[0] <= e && s <= items[j].life[1]);
    for (let c = 0; ; c++) {
      const ranges = busy.filter((j) => places[j].chunk === c).map((j) => [places[j].offset, places[j].offset + items[j].bytes]).sort((a, b) => a[0] - b[0]);
      let off = 0;
      for (const [lo, hi] of ranges) {
        if (lo >= off + bytes) break;
        off = Math.max(off, hi);
      }
      if (off + bytes <= limit) {
        places[i] = { chunk: c, offset: off };
        chunkSizes[c] = Math.max(chunkSizes[c] ?? 0, off + bytes);
        break;
      }
    }
    placed.push(i);
  }
  for (let c = 0; c < chunkSizes.length; c++) chunkSizes[c] ??= 0;
  return { places, chunkSizes };
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
