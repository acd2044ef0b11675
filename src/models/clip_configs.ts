// Config of a transformers CLIPModel folder (CLIPConfig: text_config + vision_config +
// projection_dim), read with the upstream defaults of transformers v4.43.4
// models/clip/configuration_clip.py (CLIPTextConfig, CLIPVisionConfig, CLIPConfig). Any
// ViT size works: the sizes come from the config (ViT-B/32, ViT-L/14, ViT-H/14, ...).
import { EngineError } from '../errors.ts';
import { Reader } from './config_reader.ts';
import { clipTextConfig, type ClipAct, type ClipTextConfig } from './configs.ts';

const ACTS: ClipAct[] = ['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh'];

export interface ClipVisionConfig {
  /** Width of the patch tokens (768 ViT-B, 1024 ViT-L, 1280 ViT-H). */
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Input channels of patch_embedding (3, RGB). */
  num_channels: number;
  /** Square input side the position embeddings were trained for (224, 336). */
  image_size: number;
  /** Side of one patch = kernel = stride of patch_embedding (32, 16, 14). */
  patch_size: number;
  hidden_act: ClipAct;
  layer_norm_eps: number;
}

export interface ClipModelConfig {
  /** The text tower, as CLIPTextModelWithProjection (text_projection to projection_dim). */
  text: ClipTextConfig;
  vision: ClipVisionConfig;
  /** Width of image_embeds / text_embeds. */
  projection_dim: number;
}

export function clipModelConfig(cfg: Record<string, any>, file: string): ClipModelConfig {
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures[0] : undefined;
  if (arch !== 'CLIPModel' && cfg.model_type !== 'clip') throw new EngineError(`${file}: "architectures" = ${JSON.stringify(cfg.architectures)}, expected ["CLIPModel"]`);
  const top = new Reader(file, cfg);
  const projection_dim = top.posInt('projection_dim', 512);
  for (const k of ['text_config', 'vision_config', 'text_config_dict', 'vision_config_dict']) {
    if (cfg[k] !== undefined && (typeof cfg[k] !== 'object' || cfg[k] === null || Array.isArray(cfg[k]))) throw new EngineError(`${file}: "${k}" must be an object`);
  }
  // Older exports (the openai/clip-vit-* folders) also carry *_config_dict, which
  // CLIPConfig.__init__ lets override *_config.
  const tc = { ...cfg.text_config, ...cfg.text_config_dict }, vc = { ...cfg.vision_config, ...cfg.vision_config_dict };
  // CLIPTextConfig's own defaults differ from the SD text encoders' (eos_token_id 49407, not
  // the legacy 2; with the real vocabulary both pool the same position).
  const text = clipTextConfig({ eos_token_id: 49407, ...tc, architectures: ['CLIPTextModelWithProjection'], projection_dim }, `${file} text_config`);
  const r = new Reader(`${file} vision_config`, vc);
  const vision: ClipVisionConfig = {
    hidden_size: r.posInt('hidden_size', 768),
    intermediate_size: r.posInt('intermediate_size', 3072),
    num_hidden_layers: r.posInt('num_hidden_layers', 12),
    num_attention_heads: r.posInt('num_attention_heads', 12),
    num_channels: r.posInt('num_channels', 3),
    image_size: r.posInt('image_size', 224),
    patch_size: r.posInt('patch_size', 32),
    hidden_act: r.str<ClipAct>('hidden_act', 'quick_gelu', ACTS)!,
    layer_norm_eps: r.num('layer_norm_eps', 1e-5),
  };
  if (vision.hidden_size % vision.num_attention_heads) throw new EngineError(`${file} vision_config: hidden_size ${vision.hidden_size} does not split into ${vision.num_attention_heads} heads`);
  if (vision.image_size % vision.patch_size) throw new EngineError(`${file} vision_config: image_size ${vision.image_size} is not a multiple of patch_size ${vision.patch_size}`);
  return { text, vision, projection_dim };
}
