// Timestep conditioning of the UNet: sinusoidal projection (Timesteps), its MLP
// (TimestepEmbedding), and SDXL's "text_time" added conditioning.
// Follows diffusers v0.31.0 src/diffusers/models/embeddings.py (get_timestep_embedding,
// Timesteps, TimestepEmbedding) and UNet2DConditionModel.get_aug_embed:
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/embeddings.py
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { concat, reshape, silu, timestepEmbedding } from '../ops/index.ts';
import { Linear, tap } from './nn.ts';

/** get_timestep_embedding: no weights. */
export class Timesteps {
  constructor(readonly numChannels: number, readonly flipSinToCos: boolean, readonly downscaleFreqShift: number) {}

  // t [N] -> [N, numChannels]
  forward(t: Node): Node {
    return timestepEmbedding(t, this.numChannels, { flipSinToCos: this.flipSinToCos, downscaleFreqShift: this.downscaleFreqShift });
  }
}

/** linear_1 -> SiLU -> linear_2. */
export class TimestepEmbedding {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(ws: WeightScope, inChannels: number, timeEmbedDim: number) {
    this.linear_1 = new Linear(ws.sub('linear_1'), inChannels, timeEmbedDim);
    this.linear_2 = new Linear(ws.sub('linear_2'), timeEmbedDim, timeEmbedDim);
  }

  // x [B, in] -> [B, timeEmbedDim]
  forward(x: Node): Node {
    return this.linear_2.forward(silu(this.linear_1.forward(x)));
  }
}

/**
 * SDXL added conditioning (addition_embed_type 'text_time'): each of the 6 time_ids
 * (original size, crop top-left, target size) gets its own sinusoid, concatenated after
 * the pooled text embedding, then an MLP to the timestep-embedding width.
 */
export class TextTimeEmbedding {
  readonly add_time_proj: Timesteps;
  readonly add_embedding: TimestepEmbedding;
  constructor(ws: WeightScope, timeEmbedDim: number, addTimeDim: number, projInputDim: number, flipSinToCos: boolean, freqShift: number) {
    this.add_time_proj = new Timesteps(addTimeDim, flipSinToCos, freqShift);
    this.add_embedding = new TimestepEmbedding(ws.sub('add_embedding'), projInputDim, timeEmbedDim);
  }

  /** Width text_embeds must have. */
  get textEmbedsDim(): number {
    return this.add_embedding.linear_1.inFeatures - 6 * this.add_time_proj.numChannels;
  }

  // text_embeds [B, P], time_ids [B, 6] -> [B, timeEmbedDim]
  forward(textEmbeds: Node, timeIds: Node): Node {
    const B = textEmbeds.dim(0);
    const timeEmbeds = tap('add_time_proj', this.add_time_proj.forward(reshape(timeIds, [B * 6]))); // [6B, addTimeDim]
    const addEmbeds = concat([textEmbeds, reshape(timeEmbeds, [B, 6 * this.add_time_proj.numChannels])], 1); // [B, P + 6*addTimeDim]
    return tap('add_embedding', this.add_embedding.forward(addEmbeds)); // [B, timeEmbedDim]
  }
}
