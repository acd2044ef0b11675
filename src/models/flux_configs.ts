// Typed config of diffusers FluxTransformer2DModel, read from its config.json. Field names
// are the config.json keys; defaults are the upstream __init__ defaults (diffusers v0.31.0
// src/diffusers/models/transformers/transformer_flux.py), which are FLUX.1's sizes.
import { EngineError } from '../errors.ts';
import { Reader } from './config_reader.ts';

export interface FluxConfig {
  /** Always 1: FluxPipeline packs 2x2 latent patches into tokens before the model. */
  patch_size: number;
  /** Width of a packed token: 4 * latent channels (64 for the 16-channel FLUX VAE). */
  in_channels: number;
  /** Width of an output token; null in config.json means in_channels. */
  out_channels: number;
  /** Double-stream blocks (transformer_blocks): 19 in FLUX.1. */
  num_layers: number;
  /** Single-stream blocks (single_transformer_blocks): 38 in FLUX.1. */
  num_single_layers: number;
  attention_head_dim: number;
  num_attention_heads: number;
  /** Width of encoder_hidden_states (T5-XXL last_hidden_state: 4096). */
  joint_attention_dim: number;
  /** Width of pooled_projections (CLIP-L pooler_output: 768). */
  pooled_projection_dim: number;
  /** FLUX.1-dev: the guidance scale is an input, embedded like the timestep. */
  guidance_embeds: boolean;
  /** RoPE dims per position axis (ids columns); they sum to attention_head_dim. */
  axes_dims_rope: number[];
}

/** black-forest-labs/FLUX.1-schnell transformer/config.json (diffusers layout). */
export const FLUX_SCHNELL: FluxConfig = {
  patch_size: 1, in_channels: 64, out_channels: 64, num_layers: 19, num_single_layers: 38,
  attention_head_dim: 128, num_attention_heads: 24, joint_attention_dim: 4096, pooled_projection_dim: 768,
  guidance_embeds: false, axes_dims_rope: [16, 56, 56],
};

/** black-forest-labs/FLUX.1-dev transformer/config.json: schnell's sizes plus the guidance embedder. */
export const FLUX_DEV: FluxConfig = { ...FLUX_SCHNELL, guidance_embeds: true };

export function isFluxConfig(cfg: Record<string, any>): boolean {
  return cfg._class_name === 'FluxTransformer2DModel';
}

export function fluxConfig(cfg: Record<string, any>, file: string): FluxConfig {
  if (!isFluxConfig(cfg)) throw new EngineError(`${file}: "_class_name" = ${JSON.stringify(cfg._class_name)}, expected "FluxTransformer2DModel"`);
  const k = new Reader(file, cfg);
  const d = FLUX_SCHNELL;
  const inC = k.posInt('in_channels', d.in_channels);
  const c: FluxConfig = {
    patch_size: k.oneOf('patch_size', 1, [1]),
    in_channels: inC,
    out_channels: cfg.out_channels == null ? inC : k.posInt('out_channels'),
    num_layers: k.int('num_layers', d.num_layers),
    num_single_layers: k.int('num_single_layers', d.num_single_layers),
    attention_head_dim: k.posInt('attention_head_dim', d.attention_head_dim),
    num_attention_heads: k.posInt('num_attention_heads', d.num_attention_heads),
    joint_attention_dim: k.posInt('joint_attention_dim', d.joint_attention_dim),
    pooled_projection_dim: k.posInt('pooled_projection_dim', d.pooled_projection_dim),
    guidance_embeds: k.bool('guidance_embeds', d.guidance_embeds),
    axes_dims_rope: cfg.axes_dims_rope === undefined ? [...d.axes_dims_rope] : k.ints('axes_dims_rope'),
  };
  const sum = c.axes_dims_rope.reduce((a, b) => a + b, 0);
  if (sum !== c.attention_head_dim) throw new EngineError(`${file}: "axes_dims_rope" ${JSON.stringify(c.axes_dims_rope)} sums to ${sum}, expected attention_head_dim ${c.attention_head_dim}`);
  if (c.axes_dims_rope.some((a) => a % 2)) throw new EngineError(`${file}: "axes_dims_rope" ${JSON.stringify(c.axes_dims_rope)} must hold even sizes (RoPE rotates pairs)`);
  return c;
}
