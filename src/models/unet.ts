// UNet2DConditionModel: the denoiser of SD1.x (1x1-conv transformer projections), SD2.x
// (linear projections, per-block head counts, upcast attention) and SDXL ("text_time"
// added conditioning, several transformer layers per block), built from its config.json.
// Follows diffusers v0.31.0 src/diffusers/models/unets/unet_2d_condition.py:
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/unets/unet_2d_condition.py
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import type { GraphGuidance, GuidanceSite } from '../guidance/types.ts';
import { add, scale } from '../ops/index.ts';
import { unetDownFactor, type UNetConfig } from './configs.ts';
import { TextTimeEmbedding, TimestepEmbedding, Timesteps } from './embeddings.ts';
import { Conv2d, GroupNorm, tap, tapping } from './nn.ts';
import { DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D, type BlockOptions, type CrossAttnOptions } from './unet_blocks.ts';

export interface UNetForwardInputs {
  /** Noisy latent [B, in_channels, H, W]. */
  sample: Node;
  /** One timestep per batch item [B] (float). */
  timestep: Node;
  /** Text states [B, M, cross_attention_dim]. */
  encoder_hidden_states: Node;
  /** SDXL: pooled text embedding [B, P] and time_ids [B, 6]. */
  text_embeds?: Node | null;
  time_ids?: Node | null;
}

export class UNet2DConditionModel {
  readonly conv_in: Conv2d;
  readonly time_proj: Timesteps;
  readonly time_embedding: TimestepEmbedding;
  readonly add: TextTimeEmbedding | null;
  readonly down_blocks: DownBlock2D[];
  readonly mid_block: UNetMidBlock2DCrossAttn | null;
  readonly up_blocks: UpBlock2D[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  /** Every cross-attention layer (attn2), in forward order. */
  readonly crossAttnSites: GuidanceSite[] = [];

  constructor(ws: WeightScope, readonly config: UNetConfig) {
    const c = config;
    const boc = c.block_out_channels;
    const n = boc.length;
    const ted = c.time_embedding_dim;
    this.conv_in = new Conv2d(ws.sub('conv_in'), c.in_channels, boc[0], c.conv_in_kernel, 1, (c.conv_in_kernel - 1) / 2);
    this.time_proj = new Timesteps(boc[0], c.flip_sin_to_cos, c.freq_shift);
    this.time_embedding = new TimestepEmbedding(ws.sub('time_embedding'), boc[0], ted);
    this.add = c.addition_embed_type === 'text_time'
      ? new TextTimeEmbedding(ws, ted, c.addition_time_embed_dim, c.projection_class_embeddings_input_dim, c.flip_sin_to_cos, c.freq_shift)
      : null;

    const block = (numLayers: number, outputScaleFactor: number): BlockOptions => ({ numLayers, tembChannels: ted, eps: c.norm_eps, groups: c.norm_num_groups, outputScaleFactor });
    const cross = (heads: number, crossAttentionDim: number, transformerLayers: number): CrossAttnOptions => ({
      heads, crossAttentionDim, transformerLayers, upcastAttention: c.upcast_attention, useLinearProjection: c.use_linear_projection,
    });

    this.down_blocks = [];
    let out = boc[0];
    for (let i = 0; i < n; i++) {
      const cin = out;
      out = boc[i];
      const x = c.down_block_types[i] === 'CrossAttnDownBlock2D' ? cross(c.num_attention_heads[i], c.cross_attention_dim[i], c.transformer_layers_per_block[i]) : null;
      this.down_blocks.push(new DownBlock2D(ws.sub(`down_blocks.${i}`), cin, out, i < n - 1, c.downsample_padding,
        block(c.layers_per_block[i], c.resnet_out_scale_factor), x, this.crossAttnSites));
    }

    this.mid_block = c.mid_block_type ? new UNetMidBlock2DCrossAttn(ws.sub('mid_block'), boc[n - 1], block(1, c.mid_block_scale_factor),
      cross(c.num_attention_heads[n - 1], c.cross_attention_dim[n - 1], c.transformer_layers_per_block[n - 1]), this.crossAttnSites) : null;

    this.up_blocks = [];
    const rev = <T>(a: T[]) => [...a].reverse();
    const [rBoc, rHeads, rCross, rLayers] = [rev(boc), rev(c.num_attention_heads), rev(c.cross_attention_dim), rev(c.layers_per_block)];
    out = rBoc[0];
    for (let i = 0; i < n; i++) {
      const prevOut = out;
      out = rBoc[i];
      const cin = rBoc[Math.min(i + 1, n - 1)];
      const x = c.up_block_types[i] === 'CrossAttnUpBlock2D' ? cross(rHeads[i], rCross[i], c.reverse_transformer_layers_per_block[i]) : null;
      this.up_blocks.push(new UpBlock2D(ws.sub(`up_blocks.${i}`), cin, prevOut, out, i < n - 1,
        block(rLayers[i] + 1, c.resnet_out_scale_factor), x, this.crossAttnSites));
    }

    this.conv_norm_out = new GroupNorm(ws.sub('conv_norm_out'), c.norm_num_groups, boc[0], c.norm_eps);
    this.conv_out = new Conv2d(ws.sub('conv_out'), boc[0], c.out_channels, c.conv_out_kernel, 1, (c.conv_out_kernel - 1) / 2);
  }

  /** Returns the predicted noise (or v) [B, out_channels, H, W]. */
  forward(x: UNetForwardInputs, guidance?: GraphGuidance | null): Node {
    const c = this.config;
    const f = unetDownFactor(c);
    const [, , H, W] = x.sample.shape;
    if (H % f || W % f) {
      throw new EngineError(`UNet: sample is ${H}x${W}; this engine needs height and width divisible by ${f} (2^(down blocks - 1)), i.e. images in multiples of ${8 * f} pixels`);
    }

    // 1. time
    const tEmb = tap('time_proj', this.time_proj.forward(x.timestep)); // [B, boc0]
    let emb = tap('time_embedding', this.time_embedding.forward(tEmb)); // [B, ted]
    if (this.add) {
      if (!x.text_embeds || !x.time_ids) throw new EngineError(`UNet: config addition_embed_type "text_time" (SDXL) needs text_embeds and time_ids`);
      emb = add(emb, this.add.forward(x.text_embeds, x.time_ids)); // [B, ted]
    }

    // 2. pre-process
    let h = x.sample;
    if (c.center_input_sample) h = scale(h, 2, -1);
    h = tap('conv_in', this.conv_in.forward(h)); // [B, boc0, H, W]

    // 3. down: keep every layer's output for the skip connections
    const skips: Node[] = [h];
    this.down_blocks.forEach((b, i) => {
      const r = b.forward(h, emb, x.encoder_hidden_states, guidance);
      h = tap(`down_blocks.${i}`, r.h);
      skips.push(...r.states);
    });

    // 4. mid
    if (this.mid_block) h = tap('mid_block', this.mid_block.forward(h, emb, x.encoder_hidden_states, guidance)); // [B, boc[-1], H/f, W/f]

    // 5. up: each layer consumes the last skip
    this.up_blocks.forEach((b, i) => {
      h = tap(`up_blocks.${i}`, b.forward(h, skips, emb, x.encoder_hidden_states, guidance));
    });

    // 6. post-process
    if (tapping(h.graph)) tap('conv_norm_out', this.conv_norm_out.forward(h)); // debug only: the fused path below skips it
    h = this.conv_norm_out.forward(h, { silu: true }); // [B, boc0, H, W]
    return tap('conv_out', this.conv_out.forward(h)); // [B, out_channels, H, W]
  }
}
