// torch.nn building blocks over weight scopes: each checks its tensors' names and shapes
// when the model is built (so a bad checkpoint fails with the full tensor name before any
// GPU work) and records graph nodes in forward(). A module can be forwarded into any
// number of graphs (f32/f16, other input shapes); g.weight() dedups per graph.
import type { Graph, Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { squeezeConv1x1 } from '../io/views.ts';
import { conv2d, groupNorm, layerNorm, linear } from '../ops/index.ts';

const w = (g: Graph, s: WeightSource | null) => (s ? g.weight(s) : null);

/**
 * nn.Linear: weight [out, in], optional bias [out]. With `conv1x1` it is a 1x1 nn.Conv2d
 * applied to channels-last tokens: the same weights, [out, in, 1, 1] seen as [out, in]
 * (an already-linear [out, in] is accepted too, as diffusers does on load).
 */
export class Linear {
  readonly weight: WeightSource;
  readonly bias: WeightSource | null;
  constructor(ws: WeightScope, readonly inFeatures: number, readonly outFeatures: number, bias = true, opts: { conv1x1?: boolean } = {}) {
    const conv = opts.conv1x1 && ws.has('weight') && ws.get('weight').shape.length === 4;
    this.weight = conv ? squeezeConv1x1(ws.get('weight', [outFeatures, inFeatures, 1, 1])) : ws.get('weight', [outFeatures, inFeatures]);
    this.bias = bias ? ws.get('bias', [outFeatures]) : null;
  }

  // x [..., in] -> [..., out]; a q8_0 weight stays in blocks (matmul dequantizes on load)
  forward(x: Node): Node {
    const g = x.graph;
    return linear(x, g.weight(this.weight, this.weight.dtype === 'Q8_0' ? 'q8_0' : g.dtype), w(g, this.bias));
  }
}

/** nn.Conv2d (NCHW), square kernel. */
export class Conv2d {
  readonly weight: WeightSource;
  readonly bias: WeightSource | null;
  constructor(ws: WeightScope, inC: number, outC: number, readonly kernel: number, readonly stride = 1, readonly padding = 0, bias = true) {
    this.weight = ws.get('weight', [outC, inC, kernel, kernel]);
    this.bias = bias ? ws.get('bias', [outC]) : null;
  }

  // x [B, in, H, W] -> [B, out, H', W'] (+ residual [B, out, H', W'], added as it is stored)
  forward(x: Node, residual: Node | null = null): Node {
    const g = x.graph;
    return conv2d(x, g.weight(this.weight), w(g, this.bias), { stride: this.stride, padding: this.padding, residual });
  }
}

/** nn.GroupNorm (affine); `silu` fuses the activation that follows it in every SD block. */
export class GroupNorm {
  readonly weight: WeightSource;
  readonly bias: WeightSource;
  constructor(ws: WeightScope, readonly groups: number, channels: number, readonly eps: number) {
    this.weight = ws.get('weight', [channels]);
    this.bias = ws.get('bias', [channels]);
  }

  // x [B, C, ...] -> same
  forward(x: Node, opts: { silu?: boolean } = {}): Node {
    const g = x.graph;
    return groupNorm(x, this.groups, g.weight(this.weight), g.weight(this.bias), this.eps, opts);
  }
}

/** nn.LayerNorm over the last dim (affine). */
export class LayerNorm {
  readonly weight: WeightSource;
  readonly bias: WeightSource;
  constructor(ws: WeightScope, dim: number, readonly eps: number) {
    this.weight = ws.get('weight', [dim]);
    this.bias = ws.get('bias', [dim]);
  }

  // x [..., dim] -> same
  forward(x: Node): Node {
    const g = x.graph;
    return layerNorm(x, g.weight(this.weight), g.weight(this.bias), this.eps);
  }
}

// ---- taps: named intermediates for parity debugging ------------------------------------

const taps = new WeakMap<Graph, Map<string, Node>>();

/** Starts recording module outputs of `g` by module path (e.g. `down_blocks.0`). */
export function recordTaps(g: Graph): Map<string, Node> {
  let m = taps.get(g);
  if (!m) taps.set(g, (m = new Map()));
  return m;
}

/** Records `x` as the output of module `path` when the graph records taps; returns `x`. */
export function tap(path: string, x: Node): Node {
  taps.get(x.graph)?.set(path, x);
  return x;
}

/** Whether `g` records taps (to build debug-only nodes just then). */
export function tapping(g: Graph): boolean {
  return taps.has(g);
}
