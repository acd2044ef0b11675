// ResnetBlock2D and the conv resamplers of the UNet and VAE blocks.
// Follows diffusers v0.31.0:
//   src/diffusers/models/resnet.py (ResnetBlock2D)
//   src/diffusers/models/downsampling.py (Downsample2D), upsampling.py (Upsample2D)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/resnet.py
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { add, concat, reshape, scale, silu, upsampleNearest2x } from '../ops/index.ts';
import { Conv2d, GroupNorm, Linear } from './nn.ts';

export interface ResnetOptions {
  inChannels: number;
  outChannels: number;
  /** Width of the timestep embedding; null where blocks get none (VAE). */
  tembChannels: number | null;
  groups: number;
  eps: number;
  outputScaleFactor?: number;
}

export class ResnetBlock2D {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj: Linear | null;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | null;
  readonly outputScaleFactor: number;

  constructor(ws: WeightScope, o: ResnetOptions) {
    const { inChannels: cin, outChannels: cout } = o;
    this.norm1 = new GroupNorm(ws.sub('norm1'), o.groups, cin, o.eps);
    this.conv1 = new Conv2d(ws.sub('conv1'), cin, cout, 3, 1, 1);
    this.time_emb_proj = o.tembChannels ? new Linear(ws.sub('time_emb_proj'), o.tembChannels, cout) : null;
    this.norm2 = new GroupNorm(ws.sub('norm2'), o.groups, cout, o.eps);
    this.conv2 = new Conv2d(ws.sub('conv2'), cout, cout, 3, 1, 1);
    this.conv_shortcut = cin !== cout ? new Conv2d(ws.sub('conv_shortcut'), cin, cout, 1) : null;
    this.outputScaleFactor = o.outputScaleFactor ?? 1;
  }

  // x [B, Cin, H, W], temb [B, T] | null -> [B, Cout, H, W]
  forward(x: Node, temb: Node | null): Node {
    let h = this.norm1.forward(x, { silu: true }); // [B, Cin, H, W]
    h = this.conv1.forward(h); // [B, Cout, H, W]
    if (temb && this.time_emb_proj) {
      const t = this.time_emb_proj.forward(silu(temb)); // [B, Cout]
      h = add(h, reshape(t, [t.dim(0), t.dim(1), 1, 1])); // + t[:, :, None, None]
    }
    h = this.norm2.forward(h, { silu: true }); // [B, Cout, H, W]
    const shortcut = this.conv_shortcut ? this.conv_shortcut.forward(x) : x; // [B, Cout, H, W]
    // shortcut + conv2(h), the add fused into conv2's stores (one pass less over the tensor).
    const out = this.conv2.forward(h, shortcut); // [B, Cout, H, W]
    return this.outputScaleFactor === 1 ? out : scale(out, 1 / this.outputScaleFactor);
  }
}

/** Conv downsampler: 3x3 stride 2. padding 0 means the VAE's asymmetric F.pad (0, 1, 0, 1). */
export class Downsample2D {
  readonly conv: Conv2d;
  constructor(ws: WeightScope, channels: number, readonly padding: number) {
    this.conv = new Conv2d(ws.sub('conv'), channels, channels, 3, 2, padding);
  }

  // x [B, C, H, W] -> [B, C, ceil(H/2), ceil(W/2)]
  forward(x: Node): Node {
    return this.conv.forward(this.padding === 0 ? padRightBottom(x) : x);
  }
}

/** One zero row at the bottom and one zero column at the right: [B, C, H, W] -> [B, C, H+1, W+1]. */
function padRightBottom(x: Node): Node {
  const g = x.graph;
  const [B, C, H, W] = x.shape;
  const col = g.constant(new Float32Array(B * C * H), [B, C, H, 1], x.dtype, 'pad_right');
  const row = g.constant(new Float32Array(B * C * (W + 1)), [B, C, 1, W + 1], x.dtype, 'pad_bottom');
  return concat([concat([x, col], 3), row], 2);
}

/** Nearest-neighbour x2, then a 3x3 conv. */
export class Upsample2D {
  readonly conv: Conv2d;
  constructor(ws: WeightScope, channels: number) {
    this.conv = new Conv2d(ws.sub('conv'), channels, channels, 3, 1, 1);
  }

  // x [B, C, H, W] -> [B, C, 2H, 2W]
  forward(x: Node): Node {
    return this.conv.forward(upsampleNearest2x(x));
  }
}
