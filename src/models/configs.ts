// Typed configs of the model classes, read from their config.json. Field names are the
// config.json keys (diffusers / transformers spell them so); defaults are the upstream
// __init__ defaults. Values the engine does not implement fail here, naming the key,
// instead of silently computing something else.
//   CLIPTextConfig:        transformers/models/clip/configuration_clip.py (v4.43.4)
//   UNet2DConditionModel:  diffusers/models/unets/unet_2d_condition.py (v0.31.0)
//   AutoencoderKL:         diffusers/models/autoencoders/autoencoder_kl.py (v0.31.0)
import { EngineError } from '../errors.ts';
import { Reader } from './config_reader.ts';


/** sample_size: an int, a [h, w] pair (taken as h when square), or unset. */
function sampleSize(r: Reader, key: string): number | null {
  const v = r.cfg[key];
  if (v === undefined || v === null) return null;
  if (Array.isArray(v) && v.length === 2 && v[0] === v[1]) return r.perBlock(key, 2)[0];
  return r.int(key);
}

// ---- CLIP text encoder ------------------------------------------------------------------

export type ClipAct = 'quick_gelu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh';

export interface ClipTextConfig {
  /** CLIPTextModel, or CLIPTextModelWithProjection (SDXL text_encoder_2: adds text_projection). */
  architecture: 'CLIPTextModel' | 'CLIPTextModelWithProjection';
  /** Rows of text_model.embeddings.token_embedding (49408 for real CLIP). */
  vocab_size: number;
  /** Width of the token states (768 SD1.x, 1024 SD2.x, 1280 SDXL encoder 2). */
  hidden_size: number;
  /** Width of the MLP (fc1 out / fc2 in). */
  intermediate_size: number;
  /** Encoder layers; hidden_states has num_hidden_layers + 1 entries. */
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Longest token sequence (77); position_embedding rows. */
  max_position_embeddings: number;
  /** MLP activation: quick_gelu (OpenAI CLIP, SD1.x) or gelu (OpenCLIP: SD2.x, SDXL). */
  hidden_act: ClipAct;
  layer_norm_eps: number;
  /**
   * 2 in every real SD config (legacy): the pooled token is at argmax(input_ids), the EOS
   * id being the largest in the vocabulary. Otherwise the first position holding it.
   */
  eos_token_id: number;
  /** Width of text_embeds (CLIPTextModelWithProjection only). */
  projection_dim: number;
}

export function clipTextConfig(cfg: Record<string, any>, file: string): ClipTextConfig {
  const r = new Reader(file, cfg);
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures[0] : undefined;
  if (arch !== 'CLIPTextModel' && arch !== 'CLIPTextModelWithProjection') {
    throw new EngineError(`${file}: "architectures" = ${JSON.stringify(cfg.architectures)}, expected ["CLIPTextModel"] or ["CLIPTextModelWithProjection"]`);
  }
  const c: ClipTextConfig = {
    architecture: arch,
    vocab_size: r.int('vocab_size', 49408),
    hidden_size: r.int('hidden_size', 512),
    intermediate_size: r.int('intermediate_size', 2048),
    num_hidden_layers: r.int('num_hidden_layers', 12),
    num_attention_heads: r.int('num_attention_heads', 8),
    max_position_embeddings: r.int('max_position_embeddings', 77),
    hidden_act: r.str<ClipAct>('hidden_act', 'quick_gelu', ['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh'])!,
    layer_norm_eps: r.num('layer_norm_eps', 1e-5),
    eos_token_id: r.int('eos_token_id', 2),
    projection_dim: r.int('projection_dim', 512),
  };
  if (c.hidden_size % c.num_attention_heads) throw new EngineError(`${file}: hidden_size ${c.hidden_size} does not split into ${c.num_attention_heads} heads`);
  return c;
}

// ---- UNet2DConditionModel ---------------------------------------------------------------

export const DOWN_BLOCKS = ['DownBlock2D', 'CrossAttnDownBlock2D'] as const;
export const UP_BLOCKS = ['UpBlock2D', 'CrossAttnUpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCKS)[number];
export type UpBlockType = (typeof UP_BLOCKS)[number];

export interface UNetConfig {
  /** Latent height/width the model was trained at (64 for 512-px SD); null if unset. */
  sample_size: number | null;
  in_channels: number;
  out_channels: number;
  /** sample = 2 * sample - 1 before conv_in. */
  center_input_sample: boolean;
  /** Timestep sinusoid order: [cos, sin] when true (every SD model). */
  flip_sin_to_cos: boolean;
  /** downscale_freq_shift of the timestep sinusoid (0 for SD). */
  freq_shift: number;
  down_block_types: DownBlockType[];
  /** UNetMidBlock2DCrossAttn, or null for no mid block. */
  mid_block_type: 'UNetMidBlock2DCrossAttn' | null;
  up_block_types: UpBlockType[];
  block_out_channels: number[];
  /** Resnets per down block (up blocks have one more); normalised to one entry per block. */
  layers_per_block: number[];
  /** Padding of the down-block conv downsamplers (1: symmetric). */
  downsample_padding: number;
  /** Output scale of the mid block's resnets: (x + h) / factor. */
  mid_block_scale_factor: number;
  /** Output scale of the down/up block resnets. */
  resnet_out_scale_factor: number;
  norm_num_groups: number;
  /** GroupNorm eps of the resnets and conv_norm_out (Transformer2DModel uses 1e-6). */
  norm_eps: number;
  /** Width of encoder_hidden_states, per down block (up blocks reversed, mid = last). */
  cross_attention_dim: number[];
  /** BasicTransformerBlocks per Transformer2DModel, per down block (mid = last). */
  transformer_layers_per_block: number[];
  /** Per up block; defaults to transformer_layers_per_block reversed. */
  reverse_transformer_layers_per_block: number[];
  /**
   * Attention HEAD COUNT per down block (up blocks reversed, mid = last). diffusers reads
   * num_attention_heads, falling back to attention_head_dim, which (a historical misnomer)
   * every SD config uses for the head count; head width = channels / heads.
   */
  num_attention_heads: number[];
  /** Linear proj_in/proj_out (SD2.x, SDXL) instead of 1x1 convs (SD1.x). */
  use_linear_projection: boolean;
  /**
   * Compute QK^T and softmax in f32 (SD2.1). The engine's attention kernels always do, so
   * this changes nothing here; kept to mirror the config.
   */
  upcast_attention: boolean;
  /** Width of the timestep embedding (default 4 * block_out_channels[0]). */
  time_embedding_dim: number;
  conv_in_kernel: number;
  conv_out_kernel: number;
  /** 'text_time' (SDXL): text_embeds + embedded time_ids added to the timestep embedding. */
  addition_embed_type: 'text_time' | null;
  /** Sinusoid width per time_id (SDXL: 256). */
  addition_time_embed_dim: number;
  /** Input width of add_embedding = text_embeds width + 6 * addition_time_embed_dim. */
  projection_class_embeddings_input_dim: number;
}

export function unetConfig(cfg: Record<string, any>, file: string): UNetConfig {
  const r = new Reader(file, cfg);
  const boc = r.ints('block_out_channels');
  const n = boc.length;
  const down = r.strings('down_block_types', n);
  const up = r.strings('up_block_types', n);
  for (const [key, list, allowed] of [['down_block_types', down, DOWN_BLOCKS], ['up_block_types', up, UP_BLOCKS]] as const) {
    list.forEach((t, i) => {
      if (!(allowed as readonly string[]).includes(t)) throw new EngineError(`${file}: "${key}"[${i}] = "${t}" is not supported (supported: ${allowed.join(', ')})`);
    });
  }
  r.str('act_fn', 'silu', ['silu']);
  r.str('resnet_time_scale_shift', 'default', ['default']);
  r.str('time_embedding_type', 'positional', ['positional']);
  r.str('attention_type', 'default', ['default']);
  for (const k of ['class_embed_type', 'num_class_embeds', 'encoder_hid_dim', 'encoder_hid_dim_type', 'time_cond_proj_dim',
    'time_embedding_act_fn', 'timestep_post_act', 'cross_attention_norm', 'mid_block_only_cross_attention']) r.off(k, [null]);
  for (const k of ['only_cross_attention', 'dual_cross_attention', 'class_embeddings_concat', 'resnet_skip_time_act']) r.off(k, [false]);
  r.off('dropout', [0]);
  const heads = r.perBlock(cfg.num_attention_heads != null ? 'num_attention_heads' : 'attention_head_dim', n, 8);
  const tlpb = r.perBlock('transformer_layers_per_block', n, 1);
  const c: UNetConfig = {
    sample_size: sampleSize(r, 'sample_size'),
    in_channels: r.int('in_channels', 4),
    out_channels: r.int('out_channels', 4),
    center_input_sample: r.bool('center_input_sample', false),
    flip_sin_to_cos: r.bool('flip_sin_to_cos', true),
    freq_shift: r.num('freq_shift', 0),
    down_block_types: down as DownBlockType[],
    mid_block_type: r.str('mid_block_type', 'UNetMidBlock2DCrossAttn', ['UNetMidBlock2DCrossAttn', null]) as UNetConfig['mid_block_type'],
    up_block_types: up as UpBlockType[],
    block_out_channels: boc,
    layers_per_block: r.perBlock('layers_per_block', n, 2),
    downsample_padding: r.int('downsample_padding', 1),
    mid_block_scale_factor: r.num('mid_block_scale_factor', 1),
    resnet_out_scale_factor: r.num('resnet_out_scale_factor', 1),
    norm_num_groups: r.int('norm_num_groups', 32),
    norm_eps: r.num('norm_eps', 1e-5),
    cross_attention_dim: r.perBlock('cross_attention_dim', n, 1280),
    transformer_layers_per_block: tlpb,
    reverse_transformer_layers_per_block: cfg.reverse_transformer_layers_per_block != null ? r.perBlock('reverse_transformer_layers_per_block', n) : [...tlpb].reverse(),
    num_attention_heads: heads,
    use_linear_projection: r.bool('use_linear_projection', false),
    upcast_attention: r.bool('upcast_attention', false),
    time_embedding_dim: cfg.time_embedding_dim != null ? r.int('time_embedding_dim') : boc[0] * 4,
    conv_in_kernel: r.int('conv_in_kernel', 3),
    conv_out_kernel: r.int('conv_out_kernel', 3),
    addition_embed_type: r.str('addition_embed_type', null, ['text_time', null]) as UNetConfig['addition_embed_type'],
    addition_time_embed_dim: 0,
    projection_class_embeddings_input_dim: 0,
  };
  if (c.addition_embed_type === 'text_time') {
    c.addition_time_embed_dim = r.int('addition_time_embed_dim');
    c.projection_class_embeddings_input_dim = r.int('projection_class_embeddings_input_dim');
    if (c.projection_class_embeddings_input_dim <= 6 * c.addition_time_embed_dim) {
      throw new EngineError(`${file}: projection_class_embeddings_input_dim ${c.projection_class_embeddings_input_dim} leaves no room for text_embeds next to 6 x addition_time_embed_dim ${c.addition_time_embed_dim}`);
    }
  }
  for (let i = 0; i < n; i++) {
    if (boc[i] % c.norm_num_groups) throw new EngineError(`${file}: block_out_channels[${i}] = ${boc[i]} is not divisible by norm_num_groups ${c.norm_num_groups}`);
    if (boc[i] % heads[i]) throw new EngineError(`${file}: block_out_channels[${i}] = ${boc[i]} does not split into ${heads[i]} attention heads`);
  }
  return c;
}

/** The size `sample` must be divisible by: each down block but the last halves it. */
export function unetDownFactor(c: UNetConfig): number {
  return 2 ** (c.block_out_channels.length - 1);
}

// ---- AutoencoderKL ----------------------------------------------------------------------

export interface VaeConfig {
  /** Image height/width the model was trained at (e.g. 512, 768); null if unset. */
  sample_size: number | null;
  /** Image channels (3). */
  in_channels: number;
  out_channels: number;
  block_out_channels: number[];
  /** Resnets per encoder block; decoder blocks have one more. */
  layers_per_block: number;
  latent_channels: number;
  norm_num_groups: number;
  /** unet_latent = scaling_factor * (vae_latent - shift_factor): 0.18215 SD1/SD2, 0.13025 SDXL. */
  scaling_factor: number;
  /** SD3/FLUX-style latent shift; null (0) for SD/SDXL. */
  shift_factor: number | null;
  /** quant_conv after the encoder / post_quant_conv before the decoder (1x1 convs). */
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  /** Attention in the encoder/decoder mid blocks. */
  mid_block_add_attention: boolean;
  /** Upstream hint that the decoder overflows f16 (SD/SDXL VAEs): the engine watches for inf/NaN either way. */
  force_upcast: boolean;
}

export function vaeConfig(cfg: Record<string, any>, file: string): VaeConfig {
  const r = new Reader(file, cfg);
  const boc = r.ints('block_out_channels');
  const n = boc.length;
  r.strings('down_block_types', n).forEach((t, i) => {
    if (t !== 'DownEncoderBlock2D') throw new EngineError(`${file}: "down_block_types"[${i}] = "${t}" is not supported (supported: "DownEncoderBlock2D")`);
  });
  r.strings('up_block_types', n).forEach((t, i) => {
    if (t !== 'UpDecoderBlock2D') throw new EngineError(`${file}: "up_block_types"[${i}] = "${t}" is not supported (supported: "UpDecoderBlock2D")`);
  });
  r.str('act_fn', 'silu', ['silu']);
  const c: VaeConfig = {
    sample_size: sampleSize(r, 'sample_size'),
    in_channels: r.int('in_channels', 3),
    out_channels: r.int('out_channels', 3),
    block_out_channels: boc,
    layers_per_block: r.int('layers_per_block', 1),
    latent_channels: r.int('latent_channels', 4),
    norm_num_groups: r.int('norm_num_groups', 32),
    scaling_factor: r.num('scaling_factor', 0.18215),
    shift_factor: r.numOrNull('shift_factor'),
    use_quant_conv: r.bool('use_quant_conv', true),
    use_post_quant_conv: r.bool('use_post_quant_conv', true),
    mid_block_add_attention: r.bool('mid_block_add_attention', true),
    force_upcast: r.bool('force_upcast', true),
  };
  boc.forEach((ch, i) => {
    if (ch % c.norm_num_groups) throw new EngineError(`${file}: block_out_channels[${i}] = ${ch} is not divisible by norm_num_groups ${c.norm_num_groups}`);
  });
  return c;
}
