// CLIP vision tower and the two-tower CLIPModel used as an image/text scorer.
// Follows transformers v4.43.4 src/transformers/models/clip/modeling_clip.py
// (CLIPVisionEmbeddings, CLIPVisionTransformer, CLIPModel.forward):
// https://github.com/huggingface/transformers/blob/v4.43.4/src/transformers/models/clip/modeling_clip.py
// The encoder layers are the text tower's (clip.ts), run without the causal mask.
import type { Node } from '../graph/graph.ts';
import { toFloat32 } from '../io/dtype.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { add, concat, matmul, permute, reshape, rmsNorm, scale, slice } from '../ops/index.ts';
import { CLIPEncoderLayer, CLIPTextModel } from './clip.ts';
import type { ClipModelConfig, ClipVisionConfig } from './clip_configs.ts';
import { Conv2d, LayerNorm, Linear, tap } from './nn.ts';

class CLIPVisionEmbeddings {
  readonly class_embedding: WeightSource;
  readonly patch_embedding: Conv2d;
  readonly position_embedding: { weight: WeightSource };
  constructor(ws: WeightScope, readonly c: ClipVisionConfig) {
    const D = c.hidden_size, P = (c.image_size / c.patch_size) ** 2;
    this.class_embedding = ws.get('class_embedding', [D]);
    this.patch_embedding = new Conv2d(ws.sub('patch_embedding'), c.num_channels, D, c.patch_size, c.patch_size, 0, false);
    this.position_embedding = { weight: ws.get('position_embedding.weight', [P + 1, D]) };
  }

  // pixel_values [B, C, H, W] -> [B, 1 + P, D]
  forward(x: Node): Node {
    const g = x.graph, B = x.dim(0), D = this.c.hidden_size;
    const p = this.patch_embedding.forward(x); // [B, D, H/p, W/p]
    const P = p.dim(2) * p.dim(3);
    const patches = permute(reshape(p, [B, D, P]), [0, 2, 1]); // [B, P, D], patches row-major
    const cls = reshape(g.weight(this.class_embedding), [1, 1, D]); // [1, 1, D]
    const clsB = B === 1 ? cls : concat(Array(B).fill(cls), 0); // [B, 1, D]
    const h = concat([clsB, patches], 1); // [B, 1 + P, D]
    return add(h, g.weight(this.position_embedding.weight)); // + [1 + P, D]
  }
}

export interface ClipVisionOutputs {
  last_hidden_state: Node;
  /** post_layernorm(last_hidden_state[:, 0]) [B, D]. */
  pooler_output: Node;
  /** After pre_layrnorm, then each layer's output: num_hidden_layers + 1 entries. */
  hidden_states: Node[];
}

/** CLIPVisionTransformer (`vision_model.*`; pre_layrnorm is the checkpoint's spelling). */
export class CLIPVisionTransformer {
  readonly embeddings: CLIPVisionEmbeddings;
  readonly pre_layrnorm: LayerNorm;
  readonly encoder: { layers: CLIPEncoderLayer[] };
  readonly post_layernorm: LayerNorm;
  constructor(ws: WeightScope, readonly config: ClipVisionConfig) {
    const c = config;
    this.embeddings = new CLIPVisionEmbeddings(ws.sub('embeddings'), c);
    this.pre_layrnorm = new LayerNorm(ws.sub('pre_layrnorm'), c.hidden_size, c.layer_norm_eps);
    this.encoder = { layers: Array.from({ length: c.num_hidden_layers }, (_, i) => new CLIPEncoderLayer(ws.sub(`encoder.layers.${i}`), c, false)) };
    this.post_layernorm = new LayerNorm(ws.sub('post_layernorm'), c.hidden_size, c.layer_norm_eps);
  }

  // pixel_values [B, C, image_size, image_size]
  forward(x: Node): ClipVisionOutputs {
    let h = this.pre_layrnorm.forward(this.embeddings.forward(x)); // [B, 1 + P, D]
    const hidden_states = [h];
    for (const layer of this.encoder.layers) hidden_states.push((h = layer.forward(h))); // [B, 1 + P, D]
    const cls = reshape(slice(h, 1, 0, 1), [h.dim(0), h.dim(2)]); // [B, D]: the class token
    return { last_hidden_state: h, pooler_output: this.post_layernorm.forward(cls), hidden_states };
  }
}

/** x / ||x||_2 over the last dim: RMS norm (no eps) times 1/sqrt(width). */
function l2normalize(x: Node): Node {
  const P = x.dim(-1);
  return scale(rmsNorm(x, x.graph.constant(new Float32Array(P).fill(1), [P]), 0), 1 / Math.sqrt(P));
}

export interface ClipModelOutputs {
  image_embeds?: Node;
  text_embeds?: Node;
  logits_per_image?: Node;
  logits_per_text?: Node;
}

/**
 * CLIPModel: `text_model.*` + `text_projection` (the text tower is CLIPTextModelWithProjection's
 * layout), `vision_model.*` + `visual_projection`, and the scalar `logit_scale`, read once on
 * the host: the logits are exp(logit_scale) * image_embeds . text_embeds^T.
 */
export class CLIPModel {
  readonly text: CLIPTextModel;
  readonly vision_model: CLIPVisionTransformer;
  readonly visual_projection: Linear;
  readonly logit_scale: WeightSource;
  /** exp(logit_scale), the temperature of the logits (100 in the released models). */
  readonly logitScale: number;
  constructor(ws: WeightScope, readonly config: ClipModelConfig) {
    this.text = new CLIPTextModel(ws, config.text);
    this.vision_model = new CLIPVisionTransformer(ws.sub('vision_model'), config.vision);
    this.visual_projection = new Linear(ws.sub('visual_projection'), config.vision.hidden_size, config.projection_dim, false);
    this.logit_scale = ws.get('logit_scale', []);
    this.logitScale = Math.exp(toFloat32(this.logit_scale)[0]);
  }

  /** pixel_values [N, C, S, S] and/or input_ids [M, L] (+ pooled index [M], mask bias [M, L]). */
  forward(pixels: Node | null, text: { ids: Node; pooledIndex: Node; mask: Node | null } | null): ClipModelOutputs {
    const out: ClipModelOutputs = {};
    if (pixels) {
      const v = this.vision_model.forward(pixels);
      tap('vision.last_hidden_state', v.last_hidden_state);
      tap('vision.pooler_output', v.pooler_output);
      v.hidden_states.forEach((h, i) => tap(`vision.hidden_states.${i}`, h));
      const e = tap('image_embeds_unnormalized', this.visual_projection.forward(v.pooler_output)); // [N, P]
      out.image_embeds = l2normalize(e); // [N, P]
    }
    if (text) {
      const t = this.text.forward(text.ids, text.pooledIndex, text.mask);
      tap('text.last_hidden_state', t.last_hidden_state);
      tap('text.pooler_output', t.pooler_output);
      out.text_embeds = l2normalize(tap('text_embeds_unnormalized', t.text_embeds!)); // [M, P]
    }
    if (out.image_embeds && out.text_embeds) {
      out.logits_per_image = scale(matmul(out.image_embeds, out.text_embeds, { transB: true }), this.logitScale); // [N, M]
      out.logits_per_text = scale(matmul(out.text_embeds, out.image_embeds, { transB: true }), this.logitScale); // [M, N]
    }
    return out;
  }
}
