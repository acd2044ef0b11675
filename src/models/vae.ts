// AutoencoderKL: the SD / SDXL image <-> latent autoencoder (encoder -> quant_conv ->
// (mean, logvar); post_quant_conv -> decoder); the scaling between its latents and the
// UNet's is src/models/latents.ts. Follows diffusers v0.31.0
//   src/diffusers/models/autoencoders/autoencoder_kl.py (AutoencoderKL)
//   src/diffusers/models/autoencoders/vae.py (Encoder, Decoder)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/autoencoders/vae.py
//
// The decoder is also exposed as a list of stages so that a run in f16 that overflows can
// redo just the stage that overflowed in f32 (see src/models/api/vae.ts).
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { slice } from '../ops/index.ts';
import type { VaeConfig } from './configs.ts';
import { Conv2d, GroupNorm, tap, tapping } from './nn.ts';
import { DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D, type VaeBlockOptions } from './unet_blocks.ts';

const EPS = 1e-6; // every VAE GroupNorm

export class Encoder {
  readonly conv_in: Conv2d;
  readonly down_blocks: DownEncoderBlock2D[];
  readonly mid_block: UNetMidBlock2D;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(ws: WeightScope, c: VaeConfig, readonly prefix = ws.prefix) {
    const boc = c.block_out_channels, n = boc.length;
    const o: VaeBlockOptions = { numLayers: c.layers_per_block, groups: c.norm_num_groups, eps: EPS };
    this.conv_in = new Conv2d(ws.sub('conv_in'), c.in_channels, boc[0], 3, 1, 1);
    this.down_blocks = boc.map((out, i) => new DownEncoderBlock2D(ws.sub(`down_blocks.${i}`), i === 0 ? boc[0] : boc[i - 1], out, i < n - 1, o));
    this.mid_block = new UNetMidBlock2D(ws.sub('mid_block'), boc[n - 1], c.mid_block_add_attention, o);
    this.conv_norm_out = new GroupNorm(ws.sub('conv_norm_out'), c.norm_num_groups, boc[n - 1], EPS);
    this.conv_out = new Conv2d(ws.sub('conv_out'), boc[n - 1], 2 * c.latent_channels, 3, 1, 1); // double_z
  }

  // x [B, in_channels, H, W] -> [B, 2*latent, H/f, W/f]
  forward(x: Node): Node {
    const p = this.prefix;
    let h = tap(`${p}.conv_in`, this.conv_in.forward(x)); // [B, boc0, H, W]
    this.down_blocks.forEach((b, i) => (h = tap(`${p}.down_blocks.${i}`, b.forward(h)))); // [B, boc[i], H/2^i, ...]
    h = tap(`${p}.mid_block`, this.mid_block.forward(h)); // [B, boc[-1], H/f, W/f]
    h = this.conv_norm_out.forward(h, { silu: true });
    return tap(`${p}.conv_out`, this.conv_out.forward(h)); // [B, 2*latent, H/f, W/f]
  }
}

export class Decoder {
  readonly conv_in: Conv2d;
  readonly mid_block: UNetMidBlock2D;
  readonly up_blocks: UpDecoderBlock2D[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(ws: WeightScope, c: VaeConfig, readonly prefix = ws.prefix) {
    const rev = [...c.block_out_channels].reverse(), n = rev.length;
    const o: VaeBlockOptions = { numLayers: c.layers_per_block + 1, groups: c.norm_num_groups, eps: EPS };
    this.conv_in = new Conv2d(ws.sub('conv_in'), c.latent_channels, rev[0], 3, 1, 1);
    this.mid_block = new UNetMidBlock2D(ws.sub('mid_block'), rev[0], c.mid_block_add_attention, o);
    this.up_blocks = rev.map((out, i) => new UpDecoderBlock2D(ws.sub(`up_blocks.${i}`), i === 0 ? rev[0] : rev[i - 1], out, i < n - 1, o));
    this.conv_norm_out = new GroupNorm(ws.sub('conv_norm_out'), c.norm_num_groups, rev[n - 1], EPS);
    this.conv_out = new Conv2d(ws.sub('conv_out'), rev[n - 1], c.out_channels, 3, 1, 1);
  }

  /** conv_in + mid_block, each up block, then the output head: the decoder in order. */
  stages(): { name: string; forward: (h: Node) => Node }[] {
    const p = this.prefix;
    return [
      {
        name: `${p}.mid_block`,
        forward: (z) => {
          const h = tap(`${p}.conv_in`, this.conv_in.forward(z)); // [B, boc[-1], h, w]
          return tap(`${p}.mid_block`, this.mid_block.forward(h));
        },
      },
      ...this.up_blocks.map((b, i) => ({ name: `${p}.up_blocks.${i}`, forward: (h: Node) => tap(`${p}.up_blocks.${i}`, b.forward(h)) })),
      {
        name: `${p}.conv_out`,
        forward: (h) => {
          if (tapping(h.graph)) tap(`${p}.conv_norm_out`, this.conv_norm_out.forward(h)); // debug only (fused below)
          return this.conv_out.forward(this.conv_norm_out.forward(h, { silu: true })); // [B, out_channels, H, W]
        },
      },
    ];
  }

  // z [B, latent, h, w] -> [B, out_channels, h*f, w*f]
  forward(z: Node): Node {
    return this.stages().reduce((h, s) => s.forward(h), z);
  }
}

export class AutoencoderKL {
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv: Conv2d | null;
  readonly post_quant_conv: Conv2d | null;

  constructor(ws: WeightScope, readonly config: VaeConfig) {
    const L = config.latent_channels;
    this.encoder = new Encoder(ws.sub('encoder'), config);
    this.decoder = new Decoder(ws.sub('decoder'), config);
    this.quant_conv = config.use_quant_conv ? new Conv2d(ws.sub('quant_conv'), 2 * L, 2 * L, 1) : null;
    this.post_quant_conv = config.use_post_quant_conv ? new Conv2d(ws.sub('post_quant_conv'), L, L, 1) : null;
  }

  /**
   * image [B, 3, H, W] in [-1, 1] -> mean, logvar [B, latent, H/f, W/f] of the latent
   * distribution. logvar is NOT clamped here (no clamp kernel): callers clamp to [-30, 20].
   */
  encode(x: Node): { mean: Node; logvar: Node } {
    let moments = this.encoder.forward(x); // [B, 2L, h, w]
    if (this.quant_conv) moments = tap('quant_conv', this.quant_conv.forward(moments));
    const L = this.config.latent_channels;
    return { mean: slice(moments, 1, 0, L), logvar: slice(moments, 1, L, 2 * L) }; // chunk(2, dim=1)
  }

  /** Decoder stages, post_quant_conv folded into the first. z is the UNSCALED latent. */
  decodeStages(): { name: string; forward: (h: Node) => Node }[] {
    const [first, ...rest] = this.decoder.stages();
    const pq = this.post_quant_conv;
    return [{ name: first.name, forward: (z) => first.forward(pq ? tap('post_quant_conv', pq.forward(z)) : z) }, ...rest];
  }

  // z [B, latent, h, w] (unscaled) -> image [B, out_channels, h*f, w*f], roughly [-1, 1]
  decode(z: Node): Node {
    return this.decodeStages().reduce((h, s) => s.forward(h), z);
  }
}
