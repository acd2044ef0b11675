// CLIP text encoder: CLIPTextModel (SD1.x, SD2.x, SDXL encoder 1) and
// CLIPTextModelWithProjection (SDXL encoder 2, CLIPModel's text tower). Causal
// self-attention over the tokens, plus an optional padding mask (SD pipelines pass none,
// CLIPModel scoring passes the tokenizer's attention_mask); every hidden state is
// returned, since SDXL conditions on the penultimate one. The encoder layers are shared
// with the vision tower (clip_vision.ts), which runs them without the causal mask.
// Follows transformers v4.43.4 src/transformers/models/clip/modeling_clip.py:
// https://github.com/huggingface/transformers/blob/v4.43.4/src/transformers/models/clip/modeling_clip.py
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { add, attention, embedding, gatherRows, gelu, geluTanh, quickGelu, slice } from '../ops/index.ts';
import type { ClipAct, ClipTextConfig } from './configs.ts';
import { LayerNorm, Linear } from './nn.ts';

/** What a CLIP encoder layer needs from the text or vision config. */
export type ClipEncoderConfig = Pick<ClipTextConfig, 'hidden_size' | 'intermediate_size' | 'num_attention_heads' | 'hidden_act' | 'layer_norm_eps'>;

const ACT: Record<ClipAct, (x: Node) => Node> = { quick_gelu: quickGelu, gelu, gelu_new: geluTanh, gelu_pytorch_tanh: geluTanh };

class CLIPTextEmbeddings {
  readonly token_embedding: { weight: WeightSource };
  readonly position_embedding: { weight: WeightSource };
  constructor(ws: WeightScope, c: ClipTextConfig) {
    this.token_embedding = { weight: ws.get('token_embedding.weight', [c.vocab_size, c.hidden_size]) };
    this.position_embedding = { weight: ws.get('position_embedding.weight', [c.max_position_embeddings, c.hidden_size]) };
  }

  // ids [B, S] i32 -> [B, S, D]; positions are arange(S)
  forward(ids: Node): Node {
    const g = ids.graph;
    const S = ids.dim(1);
    const tok = embedding(ids, g.weight(this.token_embedding.weight)); // [B, S, D]
    let pos = g.weight(this.position_embedding.weight); // [maxPos, D]
    if (S !== pos.dim(0)) pos = slice(pos, 0, 0, S); // [S, D]
    return add(tok, pos);
  }
}

class CLIPAttention {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  constructor(ws: WeightScope, readonly c: ClipEncoderConfig, readonly causal: boolean) {
    const D = c.hidden_size;
    [this.q_proj, this.k_proj, this.v_proj, this.out_proj] = ['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((n) => new Linear(ws.sub(n), D, D));
  }

  // x [B, S, D], mask [B, S] additive per key (or null) -> [B, S, D]
  forward(x: Node, mask: Node | null): Node {
    const q = this.q_proj.forward(x), k = this.k_proj.forward(x), v = this.v_proj.forward(x); // [B, S, D] each
    const z = attention(q, k, v, { heads: this.c.num_attention_heads, causal: this.causal, mask }); // softmax(q k^T / sqrt(d) [+ causal] [+ mask]) v
    return this.out_proj.forward(z);
  }
}

class CLIPMLP {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(ws: WeightScope, readonly c: ClipEncoderConfig) {
    this.fc1 = new Linear(ws.sub('fc1'), c.hidden_size, c.intermediate_size);
    this.fc2 = new Linear(ws.sub('fc2'), c.intermediate_size, c.hidden_size);
  }
  // x [B, S, D] -> [B, S, D]
  forward(x: Node): Node {
    return this.fc2.forward(ACT[this.c.hidden_act](this.fc1.forward(x))); // via [B, S, intermediate]
  }
}

/** Pre-LN transformer layer; `causal` for the text tower, bidirectional for the vision tower. */
export class CLIPEncoderLayer {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: CLIPAttention;
  readonly layer_norm2: LayerNorm;
  readonly mlp: CLIPMLP;
  constructor(ws: WeightScope, c: ClipEncoderConfig, causal: boolean) {
    this.layer_norm1 = new LayerNorm(ws.sub('layer_norm1'), c.hidden_size, c.layer_norm_eps);
    this.self_attn = new CLIPAttention(ws.sub('self_attn'), c, causal);
    this.layer_norm2 = new LayerNorm(ws.sub('layer_norm2'), c.hidden_size, c.layer_norm_eps);
    this.mlp = new CLIPMLP(ws.sub('mlp'), c);
  }
  // x [B, S, D], mask [B, S] or null -> [B, S, D]
  forward(x: Node, mask: Node | null = null): Node {
    const h = add(x, this.self_attn.forward(this.layer_norm1.forward(x), mask));
    return add(h, this.mlp.forward(this.layer_norm2.forward(h)));
  }
}

export interface ClipTextOutputs {
  last_hidden_state: Node;
  /** Final-layer-normed state at the pooled (EOS) position [B, D]. */
  pooler_output: Node;
  /** CLIPTextModelWithProjection: text_projection(pooler_output) [B, projection_dim]. */
  text_embeds: Node | null;
  /** Embeddings, then each layer's output (no final norm): num_hidden_layers + 1 entries. */
  hidden_states: Node[];
}

/** CLIPTextModel / CLIPTextModelWithProjection (`text_model.*`, `text_projection`). */
export class CLIPTextModel {
  readonly text_model: {
    embeddings: CLIPTextEmbeddings;
    encoder: { layers: CLIPEncoderLayer[] };
    final_layer_norm: LayerNorm;
  };
  readonly text_projection: Linear | null;

  constructor(ws: WeightScope, readonly config: ClipTextConfig) {
    const c = config, tm = ws.sub('text_model');
    this.text_model = {
      embeddings: new CLIPTextEmbeddings(tm.sub('embeddings'), c),
      encoder: { layers: Array.from({ length: c.num_hidden_layers }, (_, i) => new CLIPEncoderLayer(tm.sub(`encoder.layers.${i}`), c, true)) },
      final_layer_norm: new LayerNorm(tm.sub('final_layer_norm'), c.hidden_size, c.layer_norm_eps),
    };
    this.text_projection = c.architecture === 'CLIPTextModelWithProjection' ? new Linear(ws.sub('text_projection'), c.hidden_size, c.projection_dim, false) : null;
  }

  /**
   * ids [B, S] i32, pooledIndex [B] i32 (the EOS position of each row; see pooledIndex()),
   * mask [B, S] additive bias per key (0 keep, finfo.min padding) or null.
   */
  forward(ids: Node, pooledIndex: Node, mask: Node | null = null): ClipTextOutputs {
    const tm = this.text_model;
    if (ids.dim(1) > this.config.max_position_embeddings) {
      throw new EngineError(`CLIP: ${ids.dim(1)} tokens, more than max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    let h = tm.embeddings.forward(ids); // [B, S, D]
    const hidden_states = [h];
    for (const layer of tm.encoder.layers) hidden_states.push((h = layer.forward(h, mask))); // [B, S, D]
    const last = tm.final_layer_norm.forward(h); // [B, S, D]
    const pooled = gatherRows(last, pooledIndex); // [B, D]
    return {
      last_hidden_state: last,
      pooler_output: pooled,
      text_embeds: this.text_projection ? this.text_projection.forward(pooled) : null, // [B, projection_dim]
      hidden_states,
    };
  }
}

/**
 * Position of the pooled token per row of `ids` ([B, S] row-major): argmax(ids) when
 * eos_token_id == 2 (legacy configs: every real SD encoder; EOS is the largest id), else
 * the first position holding eos_token_id (0 if none), as transformers does.
 */
export function pooledIndex(ids: ArrayLike<number>, B: number, S: number, eosTokenId: number): Int32Array {
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let s = 0; s < S; s++) {
      const v = ids[b * S + s];
      if (eosTokenId === 2 ? v > ids[b * S + best] : v === eosTokenId) {
        best = s;
        if (eosTokenId !== 2) break;
      }
    }
    out[b] = best;
  }
  return out;
}
