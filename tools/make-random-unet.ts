// Writes a diffusers `unet/` folder with SD-Turbo's real UNet config (stabilityai/sd-turbo
// unet/config.json, i.e. SD 2.1-base: 320/640/1280/1280, heads of 64, cross-attention
// width 1024) and seeded random F16 weights, for benchmarks at the real size. The tensor
// names and shapes are the ones the engine's UNet2DConditionModel asks for (== diffusers'),
// recorded by building the model against a store that only notes requests. ~1.7 GB:
// generate it in a temp folder, never commit it.
//   npx tsx tools/make-random-unet.ts /tmp/sd-turbo-unet
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f32BitsToF16 } from '../src/io/dtype.ts';
import { SafetensorsWriter, type WeightSource } from '../src/io/safetensors.ts';
import { WeightScope, type WeightStore } from '../src/io/store.ts';
import { unetConfig } from '../src/models/configs.ts';
import { UNet2DConditionModel } from '../src/models/unet.ts';

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
  return recordTensorShapes((ws) => new UNet2DConditionModel(ws, unetConfig(config, 'SD_TURBO_UNET')));
}

/** Every tensor `build` asks its weight scope for: name -> shape. */
export function recordTensorShapes(build: (ws: WeightScope) => unknown): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const store: WeightStore & { source(n: string, s?: readonly number[]): WeightSource } = {
    has: (n) => !/\.(query|key|value|proj_attn)\.weight$/.test(n),
    names: () => [...shapes.keys()],
    describe: () => 'recording store',
    source: (n) => ({ name: n, file: 'recording', dtype: 'F16', shape: [], byteOffset: 0, byteLength: 0 }),
  };
  // WeightScope checks shapes against what it is asked; record the request instead.
  const scope = new WeightScope(store);
  const proto = Object.getPrototypeOf(scope) as WeightScope;
  const original = proto.get;
  proto.get = function (this: WeightScope, name: string, expected?: number[]) {
    const full = this.prefix ? `${this.prefix}.${name}` : name;
    if (!expected || expected.some((d) => d < 0)) throw new Error(`${full}: no concrete expected shape`);
    shapes.set(full, [...expected]);
    return { name: full, file: 'recording', dtype: 'F16', shape: [...expected], byteOffset: 0, byteLength: 0 };
  };
  try {
    build(scope);
  } finally {
    proto.get = original;
  }
  return shapes;
}

/** Writes config.json and seeded random F16 weights of these shapes; returns the parameter count. */
export function writeRandom(dir: string, config: Record<string, unknown>, shapes = unetTensorShapes(config), seed = 1): number {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const decls = [...shapes].map(([name, shape]) => ({ name, shape, dtype: 'F16' as const }));
  const w = new SafetensorsWriter(path.join(dir, 'diffusion_pytorch_model.safetensors'), decls, { format: 'pt' });
  let s = seed >>> 0 || 1, params = 0;
  for (const d of w.order) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    params += n;
    // Uniform weights with variance 1/fan_in keep activations finite in f16; biases 0, norm scales 1.
    const fanIn = d.shape.length > 1 ? d.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const isNorm = /norm\w*\.weight$/.test(d.name);
    const amp = d.name.endsWith('.bias') || isNorm ? 0 : Math.sqrt(3 / fanIn);
    const len = Math.min(n, 1 << 20);
    const vals = new Float32Array(len), bits = new Uint32Array(vals.buffer), chunk = new Uint16Array(len);
    for (let done = 0; done < n; done += len) {
      const m = Math.min(len, n - done);
      for (let i = 0; i < m; i++) {
        s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        vals[i] = isNorm ? 1 : ((s / 4294967296) * 2 - 1) * amp;
      }
      for (let i = 0; i < m; i++) chunk[i] = f32BitsToF16(bits[i]);
      w.write(d.name, new Uint8Array(chunk.buffer, 0, m * 2));
    }
  }
  w.close();
  return params;
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
