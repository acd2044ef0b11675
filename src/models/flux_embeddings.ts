// FLUX's conditioning parts: the 3-axis rotary position tables (FluxPosEmbed), the
// timestep + pooled-text (+ guidance) embedding, and the three adaptive LayerNorms that
// turn it into per-block shift / scale / gate.
// Follows diffusers v0.31.0:
//   src/diffusers/models/embeddings.py (FluxPosEmbed, get_1d_rotary_pos_embed,
//     CombinedTimestepTextProjEmbeddings, CombinedTimestepGuidanceTextProjEmbeddings)
//   src/diffusers/models/normalization.py (AdaLayerNormZero, AdaLayerNormZeroSingle, AdaLayerNormContinuous)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/embeddings.py
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { add, reshape, slice } from '../ops/index.ts';
import { Timesteps, TimestepEmbedding } from './embeddings.ts';
import { Linear, tap } from './nn.ts';
import { modulate, PixArtAlphaTextProjection, PlainLayerNorm } from './pixart_blocks.ts';

/** cos / sin tables [N, head_dim] of a set of token positions, row-major. */
export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
}

/**
 * FluxPosEmbed (theta 10000): no weights. For ids [N, axes] (FLUX: [0, row, col] per
 * image token, zeros per text token), axis i with d_i dims contributes the angles
 * pos_i * theta^(-2k/d_i), k < d_i/2, in float64; cos and sin are rounded to f32 and each
 * value is repeated for its pair (repeat_interleave), axes concatenated. Host-side, since
 * the ids are data, not weights; the tables feed the rope op.
 */
export class FluxPosEmbed {
  constructor(readonly axesDim: number[], readonly theta = 10000) {}

  get dim(): number {
    return this.axesDim.reduce((a, b) => a + b, 0);
  }

  // ids [N, axes] -> cos, sin [N, sum(axesDim)]
  forward(ids: ArrayLike<number>, n: number): RopeTables {
    const D = this.dim, A = this.axesDim.length;
    const cos = new Float32Array(n * D), sin = new Float32Array(n * D);
    for (let t = 0; t < n; t++) {
      let col = t * D;
      for (let a = 0; a < A; a++) {
        const d = this.axesDim[a], pos = Math.fround(ids[t * A + a]);
        for (let k = 0; k < d / 2; k++) {
          const angle = pos * (1 / this.theta ** ((2 * k) / d));
          cos[col] = cos[col + 1] = Math.cos(angle);
          sin[col] = sin[col + 1] = Math.sin(angle);
          col += 2;
        }
      }
    }
    return { cos, sin };
  }
}

/**
 * CombinedTimestepTextProjEmbeddings (schnell) or, with guidance_embeds,
 * CombinedTimestepGuidanceTextProjEmbeddings (dev): temb [B, D] from the timestep, the
 * guidance scale (both already x1000 as the model's forward does) and pooled_projections.
 */
export class CombinedTimestepTextProjEmbeddings {
  readonly time_proj = new Timesteps(256, true, 0);
  readonly timestep_embedder: TimestepEmbedding;
  readonly guidance_embedder: TimestepEmbedding | null;
  readonly text_embedder: PixArtAlphaTextProjection;
  constructor(ws: WeightScope, dim: number, pooledDim: number, guidance: boolean) {
    this.timestep_embedder = new TimestepEmbedding(ws.sub('timestep_embedder'), 256, dim);
    this.guidance_embedder = guidance ? new TimestepEmbedding(ws.sub('guidance_embedder'), 256, dim) : null;
    this.text_embedder = new PixArtAlphaTextProjection(ws.sub('text_embedder'), pooledDim, dim, 'silu');
  }

  // timestep [B] (x1000), guidance [B] (x1000) or null, pooled [B, P] -> [B, D]
  forward(timestep: Node, guidance: Node | null, pooled: Node): Node {
    const tproj = tap('time_text_embed.time_proj', this.time_proj.forward(timestep)); // [B, 256]
    let emb = tap('time_text_embed.timestep_embedder', this.timestep_embedder.forward(tproj)); // [B, D]
    if (this.guidance_embedder && guidance) emb = add(emb, this.guidance_embedder.forward(this.time_proj.forward(guidance))); // time + guidance
    const text = tap('time_text_embed.text_embedder', this.text_embedder.forward(pooled)); // [B, D]
    return tap('time_text_embed', add(emb, text));
  }
}

/** Splits a modulation [B, n*D] into n slices [B, 1, D], in order. */
function chunks(m: Node, n: number): Node[] {
  const [B, nD] = m.shape, D = nD / n;
  const r = reshape(m, [B, n, D]);
  return Array.from({ length: n }, (_, i) => slice(r, 1, i, i + 1));
}

/**
 * AdaLayerNormZero: linear(SiLU(temb)) -> shift, scale, gate for attention and for the MLP.
 * Callers pass SiLU(temb) (the same for every block, computed once).
 */
export class AdaLayerNormZero {
  readonly linear: Linear;
  readonly norm: PlainLayerNorm;
  constructor(ws: WeightScope, dim: number, readonly chunks = 6) {
    this.linear = new Linear(ws.sub('linear'), dim, chunks * dim);
    this.norm = new PlainLayerNorm(ws.sub('norm'), dim, 1e-6, false);
  }
  // silu(temb) [B, D] -> [B, 1, D] each: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
  modulation(embAct: Node): Node[] {
    return chunks(this.linear.forward(embAct), this.chunks);
  }
  // x [B, N, D] -> LayerNorm(x) * (1 + scale) + shift, with the first two chunks
  forward(x: Node, m: Node[]): Node {
    return modulate(this.norm.forward(x), m[0], m[1]);
  }
}

/** AdaLayerNormZeroSingle: the same with three chunks, shift, scale, gate. */
export class AdaLayerNormZeroSingle extends AdaLayerNormZero {
  constructor(ws: WeightScope, dim: number) {
    super(ws, dim, 3);
  }
}

/**
 * AdaLayerNormContinuous (norm_out): linear(SiLU(temb)) -> SCALE, SHIFT (scale first, as
 * diffusers' converter stores it; BFL's original final layer is shift first).
 */
export class AdaLayerNormContinuous {
  readonly linear: Linear;
  readonly norm: PlainLayerNorm;
  constructor(ws: WeightScope, dim: number) {
    this.linear = new Linear(ws.sub('linear'), dim, 2 * dim);
    this.norm = new PlainLayerNorm(ws.sub('norm'), dim, 1e-6, false);
  }
  // x [B, N, D], silu(temb) [B, D] -> [B, N, D]
  forward(x: Node, embAct: Node): Node {
    const [scaleBy, shift] = chunks(this.linear.forward(embAct), 2);
    return modulate(this.norm.forward(x), shift, scaleBy);
  }
}
