// Preset configs per family, for single-file checkpoints opened without --config. Each
// mirrors the config.json files of the Hugging Face repo named in `source` (written from
// those files; sizes are then replaced by what the checkpoint's tensors say, see
// derive.ts, so only what shapes cannot tell comes from here: head counts, norm groups,
// sample sizes, the scheduler and the tokenizer settings).
import { EngineError } from '../errors.ts';
import type { Family } from './names/checkpoint.ts';

export interface Preset {
  name: string;
  family: Family;
  source: string;   // the repo whose config.json files this mirrors
  model_index: Record<string, unknown>;
  unet: Record<string, unknown>;
  vae: Record<string, unknown>;
  text_encoder: Record<string, unknown>;
  text_encoder_2?: Record<string, unknown>;
  scheduler: Record<string, unknown>;
  /** width of one attention head when a repo sets heads by width (SD2/SDXL: 64) */
  unetHeadDim?: number;
}

const DOWN4 = ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'];
const UP4 = ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'];

const UNET_COMMON = {
  _class_name: 'UNet2DConditionModel', act_fn: 'silu', center_input_sample: false, downsample_padding: 1,
  flip_sin_to_cos: true, freq_shift: 0, in_channels: 4, out_channels: 4, layers_per_block: 2,
  mid_block_scale_factor: 1, norm_eps: 1e-5, norm_num_groups: 32,
};

const VAE = (sample_size: number, extra: Record<string, unknown> = {}) => ({
  _class_name: 'AutoencoderKL', act_fn: 'silu', block_out_channels: [128, 256, 512, 512],
  down_block_types: new Array(4).fill('DownEncoderBlock2D'), up_block_types: new Array(4).fill('UpDecoderBlock2D'),
  in_channels: 3, out_channels: 3, latent_channels: 4, layers_per_block: 2, norm_num_groups: 32,
  sample_size, scaling_factor: 0.18215, ...extra,
});

const CLIP_COMMON = {
  attention_dropout: 0.0, bos_token_id: 0, dropout: 0.0, eos_token_id: 2, initializer_factor: 1.0,
  initializer_range: 0.02, layer_norm_eps: 1e-5, max_position_embeddings: 77, model_type: 'clip_text_model',
  pad_token_id: 1, vocab_size: 49408,
};
// openai/clip-vit-large-patch14 text tower (SD1.x text_encoder, SDXL text_encoder)
const CLIP_L = { architectures: ['CLIPTextModel'], ...CLIP_COMMON, hidden_act: 'quick_gelu', hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, projection_dim: 768 };
// OpenCLIP ViT-H text tower as diffusers keeps it for SD2 (23 of its 24 blocks)
const CLIP_H = { architectures: ['CLIPTextModel'], ...CLIP_COMMON, hidden_act: 'gelu', hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 23, projection_dim: 512 };
// OpenCLIP ViT-bigG text tower (SDXL text_encoder_2)
const CLIP_BIGG = { architectures: ['CLIPTextModelWithProjection'], ...CLIP_COMMON, hidden_act: 'gelu', hidden_size: 1280, intermediate_size: 5120, num_attention_heads: 20, num_hidden_layers: 32, projection_dim: 1280 };

const SCHED = { beta_end: 0.012, beta_schedule: 'scaled_linear', beta_start: 0.00085, num_train_timesteps: 1000, set_alpha_to_one: false, steps_offset: 1, trained_betas: null };

const SD_INDEX = (scheduler: string) => ({
  _class_name: 'StableDiffusionPipeline', feature_extractor: [null, null], image_encoder: [null, null],
  requires_safety_checker: false, safety_checker: [null, null], scheduler: ['diffusers', scheduler],
  text_encoder: ['transformers', 'CLIPTextModel'], tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'],
});
const SDXL_INDEX = (scheduler: string) => ({
  _class_name: 'StableDiffusionXLPipeline', force_zeros_for_empty_prompt: true, scheduler: ['diffusers', scheduler],
  text_encoder: ['transformers', 'CLIPTextModel'], text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'],
  tokenizer: ['transformers', 'CLIPTokenizer'], tokenizer_2: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'],
});

const SD2_UNET = { ...UNET_COMMON, attention_head_dim: [5, 10, 20, 20], block_out_channels: [320, 640, 1280, 1280], cross_attention_dim: 1024, down_block_types: DOWN4, up_block_types: UP4, use_linear_projection: true };
const SDXL_UNET = {
  ...UNET_COMMON, addition_embed_type: 'text_time', addition_embed_type_num_heads: 64, addition_time_embed_dim: 256,
  attention_head_dim: [5, 10, 20], block_out_channels: [320, 640, 1280], cross_attention_dim: 2048,
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
  projection_class_embeddings_input_dim: 2816, sample_size: 128, transformer_layers_per_block: [1, 2, 10], use_linear_projection: true,
};

export const PRESETS: Record<string, Preset> = {
  'sd1.5': {
    name: 'sd1.5', family: 'sd1', source: 'runwayml/stable-diffusion-v1-5',
    model_index: SD_INDEX('PNDMScheduler'),
    unet: { ...UNET_COMMON, attention_head_dim: 8, block_out_channels: [320, 640, 1280, 1280], cross_attention_dim: 768, down_block_types: DOWN4, up_block_types: UP4, sample_size: 64 },
    vae: VAE(512), text_encoder: CLIP_L,
    scheduler: { _class_name: 'PNDMScheduler', ...SCHED, clip_sample: false, skip_prk_steps: true },
  },
  'sd2.1': {
    name: 'sd2.1', family: 'sd2', source: 'stabilityai/stable-diffusion-2-1', unetHeadDim: 64,
    model_index: SD_INDEX('DDIMScheduler'),
    unet: { ...SD2_UNET, sample_size: 96, upcast_attention: true },
    vae: VAE(768), text_encoder: CLIP_H,
    scheduler: { _class_name: 'DDIMScheduler', ...SCHED, clip_sample: false, prediction_type: 'v_prediction', skip_prk_steps: true },
  },
  'sd-turbo': {
    name: 'sd-turbo', family: 'sd2', source: 'stabilityai/sd-turbo', unetHeadDim: 64,
    model_index: SD_INDEX('EulerDiscreteScheduler'),
    unet: { ...SD2_UNET, sample_size: 64, upcast_attention: false },
    vae: VAE(512), text_encoder: CLIP_H,
    scheduler: { _class_name: 'EulerDiscreteScheduler', ...SCHED, interpolation_type: 'linear', prediction_type: 'epsilon', timestep_spacing: 'trailing', use_karras_sigmas: false },
  },
  sdxl: {
    name: 'sdxl', family: 'sdxl', source: 'stabilityai/stable-diffusion-xl-base-1.0', unetHeadDim: 64,
    model_index: SDXL_INDEX('EulerDiscreteScheduler'),
    unet: SDXL_UNET,
    vae: VAE(1024, { scaling_factor: 0.13025, force_upcast: true }), text_encoder: CLIP_L, text_encoder_2: CLIP_BIGG,
    scheduler: { _class_name: 'EulerDiscreteScheduler', ...SCHED, interpolation_type: 'linear', prediction_type: 'epsilon', sample_max_value: 1.0, timestep_spacing: 'leading', use_karras_sigmas: false },
  },
};

/** Default preset per family: SD2 defaults to SD-Turbo, the one-step model this engine targets. */
export const DEFAULT_PRESET: Record<Family, string> = { sd1: 'sd1.5', sd2: 'sd-turbo', sdxl: 'sdxl' };

export function getPreset(name: string | undefined, family: Family): Preset {
  const p = PRESETS[name ?? DEFAULT_PRESET[family]];
  if (!p) throw new EngineError(`unknown preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  if (p.family !== family) throw new EngineError(`preset '${p.name}' is for ${p.family} checkpoints, but this checkpoint is ${family}`);
  return p;
}
