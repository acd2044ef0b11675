// T5 encoder, v1.1 style (transformers T5EncoderModel; PixArt-α's text encoder is
// T5-v1.1-XXL): RMS layer norms without bias, self-attention with NO 1/sqrt(d) scaling and a
// relative position bias that block 0 owns and every block adds, gated-gelu feed-forward.
// Follows transformers v4.43.4 src/transformers/models/t5/modeling_t5.py:
// https://github.com/huggingface/transformers/blob/v4.43.4/src/transformers/models/t5/modeling_t5.py
//
// Attention is computed with explicit scores (matmul, add, softmax, matmul) rather than the
// flash attention op: T5 adds a bias that differs per head, query and key ([H, Nq, Nk]),
// which the flash kernels' per-key mask cannot express, and T5 sequences are short (120
// for PixArt, 512 at most), so the score matrix is small: [B, H, S, S] = 2 x 64 x 120 x 120
// for T5-XXL is 1.8M values, less than one of its activations [B, S, d_ff].
//
// The model is built in pieces so that a big encoder never needs all its weights on the
// device at once: the typed API (api/t5.ts) runs groups of blocks as separate graphs, and
// looks the token embeddings up on the host (only the rows it needs are read from disk).
import type { Node } from '../graph/graph.ts';
import type { WeightSource } from '../io/safetensors.ts';
import type { WeightScope } from '../io/store.ts';
import { add, geluTanh, matmul, mul, permute, reshape, rmsNorm, softmax } from '../ops/index.ts';
import type { T5Config } from './pixart_configs.ts';
import { Linear, tap } from './nn.ts';

/** T5LayerNorm: x * rsqrt(mean(x^2) + eps) * weight (no mean subtraction, no bias; stats f32). */
class T5LayerNorm {
  readonly weight: WeightSource;
  constructor(ws: WeightScope, dim: number, readonly eps: number) {
    this.weight = ws.get('weight', [dim]);
  }
  // x [..., dim] -> same
  forward(x: Node): Node {
    return rmsNorm(x, x.graph.weight(this.weight), this.eps);
  }
}

class T5Attention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  /** Block 0 only: [num_buckets, heads], read on the host (see positionBias). */
  readonly relative_attention_bias: { weight: WeightSource } | null;
  constructor(ws: WeightScope, readonly c: T5Config, hasBias: boolean) {
    const inner = c.num_heads * c.d_kv;
    [this.q, this.k, this.v] = ['q', 'k', 'v'].map((n) => new Linear(ws.sub(n), c.d_model, inner, false));
    this.o = new Linear(ws.sub('o'), inner, c.d_model, false);
    this.relative_attention_bias = hasBias ? { weight: ws.get('relative_attention_bias.weight', [c.relative_attention_num_buckets, c.num_heads]) } : null;
  }

  // x [B, S, d_model], bias [B|1, H, S, S] (positions + padding mask) -> [B, S, d_model]
  forward(x: Node, bias: Node): Node {
    const [B, S] = x.shape, H = this.c.num_heads, dk = this.c.d_kv;
    const heads = (t: Node) => permute(reshape(t, [B, S, H, dk]), [0, 2, 1, 3]); // [B, S, H*dk] -> [B, H, S, dk]
    const q = heads(this.q.forward(x)), k = heads(this.k.forward(x)), v = heads(this.v.forward(x));
    const scores = add(matmul(q, k, { transB: true }), bias); // [B, H, S, S]: q k^T, no 1/sqrt(dk)
    const z = matmul(softmax(scores), v); // [B, H, S, dk]
    return this.o.forward(reshape(permute(z, [0, 2, 1, 3]), [B, S, H * dk])); // [B, S, d_model]
  }
}

class T5LayerSelfAttention {
  readonly SelfAttention: T5Attention;
  readonly layer_norm: T5LayerNorm;
  constructor(ws: WeightScope, c: T5Config, hasBias: boolean) {
    this.SelfAttention = new T5Attention(ws.sub('SelfAttention'), c, hasBias);
    this.layer_norm = new T5LayerNorm(ws.sub('layer_norm'), c.d_model, c.layer_norm_epsilon);
  }
  forward(h: Node, bias: Node): Node {
    return add(h, this.SelfAttention.forward(this.layer_norm.forward(h), bias));
  }
}

/** T5DenseGatedActDense: wo(gelu_new(wi_0 x) * wi_1 x). */
class T5DenseGatedActDense {
  readonly wi_0: Linear;
  readonly wi_1: Linear;
  readonly wo: Linear;
  constructor(ws: WeightScope, c: T5Config) {
    this.wi_0 = new Linear(ws.sub('wi_0'), c.d_model, c.d_ff, false);
    this.wi_1 = new Linear(ws.sub('wi_1'), c.d_model, c.d_ff, false);
    this.wo = new Linear(ws.sub('wo'), c.d_ff, c.d_model, false);
  }
  // x [B, S, d_model] -> same, via [B, S, d_ff]
  forward(x: Node): Node {
    return this.wo.forward(mul(geluTanh(this.wi_0.forward(x)), this.wi_1.forward(x)));
  }
}

class T5LayerFF {
  readonly DenseReluDense: T5DenseGatedActDense;
  readonly layer_norm: T5LayerNorm;
  constructor(ws: WeightScope, c: T5Config) {
    this.DenseReluDense = new T5DenseGatedActDense(ws.sub('DenseReluDense'), c);
    this.layer_norm = new T5LayerNorm(ws.sub('layer_norm'), c.d_model, c.layer_norm_epsilon);
  }
  forward(h: Node): Node {
    return add(h, this.DenseReluDense.forward(this.layer_norm.forward(h)));
  }
}

export class T5Block {
  readonly layer: [T5LayerSelfAttention, T5LayerFF];
  constructor(ws: WeightScope, c: T5Config, first: boolean) {
    this.layer = [new T5LayerSelfAttention(ws.sub('layer.0'), c, first), new T5LayerFF(ws.sub('layer.1'), c)];
  }
  // h [B, S, d_model], bias [B|1, H, S, S] -> [B, S, d_model]
  forward(h: Node, bias: Node): Node {
    return this.layer[1].forward(this.layer[0].forward(h, bias));
  }

  /** Weight bytes of this block stored as `bytesPerValue`-byte floats. */
  weightBytes(bytesPerValue: number): number {
    const [a, f] = this.layer;
    const lin = [a.SelfAttention.q, a.SelfAttention.k, a.SelfAttention.v, a.SelfAttention.o, f.DenseReluDense.wi_0, f.DenseReluDense.wi_1, f.DenseReluDense.wo];
    const n = lin.reduce((s, l) => s + l.inFeatures * l.outFeatures, 0) + 2 * a.layer_norm.weight.shape[0];
    return n * bytesPerValue;
  }
}

/** T5EncoderModel (`shared.weight`, `encoder.block.N.*`, `encoder.final_layer_norm`). */
export class T5EncoderModel {
  /** Token embedding [vocab, d_model]; transformers ties encoder.embed_tokens to it. */
  readonly shared: { weight: WeightSource };
  readonly encoder: { block: T5Block[]; final_layer_norm: T5LayerNorm };

  constructor(ws: WeightScope, readonly config: T5Config) {
    const c = config;
    // save_pretrained drops the tied encoder.embed_tokens.weight; some exports keep only it.
    const emb = ws.has('shared.weight') || !ws.has('encoder.embed_tokens.weight') ? 'shared.weight' : 'encoder.embed_tokens.weight';
    this.shared = { weight: ws.get(emb, [c.vocab_size, c.d_model]) };
    if (emb === 'shared.weight' && ws.has('encoder.embed_tokens.weight')) ws.get('encoder.embed_tokens.weight', [c.vocab_size, c.d_model]);
    const enc = ws.sub('encoder');
    this.encoder = {
      block: Array.from({ length: c.num_layers }, (_, i) => new T5Block(enc.sub(`block.${i}`), c, i === 0)),
      final_layer_norm: new T5LayerNorm(enc.sub('final_layer_norm'), c.d_model, c.layer_norm_epsilon),
    };
  }

  /** The relative_attention_bias weight of block 0 [num_buckets, heads]. */
  get relativeAttentionBias(): WeightSource {
    return this.encoder.block[0].layer[0].SelfAttention.relative_attention_bias!.weight;
  }

  /**
   * Blocks [from, to) on h [B, S, d_model], with bias [B|1, H, S, S] = position bias +
   * padding mask (see positionBias / maskBias). Taps `hidden_states.<i+1>` after block i,
   * as transformers numbers its hidden_states (0 = embeddings).
   */
  blocks(h: Node, bias: Node, from: number, to: number): Node {
    for (let i = from; i < to; i++) {
      h = h.graph.scope(`encoder.block.${i}`, () => this.encoder.block[i].forward(h, bias));
      if (i < this.config.num_layers - 1) tap(`hidden_states.${i + 1}`, h);
    }
    return h;
  }

  // h [B, S, d_model] -> last_hidden_state [B, S, d_model]
  finalNorm(h: Node): Node {
    return this.encoder.final_layer_norm.forward(h);
  }
}

// ---- host-side pieces: relative position buckets and the additive bias -----------------

/**
 * T5Attention._relative_position_bucket, bidirectional: bucket of key j seen from query i
 * ([q, k] row-major). The log-spaced buckets use float32 arithmetic, as torch does.
 */
export function relativePositionBucket(qLen: number, kLen: number, numBuckets: number, maxDistance: number): Int32Array {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const f = Math.fround;
  const logRange = f(Math.log(maxDistance / maxExact)); // python float, applied to a float32 tensor
  const out = new Int32Array(qLen * kLen);
  for (let i = 0; i < qLen; i++) {
    for (let j = 0; j < kLen; j++) {
      const rel = j - i;
      let b = rel > 0 ? half : 0;
      const n = Math.abs(rel);
      if (n < maxExact) b += n;
      else {
        const large = maxExact + Math.trunc(f(f(f(Math.log(f(f(n) / maxExact))) / logRange) * (half - maxExact)));
        b += Math.min(large, half - 1);
      }
      out[i * kLen + j] = b;
    }
  }
  return out;
}

/** The position bias [1, H, S, S] from the bucket table and block 0's weight [buckets, H]. */
export function positionBias(table: Float32Array, heads: number, S: number, numBuckets: number, maxDistance: number): Float32Array {
  const buckets = relativePositionBucket(S, S, numBuckets, maxDistance);
  const out = new Float32Array(heads * S * S);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < S * S; p++) out[h * S * S + p] = table[buckets[p] * heads + h];
  }
  return out;
}

/** (1 - mask) * finfo(dtype).min per key, [B, 1, 1, S]: what T5Stack adds for padding. */
export function maskBias(mask: ArrayLike<number>, dtype: 'f32' | 'f16'): Float32Array {
  const min = dtype === 'f16' ? -65504 : -3.4028234663852886e38;
  return Float32Array.from(mask, (m) => (1 - m) * min);
}
