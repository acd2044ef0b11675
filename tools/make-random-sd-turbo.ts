// Writes a complete diffusers StableDiffusionPipeline folder at stabilityai/sd-turbo's real
// configs (SD 2.1-base layout: UNet 866M, OpenCLIP-H text encoder as CLIPTextModel with 23
// layers used (340M), AutoencoderKL [128, 256, 512, 512] with 4 latent channels (84M),
// EulerDiscrete trailing) and seeded random weights, so anyone can reproduce the end-to-end
// timings of issue 9 (`npm run bench -- e2e --model DIR --size 512`). About 2.6 GB in f16:
// write it to a temp folder, never commit it. The tokenizer is the embedded model's
// (weights/default/tokenizer: the same CLIP BPE vocabulary and "!" padding as sd-turbo's).
//   npx tsx tools/make-random-sd-turbo.ts <out-folder> [--dtype f16|bf16] [--seed N] [--configs-from <folder>]
// --dtype is the stored weight type; the compute dtype is chosen when loading
// (`e2e --dtype f32` computes in f32 from these f16 weights, as with sd-turbo's fp16 files).
// --configs-from: take every component's config.json from that pipeline folder instead
// (tests use it to write a tiny pipeline).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EngineError } from '../src/errors.ts';
import { readJsonObject } from '../src/io/folder.ts';
import type { WeightScope } from '../src/io/store.ts';
import { CLIPTextModel } from '../src/models/clip.ts';
import { clipTextConfig, unetConfig, vaeConfig } from '../src/models/configs.ts';
import { UNet2DConditionModel } from '../src/models/unet.ts';
import { AutoencoderKL } from '../src/models/vae.ts';
import { SD_TURBO_UNET } from './make-random-unet.ts';
import { recordShapes, writeRandomComponent, type RandomDType } from './random-weights.ts';

const TOKENIZER = path.join(path.dirname(new URL(import.meta.url).pathname), '../weights/default/tokenizer');

// The config files of stabilityai/sd-turbo (diffusers layout).
export const SD_TURBO_PIPELINE: Record<string, Record<string, unknown>> = {
  model_index: {
    _class_name: 'StableDiffusionPipeline', _diffusers_version: '0.24.0', feature_extractor: [null, null], image_encoder: [null, null],
    requires_safety_checker: false, safety_checker: [null, null], scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'], tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'],
  },
  scheduler: {
    _class_name: 'EulerDiscreteScheduler', _diffusers_version: '0.24.0', beta_end: 0.012, beta_schedule: 'scaled_linear', beta_start: 0.00085,
    clip_sample: false, interpolation_type: 'linear', num_train_timesteps: 1000, prediction_type: 'epsilon', sample_max_value: 1.0,
    set_alpha_to_one: false, sigma_max: null, sigma_min: null, skip_prk_steps: true, steps_offset: 1, timestep_spacing: 'trailing',
    timestep_type: 'discrete', trained_betas: null, use_karras_sigmas: false,
  },
  text_encoder: {
    architectures: ['CLIPTextModel'], attention_dropout: 0.0, bos_token_id: 0, dropout: 0.0, eos_token_id: 2, hidden_act: 'gelu',
    hidden_size: 1024, initializer_factor: 1.0, initializer_range: 0.02, intermediate_size: 4096, layer_norm_eps: 1e-5,
    max_position_embeddings: 77, model_type: 'clip_text_model', num_attention_heads: 16, num_hidden_layers: 23, pad_token_id: 1,
    projection_dim: 512, torch_dtype: 'float16', vocab_size: 49408,
  },
  unet: SD_TURBO_UNET,
  vae: {
    _class_name: 'AutoencoderKL', _diffusers_version: '0.24.0', act_fn: 'silu', block_out_channels: [128, 256, 512, 512],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'], force_upcast: true,
    in_channels: 3, latent_channels: 4, layers_per_block: 2, norm_num_groups: 32, out_channels: 3, sample_size: 768, scaling_factor: 0.18215,
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
  },
};

interface Part { name: string; file: string; build: (ws: WeightScope, cfg: Record<string, unknown>) => unknown }

const PARTS: Part[] = [
  { name: 'text_encoder', file: 'model.safetensors', build: (ws, c) => new CLIPTextModel(ws, clipTextConfig(c, 'text_encoder config')) },
  { name: 'vae', file: 'diffusion_pytorch_model.safetensors', build: (ws, c) => new AutoencoderKL(ws, vaeConfig(c, 'vae config')) },
  { name: 'unet', file: 'diffusion_pytorch_model.safetensors', build: (ws, c) => new UNet2DConditionModel(ws, unetConfig(c, 'unet config')) },
];

export interface RandomSdTurboOptions {
  dtype?: RandomDType;
  seed?: number;
  configsFrom?: string;
  log?: (line: string) => void;
}

/** Writes the folder; returns parameters per component. */
export function makeRandomSdTurbo(dir: string, o: RandomSdTurboOptions = {}): Record<string, number> {
  const config = (name: string, file: string) => (o.configsFrom ? readJsonObject(path.join(o.configsFrom, name, file)) : SD_TURBO_PIPELINE[name]);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model_index.json'), JSON.stringify(o.configsFrom ? readJsonObject(path.join(o.configsFrom, 'model_index.json')) : SD_TURBO_PIPELINE.model_index, null, 2));
  fs.mkdirSync(path.join(dir, 'scheduler'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(config('scheduler', 'scheduler_config.json'), null, 2));
  fs.cpSync(TOKENIZER, path.join(dir, 'tokenizer'), { recursive: true });
  const params: Record<string, number> = {};
  PARTS.forEach((p, i) => {
    const t0 = performance.now();
    const cfg = config(p.name, 'config.json');
    const shapes = recordShapes((ws) => p.build(ws, cfg));
    params[p.name] = writeRandomComponent(path.join(dir, p.name), p.file, cfg, shapes, o.dtype ?? 'F16', (o.seed ?? 1) + i);
    o.log?.(`${p.name}: ${shapes.size} tensors, ${(params[p.name] / 1e6).toFixed(1)}M parameters, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  return params;
}

if (process.argv[1]?.endsWith('make-random-sd-turbo.ts')) {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true, options: { dtype: { type: 'string' }, seed: { type: 'string' }, 'configs-from': { type: 'string' } },
    });
    if (positionals.length !== 1) throw new EngineError('usage: npx tsx tools/make-random-sd-turbo.ts <out-folder> [--dtype f16|bf16] [--seed N] [--configs-from <folder>]');
    const dt = (values.dtype ?? 'f16').toUpperCase();
    if (dt !== 'F16' && dt !== 'BF16') throw new EngineError(`--dtype must be f16 or bf16 (stored weights; the compute dtype is chosen at load), got '${values.dtype}'`);
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(seed)) throw new EngineError(`--seed must be an integer, got '${values.seed}'`);
    const params = makeRandomSdTurbo(positionals[0], { dtype: dt, seed, configsFrom: values['configs-from'], log: (l) => console.error(l) });
    const total = Object.values(params).reduce((a, b) => a + b, 0);
    console.error(`${positionals[0]}: SD-Turbo pipeline, ${(total / 1e6).toFixed(1)}M parameters, ${dt}`);
  } catch (e) {
    console.error(e instanceof EngineError || String((e as any)?.code).startsWith('ERR_PARSE_ARGS') ? (e as Error).message : e);
    process.exit(1);
  }
}
