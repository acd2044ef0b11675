// Typed configs of PixArt-α's two models, read from their config.json. Field names are the
// config.json keys; defaults are the upstream __init__ defaults. Values the engine does not
// implement fail here, naming the key.
//   T5Config:                  transformers/models/t5/configuration_t5.py (v4.43.4)
//   PixArtTransformer2DModel:  diffusers/models/transformers/pixart_transformer_2d.py (v0.31.0)
import { EngineError } from '../errors.ts';
import { Reader } from './config_reader.ts';


// ---- T5 encoder ---------------------------------------------------------------------------

export interface T5Config {
  /** T5EncoderModel; a full T5ForConditionalGeneration / T5Model folder is read for its encoder. */
  architecture: string;
  /** Rows of shared.weight (32128 for the T5 v1.1 family). */
  vocab_size: number;
  /** Width of the token states (4096 for T5-XXL, PixArt's encoder). */
  d_model: number;
  /** Width of one attention head; num_heads * d_kv need not equal d_model. */
  d_kv: number;
  /** Width of the gated feed-forward (10240 for T5-XXL). */
  d_ff: number;
  /** Encoder blocks. */
  num_layers: number;
  num_heads: number;
  /** Relative position buckets (32) and the distance beyond which they all share the last (128). */
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  /** Only 'gated-gelu' (T5 v1.1, Flan-T5): wo(gelu_new(wi_0 x) * wi_1 x). */
  feed_forward_proj: 'gated-gelu';
}

export function t5Config(cfg: Record<string, any>, file: string): T5Config {
  const k = new Reader(file, cfg);
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures[0] : 'T5EncoderModel';
  if (!['T5EncoderModel', 'T5ForConditionalGeneration', 'T5Model'].includes(arch)) {
    throw new EngineError(`${file}: "architectures" = ${JSON.stringify(cfg.architectures)}, expected ["T5EncoderModel"]`);
  }
  const ff = k.oneOf<string>('feed_forward_proj', 'relu', ['gated-gelu']) as 'gated-gelu';
  // transformers replaces the act of 'gated-gelu' by gelu_new whatever dense_act_fn says.
  const c: T5Config = {
    architecture: arch,
    vocab_size: k.posInt('vocab_size', 32128),
    d_model: k.posInt('d_model', 512),
    d_kv: k.posInt('d_kv', 64),
    d_ff: k.posInt('d_ff', 2048),
    num_layers: k.posInt('num_layers', 6),
    num_heads: k.posInt('num_heads', 8),
    relative_attention_num_buckets: k.posInt('relative_attention_num_buckets', 32),
    relative_attention_max_distance: k.posInt('relative_attention_max_distance', 128),
    layer_norm_epsilon: k.num('layer_norm_epsilon', 1e-6),
    feed_forward_proj: ff,
  };
  if (c.relative_attention_num_buckets < 4) throw new EngineError(`${file}: "relative_attention_num_buckets" must be at least 4, got ${c.relative_attention_num_buckets}`);
  return c;
}

// ---- PixArtTransformer2DModel ---------------------------------------------------------

export interface PixArtConfig {
  num_attention_heads: number;
  attention_head_dim: number;
  in_channels: number;
  /** 2 * in_channels with learned sigma (PixArt-α: 8 = eps + variance). */
  out_channels: number;
  num_layers: number;
  /** Width of the (projected) text states the cross-attention reads. */
  cross_attention_dim: number;
  /** Biases on to_q/to_k/to_v. */
  attention_bias: boolean;
  /** Latent size the model was trained at (128 for 1024 px); sets the positions' base grid. */
  sample_size: number;
  patch_size: number;
  norm_elementwise_affine: boolean;
  norm_eps: number;
  /** Position-grid scale; null: max(sample_size // 64, 1), as diffusers. */
  interpolation_scale: number | null;
  /** Resolution / aspect-ratio micro-conditions; null: sample_size == 128, as diffusers. */
  use_additional_conditions: boolean;
  /** Width of the raw text states (T5-XXL: 4096); null: no caption projection. */
  caption_channels: number | null;
  /** Scores and softmax in f32: what the engine's kernels always do. */
  upcast_attention: boolean;
}

/** Whether a config.json describes a PixArt transformer (diffusers maps PixArt-α's legacy class name). */
export function isPixArtConfig(cfg: Record<string, any>): boolean {
  return cfg._class_name === 'PixArtTransformer2DModel' || (cfg._class_name === 'Transformer2DModel' && cfg.norm_type === 'ada_norm_single');
}

export function pixartConfig(cfg: Record<string, any>, file: string): PixArtConfig {
  const k = new Reader(file, cfg);
  if (!isPixArtConfig(cfg)) throw new EngineError(`${file}: "_class_name" = ${JSON.stringify(cfg._class_name)}, expected "PixArtTransformer2DModel" (or "Transformer2DModel" with "norm_type": "ada_norm_single")`);
  k.oneOf('norm_type', 'ada_norm_single', ['ada_norm_single']);
  k.oneOf('activation_fn', 'gelu-approximate', ['gelu-approximate']);
  k.oneOf('attention_type', 'default', ['default']);
  k.oneOf('only_cross_attention', false, [false]);
  k.oneOf('double_self_attention', false, [false]);
  k.oneOf('num_vector_embeds', null, [null, false]);
  const sample = k.posInt('sample_size');
  const inC = k.posInt('in_channels');
  const c: PixArtConfig = {
    num_attention_heads: k.posInt('num_attention_heads', 16),
    attention_head_dim: k.posInt('attention_head_dim', 72),
    in_channels: inC,
    out_channels: cfg.out_channels === null ? inC : k.posInt('out_channels', 8),
    num_layers: k.posInt('num_layers', 28),
    cross_attention_dim: k.posInt('cross_attention_dim', 1152),
    attention_bias: k.bool('attention_bias', true),
    sample_size: sample,
    patch_size: k.posInt('patch_size'),
    norm_elementwise_affine: k.bool('norm_elementwise_affine', false),
    norm_eps: k.num('norm_eps', 1e-6),
    interpolation_scale: cfg.interpolation_scale == null ? null : k.num('interpolation_scale'),
    use_additional_conditions: cfg.use_additional_conditions == null ? sample === 128 : k.bool('use_additional_conditions', false),
    caption_channels: cfg.caption_channels == null ? null : k.posInt('caption_channels'),
    upcast_attention: k.bool('upcast_attention', false),
  };
  const inner = c.num_attention_heads * c.attention_head_dim;
  if (c.use_additional_conditions && inner % 3) {
    throw new EngineError(`${file}: use_additional_conditions needs num_attention_heads * attention_head_dim (${inner}) divisible by 3 (resolution and aspect-ratio embeddings are a third each)`);
  }
  if (c.sample_size % c.patch_size) throw new EngineError(`${file}: "sample_size" ${c.sample_size} is not a multiple of "patch_size" ${c.patch_size}`);
  if (inner % 4) throw new EngineError(`${file}: the width ${inner} (num_attention_heads * attention_head_dim) must be a multiple of 4 for the 2D sin-cos positions`);
  return c;
}
