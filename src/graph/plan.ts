// Plan step: keep what the outputs need, order it, compute each intermediate's
// lifetime and assign buffers so that intermediates whose lifetimes don't overlap
// share memory. Inputs, weights, constants and requested outputs are pinned.
import { EngineError } from '../errors.ts';
import { byteSize } from '../tensor/dtype.ts';
import type { Graph, Node } from './graph.ts';

export interface Plan {
  graph: Graph;
  /** Op nodes to execute, in order. */
  order: Node[];
  /** Every live node (leaves, views, ops) in id order. */
  live: Node[];
  /** Storage root of each live node (views map to the node they alias). */
  root: Map<Node, Node>;
  /** Pool buffer index of each planned intermediate root. */
  slot: Map<Node, number>;
  /** Size of each pool buffer. */
  poolSizes: number[];
  /** Bytes of pinned storage by kind. */
  pinned: { weights: number; inputs: number; outputs: number };
  /** Sum of every intermediate's size: what no reuse would cost. */
  intermediateBytes: number;
  /** Planned peak: pool + pinned. */
  peakBytes: number;
}

export interface PlanOptions {
  /** No buffer sharing (validate mode keeps every intermediate readable). */
  noReuse?: boolean;
}

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

  const pinnedRoots = new Set<Node>();
  for (const n of liveNodes) if (n.op === 'leaf') pinnedRoots.add(n);
  for (const n of graph.outputs.values()) pinnedRoots.add(root.get(n)!);

  const order = liveNodes.filter((n) => n.op !== 'leaf' && n.op !== 'view');
  const step = new Map<Node, number>(order.map((n, i) => [n, i]));
  const lastUse = new Map<Node, number>();
  for (const n of order) {
    // Uses go to the storage root, so a view read late keeps what it aliases alive.
    for (const i of n.inputs) lastUse.set(root.get(i)!, step.get(n)!);
  }

  const slot = new Map<Node, number>();
  const poolSizes: number[] = [];
  const free: number[] = [];
  const expiring: { at: number; buf: number }[] = [];
  let intermediateBytes = 0;
  for (const n of order) {
    const s = step.get(n)!;
    // Buffers whose last reader ran before this step may be reused now.
    for (let k = expiring.length - 1; k >= 0; k--) {
      if (expiring[k].at < s) {
        free.push(expiring[k].buf);
        expiring.splice(k, 1);
      }
    }
    if (pinnedRoots.has(n)) continue;
    const bytes = alignUp(byteSize(n.shape, n.dtype), 256);
    intermediateBytes += bytes;
    let buf = -1;
    if (!opts.noReuse && free.length) {
      // Best fit among free buffers; otherwise grow the largest (sizes are virtual until compile).
      let best = -1;
      for (let k = 0; k < free.length; k++) {
        const size = poolSizes[free[k]];
        if (size >= bytes && (best < 0 || size < poolSizes[free[best]])) best = k;
      }
      if (best < 0) best = free.reduce((bi, b, k) => (poolSizes[b] > poolSizes[free[bi]] ? k : bi), 0);
      buf = free.splice(best, 1)[0];
      poolSizes[buf] = Math.max(poolSizes[buf], bytes);
    } else {
      buf = poolSizes.length;
      poolSizes.push(bytes);
    }
    slot.set(n, buf);
    expiring.push({ at: lastUse.get(n) ?? s, buf });
  }

  const pinned = { weights: 0, inputs: 0, outputs: 0 };
  for (const r of pinnedRoots) {
    const bytes = byteSize(r.shape, r.dtype);
    if (r.leaf?.kind === 'input') pinned.inputs += bytes;
    else if (r.op === 'leaf') pinned.weights += bytes;
    else pinned.outputs += bytes;
  }
  const pool = poolSizes.reduce((a, b) => a + b, 0);
  return {
    graph, order, live: liveNodes, root, slot, poolSizes, pinned, intermediateBytes,
    peakBytes: pool + pinned.weights + pinned.inputs + pinned.outputs,
  };
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
