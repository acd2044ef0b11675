// FLOPs of a planned graph, counted from node shapes (multiply-add = 2 FLOPs). Only ops
// with real arithmetic are counted; copies and views are 0. Used by the guidance overhead
// benchmark and the `--profile` breakdowns.
import type { Node } from './graph.ts';
import type { Plan } from './plan.ts';

export function nodeFlops(n: Node): number {
  const [x, y] = n.inputs;
  switch (n.op) {
    case 'matmul': {
      const K = n.attrs.transB ? y.dim(-1) : y.dim(-2);
      return 2 * n.numel * K + (n.inputs.length > 2 ? n.numel : 0);
    }
    case 'conv2d': {
      const w = y; // [Cout, Cin, kh, kw]
      return 2 * n.numel * w.dim(1) * w.dim(2) * w.dim(3) + (n.inputs.length - 2) * n.numel; // + bias, + residual
    }
    case 'attention':
      return attnFlops(n, x, n.inputs[1], n.inputs[2]);
    case 'nasa': // two softmax-attentions, then Z+ - alpha Z-
      return attnFlops(n, x, n.inputs[1], n.inputs[2]) + attnFlops(n, x, n.inputs[3], n.inputs[4]) + 2 * n.numel;
    case 'layer_norm': case 'group_norm': case 'group_norm_split': case 'rms_norm': case 'softmax':
      return 5 * n.numel;
    case 'rope': // 4 multiplies and 2 adds per rotated pair
      return 3 * n.numel;
    case 'binary': case 'unary': case 'geglu': case 'nag':
      return n.numel * (n.op === 'nag' ? 8 : n.op === 'unary' ? 4 : 1);
    default:
      return 0;
  }
}

/** QK^T and PV products plus the softmax: 2*Nq*Nk*(D + Dv) + 5*Nq*Nk per head. */
function attnFlops(n: Node, q: Node, k: Node, v: Node): number {
  const H = n.attrs.heads as number;
  const B = q.dim(0), Nq = q.dim(1), Nk = k.dim(1), D = q.dim(2) / H, Dv = v.dim(2) / H;
  return B * H * Nq * Nk * (2 * (D + Dv) + 5);
}

export function planFlops(p: Plan): { total: number; byOp: Record<string, number> } {
  const byOp: Record<string, number> = {};
  let total = 0;
  for (const n of p.order) {
    const f = nodeFlops(n);
    byOp[n.op] = (byOp[n.op] ?? 0) + f;
    total += f;
  }
  return { total, byOp };
}
