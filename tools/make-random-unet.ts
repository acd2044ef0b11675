// Writes a diffusers `unet/` folder with SD-Turbo's real UNet config (stabilityai/sd-turbo
// unet/config.json, i.e. SD 2.1-base: 320/640/1280/1280, heads of 64, cross-attention
// width 1024) and seeded random F16 weights, for benchmarks at the real size. The tensor
// names and shapes are the ones the engine's UNet2DConditionModel asks for (== diffusers'),
// recorded by building the model against a store that only notes requests. ~1.7 GB:
// generate it in a temp folder, never commit it.
//   npx tsx tools/make-random-unet.ts /tmp/sd-turbo-unet
import { unetConfig } from '../src/models/configs.ts';
import { UNet2DConditionModel } from '../src/models/unet.ts';
import { recordShapes, writeRandomComponent } from './random-weights.ts';

export const SD_TURBO_UNET = {
  _class_name: 'UNet2DConditionModel', _diffusers_version: '0.24.0', act_fn: 'silu', addition_embed_type: null,
  addition_embed_type_num_heads: 64, addition_time_embed_dim: null, attention_head_dim: [5, 10, 20, 20],
  attention_type: 'default', block_out_channels: [320, 640, 1280, 1280], center_input_sample: false,
  class_embed_type: null, class_embeddings_concat: false, conv_in_kernel: 3, conv_out_kernel: 3, cross_attention_dim: 1024,
  cross_attention_norm: null, down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1, dual_cross_attention: false, encoder_hid_dim: null, encoder_hid_dim_type: null, flip_sin_to_cos: true,
  freq_shift: 0, in_channels: 4, layers_per_block: 2, mid_block_only_cross_attention: null, mid_block_scale_factor: 1,
  mid_block_type: 'UNetMidBlock2DCrossAttn', norm_eps: 1e-5, norm_num_groups: 32, num_attention_heads: null,
  num_class_embeds: null, only_cross_attention: false, out_channels: 4, projection_class_embeddings_input_dim: null,
  resnet_out_scale_factor: 1.0, resnet_skip_time_act: false, resnet_time_scale_shift: 'default', sample_size: 64,
  time_cond_proj_dim: null, time_embedding_act_fn: null, time_embedding_dim: null, time_embedding_type: 'positional',
  timestep_post_act: null, transformer_layers_per_block: 1,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  upcast_attention: false, use_linear_projection: true,
};

/** Every tensor a model built from `config` asks for: name -> shape. */
export function unetTensorShapes(config: Record<string, unknown>): Map<string, number[]> {
  return recordShapes((ws) => new UNet2DConditionModel(ws, unetConfig(config, 'SD_TURBO_UNET')));
}

function writeRandom(dir: string, config: Record<string, unknown>, seed = 1): number {
  return writeRandomComponent(dir, 'diffusion_pytorch_model.safetensors', config, unetTensorShapes(config), 'F16', seed);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('make-random-unet.ts')) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx tools/make-random-unet.ts <out-folder>');
    process.exit(1);
  }
  const t0 = performance.now();
  const params = writeRandom(dir, SD_TURBO_UNET);
  console.error(`${dir}: SD-Turbo UNet config, ${(params / 1e6).toFixed(1)}M parameters, F16, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
