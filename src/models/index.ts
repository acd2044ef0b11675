// The model library: graph-building model classes (one file per part, named and shaped
// like their diffusers / transformers originals) and a typed API that loads a component
// folder and runs it on host tensors:
//
//   const unet = loadUNet('sd-turbo/unet', { dtype: 'f16' });
//   const { sample } = await unet.forward({ sample, timestep: 999, encoder_hidden_states });
//   const nasa = await unet.forward({ ...inputs, negative_encoder_hidden_states }, { guidance: { mode: 'nasa', alpha: 0.2 } });
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { readJsonObject } from '../io/folder.ts';
import { configClass } from '../io/configcheck.ts';
import { ClipTextEncoder } from './api/clip.ts';
import { ClipModel } from './api/clip_model.ts';
import type { LoadOptions } from './api/common.ts';
import { PixArt } from './api/pixart.ts';
import { Flux } from './api/flux.ts';
import { T5Encoder } from './api/t5.ts';
import { UNet } from './api/unet.ts';
import { Vae } from './api/vae.ts';
import { Taesd } from './api/taesd.ts';
import { isPixArtConfig } from './pixart_configs.ts';
import { isFluxConfig } from './flux_configs.ts';

export { ClipTextEncoder } from './api/clip.ts';
export { ClipModel, type ClipModelInputs } from './api/clip_model.ts';
export { UNet, type UNetInputs, type UNetRunOptions } from './api/unet.ts';
export { Vae } from './api/vae.ts';
export { Taesd, type TaesdMethod } from './api/taesd.ts';
export { AutoencoderTiny, taesdConfig, type TaesdConfig } from './taesd.ts';
export { T5Encoder, type T5LoadOptions, type T5RunStats } from './api/t5.ts';
export { PixArt, type PixArtInputs, type PixArtRunOptions } from './api/pixart.ts';
export { Flux, type FluxInputs, type FluxRunOptions } from './api/flux.ts';
export { FluxTransformer2DModel, latentImageIds, packLatents, unpackLatents } from './flux.ts';
export { FLUX_DEV, FLUX_SCHNELL, fluxConfig, isFluxConfig, type FluxConfig } from './flux_configs.ts';
export { T5EncoderModel } from './t5.ts';
export { PixArtTransformer2DModel } from './pixart.ts';
export { isPixArtConfig, pixartConfig, t5Config, type PixArtConfig, type T5Config } from './pixart_configs.ts';
export type { HostTensor, InputSpec, LoadOptions, RunOptions } from './api/common.ts';
export { CLIPTextModel } from './clip.ts';
export { UNet2DConditionModel } from './unet.ts';
export { AutoencoderKL } from './vae.ts';
export * from './configs.ts';

export const loadUNet = (dir: string, opts: LoadOptions = {}) => UNet.load(dir, opts);
export const loadVae = (dir: string, opts: LoadOptions = {}) => Vae.load(dir, opts);
export const loadTaesd = (dir: string, opts: LoadOptions = {}) => Taesd.load(dir, opts);
export const loadClipText = (dir: string, opts: LoadOptions = {}) => ClipTextEncoder.load(dir, opts);
export const loadT5 = (dir: string, opts: LoadOptions = {}) => T5Encoder.load(dir, opts);
export const loadPixArt = (dir: string, opts: LoadOptions = {}) => PixArt.load(dir, opts);
export const loadClipModel = (dir: string, opts: LoadOptions = {}) => ClipModel.load(dir, opts);
export const loadFlux = (dir: string, opts: LoadOptions = {}) => Flux.load(dir, opts);

export type AnyModel =
  | { kind: 'unet'; model: UNet }
  | { kind: 'vae'; model: Vae }
  | { kind: 'taesd'; model: Taesd }
  | { kind: 'clip'; model: ClipTextEncoder }
  | { kind: 'clipmodel'; model: ClipModel }
  | { kind: 't5'; model: T5Encoder }
  | { kind: 'pixart'; model: PixArt }
  | { kind: 'flux'; model: Flux };

export const SUPPORTED_CLASSES = ['UNet2DConditionModel', 'AutoencoderKL', 'AutoencoderTiny', 'CLIPTextModel', 'CLIPTextModelWithProjection', 'CLIPModel', 'T5EncoderModel', 'PixArtTransformer2DModel', 'FluxTransformer2DModel'];

/** Loads whatever model a component folder holds, by its config.json class. */
export function loadComponent(dir: string, opts: LoadOptions = {}): AnyModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new EngineError(`${dir}: no such folder (expected a component folder with config.json)`);
  const cfg = readJsonObject(path.join(dir, 'config.json'));
  if (isPixArtConfig(cfg)) return { kind: 'pixart', model: PixArt.load(dir, opts) }; // also PixArt-α's 'Transformer2DModel'
  if (isFluxConfig(cfg)) return { kind: 'flux', model: Flux.load(dir, opts) };
  const cls = configClass(cfg);
  switch (cls) {
    case 'UNet2DConditionModel': return { kind: 'unet', model: UNet.load(dir, opts) };
    case 'AutoencoderKL': return { kind: 'vae', model: Vae.load(dir, opts) };
    case 'AutoencoderTiny': return { kind: 'taesd', model: Taesd.load(dir, opts) };
    case 'CLIPTextModel':
    case 'CLIPTextModelWithProjection': return { kind: 'clip', model: ClipTextEncoder.load(dir, opts) };
    case 'CLIPModel': return { kind: 'clipmodel', model: ClipModel.load(dir, opts) };
    case 'T5EncoderModel': return { kind: 't5', model: T5Encoder.load(dir, opts) };
    default:
      throw new EngineError(`${path.join(dir, 'config.json')}: model class ${JSON.stringify(cls)} is not supported by forward (supported: ${SUPPORTED_CLASSES.join(', ')})`);
  }
}
