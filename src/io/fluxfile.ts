// Single-file FLUX transformers: a BFL-layout .safetensors (`flux1-schnell.safetensors`,
// optionally under model.diffusion_model.) or a GGUF file (city96's quantized FLUX), seen
// as a diffusers FluxTransformer2DModel component: its config (from --config, else from
// the shapes with FLUX.1's rope axes) and a store under diffusers names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { checkConfig, configClass } from './configcheck.ts';
import { readJsonObject } from './folder.ts';
import { GgufReader } from './gguf.ts';
import { FluxBflStore, fluxConfigFromShapes, isBflFlux } from './names/flux.ts';
import { SafetensorsReader } from './safetensors.ts';
import { FileStore, type WeightStore } from './store.ts';

/** The tensors of one weights file, GGUF or safetensors, by their stored names. */
export function openWeightsFile(file: string): { store: WeightStore; metadata: Record<string, string>; format: 'gguf' | 'safetensors' } {
  if (GgufReader.isGguf(file)) {
    const r = GgufReader.open(file);
    const metadata: Record<string, string> = {};
    for (const [k, v] of r.metadata) if (typeof v !== 'object') metadata[k] = String(v);
    return { store: new FileStore(r), metadata, format: 'gguf' };
  }
  const r = SafetensorsReader.open(file);
  return { store: new FileStore(r), metadata: r.metadata, format: 'safetensors' };
}

/** Whether a file holds a BFL-layout FLUX transformer (reads the header only). */
export function isFluxFile(file: string): boolean {
  return isBflFlux(openWeightsFile(file).store.names());
}

export interface FluxFile { config: Record<string, any>; store: FluxBflStore; configFrom: string; format: 'gguf' | 'safetensors' }

/** `config`: a FluxTransformer2DModel folder (or a FluxPipeline folder) whose config.json to use. */
export function openFluxFile(file: string, opts: { config?: string } = {}): FluxFile {
  const w = openWeightsFile(file);
  if (!isBflFlux(w.store.names())) throw new EngineError(`${file}: not a FLUX transformer in the BFL layout (no double_blocks.* / img_in.weight)`);
  const store = new FluxBflStore(w.store);
  let config: Record<string, any>, configFrom: string;
  if (opts.config) {
    const dir = fs.existsSync(path.join(opts.config, 'transformer', 'config.json')) ? path.join(opts.config, 'transformer') : opts.config;
    configFrom = path.join(dir, 'config.json');
    config = readJsonObject(configFrom);
    if (configClass(config) !== 'FluxTransformer2DModel') throw new EngineError(`${configFrom}: a ${configClass(config) || 'unknown'} config, expected FluxTransformer2DModel`);
  } else {
    config = fluxConfigFromShapes(store);
    configFrom = `FLUX.1 defaults with sizes from ${file}`;
  }
  checkConfig(config, store, configFrom);
  return { config, store, configFrom, format: w.format };
}
