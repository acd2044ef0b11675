// Writes a complete diffusers FluxPipeline folder at FLUX.1-schnell's real configs
// (black-forest-labs/FLUX.1-schnell: transformer 19 double + 38 single blocks, 3072 wide,
// 11.9B parameters; T5-XXL v1.1 encoder 4.8B; CLIP-L text 123M; 16-channel VAE 84M) with
// seeded random weights, for memory/time benchmarks at the real size. About 34 GB in f16
// or bf16 (~24 GB transformer, ~9.5 GB T5): write it to a scratch disk, never commit it.
// Tensor names/shapes are the ones the engine's model classes ask for (== diffusers'),
// each file is written tensor by tensor in 1M-value chunks (memory stays small).
//   npx tsx tools/make-random-flux.ts <out-folder> --tokenizers <FluxPipeline folder> \
//       [--dtype f16|bf16|q8_0] [--configs-from <FluxPipeline folder>] [--seed N]
// --dtype q8_0: Linear weights as q8_0 blocks, the rest f16 (~18 GB: transformer 12.6 GB,
// T5 5.1 GB), what `convert --dtype q8_0` makes of the real checkpoint.
// --tokenizers: where tokenizer/ and tokenizer_2/ are copied from (e.g. the shared
// fixture flux-schnell-tiny, which has the real CLIP and T5 vocabularies).
// --configs-from: take every component's config.json from that folder instead of the real
// ones (tests use it to write a tiny pipeline).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../src/errors.ts';
import { readJsonObject } from '../src/io/folder.ts';
import { CLIPTextModel } from '../src/models/clip.ts';
import { FluxTransformer2DModel } from '../src/models/flux.ts';
import { FLUX_SCHNELL, fluxConfig } from '../src/models/flux_configs.ts';
import { clipTextConfig, vaeConfig } from '../src/models/configs.ts';
import { t5Config } from '../src/models/pixart_configs.ts';
import { T5EncoderModel } from '../src/models/t5.ts';
import { AutoencoderKL } from '../src/models/vae.ts';
import { randomBytes, recordShapes, writeRandomComponent, type RandomDType } from './random-weights.ts';
import type { WeightScope } from '../src/io/store.ts';

// The config.json files of black-forest-labs/FLUX.1-schnell (diffusers layout).
export const FLUX_SCHNELL_PIPELINE: Record<string, Record<string, unknown>> = {
  model_index: {
    _class_name: 'FluxPipeline', _diffusers_version: '0.31.0', scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'], text_encoder_2: ['transformers', 'T5EncoderModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'], tokenizer_2: ['transformers', 'T5TokenizerFast'],
    transformer: ['diffusers', 'FluxTransformer2DModel'], vae: ['diffusers', 'AutoencoderKL'],
  },
  scheduler: {
    _class_name: 'FlowMatchEulerDiscreteScheduler', _diffusers_version: '0.31.0', base_image_seq_len: 256, base_shift: 0.5,
    max_image_seq_len: 4096, max_shift: 1.15, num_train_timesteps: 1000, shift: 1.0, use_dynamic_shifting: false,
  },
  text_encoder: {
    architectures: ['CLIPTextModel'], attention_dropout: 0.0, bos_token_id: 0, dropout: 0.0, eos_token_id: 2, hidden_act: 'quick_gelu',
    hidden_size: 768, initializer_factor: 1.0, initializer_range: 0.02, intermediate_size: 3072, layer_norm_eps: 1e-5,
    max_position_embeddings: 77, model_type: 'clip_text_model', num_attention_heads: 12, num_hidden_layers: 12, pad_token_id: 1,
    projection_dim: 768, torch_dtype: 'bfloat16', vocab_size: 49408,
  },
  text_encoder_2: {
    architectures: ['T5EncoderModel'], classifier_dropout: 0.0, d_ff: 10240, d_kv: 64, d_model: 4096, decoder_start_token_id: 0,
    dense_act_fn: 'gelu_new', dropout_rate: 0.1, eos_token_id: 1, feed_forward_proj: 'gated-gelu', initializer_factor: 1.0,
    is_encoder_decoder: true, is_gated_act: true, layer_norm_epsilon: 1e-6, model_type: 't5', num_decoder_layers: 24, num_heads: 64,
    num_layers: 24, output_past: true, pad_token_id: 0, relative_attention_max_distance: 128, relative_attention_num_buckets: 32,
    tie_word_embeddings: false, torch_dtype: 'bfloat16', use_cache: true, vocab_size: 32128,
  },
  transformer: { _class_name: 'FluxTransformer2DModel', _diffusers_version: '0.31.0', ...FLUX_SCHNELL, out_channels: null },
  vae: {
    _class_name: 'AutoencoderKL', _diffusers_version: '0.31.0', act_fn: 'silu', block_out_channels: [128, 256, 512, 512],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'], force_upcast: true,
    in_channels: 3, latent_channels: 16, latents_mean: null, latents_std: null, layers_per_block: 2, mid_block_add_attention: true,
    norm_num_groups: 32, out_channels: 3, sample_size: 1024, scaling_factor: 0.3611, shift_factor: 0.1159,
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'], use_post_quant_conv: false, use_quant_conv: false,
  },
};

interface Part { name: string; file: string; build: (ws: WeightScope, cfg: Record<string, unknown>) => unknown }

const PARTS: Part[] = [
  { name: 'text_encoder', file: 'model.safetensors', build: (ws, c) => new CLIPTextModel(ws, clipTextConfig(c, 'text_encoder config')) },
  { name: 'text_encoder_2', file: 'model.safetensors', build: (ws, c) => new T5EncoderModel(ws, t5Config(c, 'text_encoder_2 config')) },
  { name: 'vae', file: 'diffusion_pytorch_model.safetensors', build: (ws, c) => new AutoencoderKL(ws, vaeConfig(c, 'vae config')) },
  { name: 'transformer', file: 'diffusion_pytorch_model.safetensors', build: (ws, c) => new FluxTransformer2DModel(ws, fluxConfig(c, 'transformer config')) },
];

export interface RandomFluxOptions {
  tokenizers: string;
  dtype?: RandomDType;
  configsFrom?: string;
  seed?: number;
  log?: (line: string) => void;
}

/** Writes the folder; returns parameters per component. */
export function writeRandomFlux(out: string, o: RandomFluxOptions): Record<string, number> {
  const cfg = (name: string) => (o.configsFrom
    ? readJsonObject(path.join(o.configsFrom, name === 'model_index' ? 'model_index.json' : name === 'scheduler' ? 'scheduler/scheduler_config.json' : `${name}/config.json`))
    : FLUX_SCHNELL_PIPELINE[name]);
  const dtype = o.dtype ?? 'F16';
  for (const t of ['tokenizer', 'tokenizer_2']) {
    if (!fs.existsSync(path.join(o.tokenizers, t))) throw new EngineError(`--tokenizers: ${o.tokenizers} has no ${t}/ folder (give a FluxPipeline folder)`);
  }
  const shapes = new Map(PARTS.map((p) => [p.name, recordShapes((ws) => p.build(ws, cfg(p.name)))]));
  const bytes = [...shapes.values()].reduce((a, m) => a + randomBytes(m, dtype), 0);
  fs.mkdirSync(out, { recursive: true });
  const free = fs.statfsSync(out);
  if (free.bavail * free.bsize < bytes * 1.01) throw new EngineError(`${out}: needs ${(bytes / 1e9).toFixed(1)} GB, only ${(free.bavail * free.bsize / 1e9).toFixed(1)} GB free`);

  fs.writeFileSync(path.join(out, 'model_index.json'), JSON.stringify(cfg('model_index'), null, 2));
  fs.mkdirSync(path.join(out, 'scheduler'), { recursive: true });
  fs.writeFileSync(path.join(out, 'scheduler', 'scheduler_config.json'), JSON.stringify(cfg('scheduler'), null, 2));
  for (const t of ['tokenizer', 'tokenizer_2']) fs.cpSync(path.join(o.tokenizers, t), path.join(out, t), { recursive: true, dereference: true });
  const params: Record<string, number> = {};
  let seed = o.seed ?? 1;
  for (const p of PARTS) {
    const t0 = performance.now();
    params[p.name] = writeRandomComponent(path.join(out, p.name), p.file, cfg(p.name), shapes.get(p.name)!, dtype, seed++);
    o.log?.(`${p.name}: ${(params[p.name] / 1e6).toFixed(1)}M parameters, ${dtype}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return params;
}

if (process.argv[1]?.endsWith('make-random-flux.ts')) {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const tokenizers = opt('--tokenizers'), configsFrom = opt('--configs-from'), dtype = opt('--dtype') ?? 'f16', seed = opt('--seed');
  if (args.length !== 1 || !tokenizers || !['f16', 'bf16', 'q8_0'].includes(dtype)) {
    console.error('usage: npx tsx tools/make-random-flux.ts <out-folder> --tokenizers <FluxPipeline folder> [--dtype f16|bf16|q8_0] [--configs-from <folder>] [--seed N]');
    process.exit(1);
  }
  try {
    const t0 = performance.now();
    const params = writeRandomFlux(args[0], { tokenizers, configsFrom, seed: seed ? Number(seed) : 1, dtype: ({ f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0' } as const)[dtype as 'f16'], log: (l) => console.error(l) });
    const total = Object.values(params).reduce((a, b) => a + b, 0);
    console.error(`${args[0]}: FluxPipeline, ${(total / 1e9).toFixed(2)}B parameters, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } catch (e) {
    if (e instanceof EngineError) {
      console.error(`error: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
