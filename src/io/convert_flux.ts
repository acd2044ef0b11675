// FLUX conversion plans: a BFL single file (.safetensors or .gguf) -> a diffusers
// FluxTransformer2DModel folder, and a diffusers FLUX transformer (component folder or
// FluxPipeline folder) -> a BFL single file. Fused tensors are planned as row ranges of
// their sources, so nothing is assembled in memory; q8_0 rows split and join as they are.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { configClass } from './configcheck.ts';
import { isComponentDir, isPipelineDir, openComponent, openPipeline, type Component } from './folder.ts';
import { openFluxFile } from './fluxfile.ts';
import { BFL_PREFIX, bflTensors } from './names/flux.ts';
import type { OutTensor } from './tosingle.ts';
import type { WeightStore } from './store.ts';

export interface FluxPlan { file: string; tensors: OutTensor[]; metadata: Record<string, string> }

function plan(store: WeightStore, file: string): FluxPlan {
  const tensors = store.names().map((n) => {
    const s = store.source(n);
    return { name: n, dtype: s.dtype, shape: s.shape, parts: [s] };
  });
  return { file, tensors, metadata: { format: 'pt' } };
}

/** BFL file -> `out/config.json` + `out/diffusion_pytorch_model.safetensors`; returns the plan and the config to write. */
export function fluxToDiffusers(input: string, out: string, opts: { config?: string }): { plan: FluxPlan; config: Record<string, any>; configFrom: string } {
  const f = openFluxFile(input, opts);
  return { plan: plan(f.store, path.join(out, 'diffusion_pytorch_model.safetensors')), config: f.config, configFrom: f.configFrom };
}

/** The FluxTransformer2DModel component of a folder (itself, or a FluxPipeline's transformer/), or null. */
export function fluxComponent(dir: string, variant?: string): Component | null {
  if (isPipelineDir(dir)) {
    const p = openPipeline(dir, { variant });
    const t = p.components.transformer;
    return t && configClass(t.config) === 'FluxTransformer2DModel' ? t : null;
  }
  if (isComponentDir(dir)) {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return configClass(cfg) === 'FluxTransformer2DModel' ? openComponent(dir, { variant }) : null;
  }
  return null;
}

/** Diffusers FLUX transformer -> one BFL file (`prefixed`: under model.diffusion_model., as ComfyUI checkpoints are). */
export function fluxToSingle(c: Component, out: string, prefixed = false): FluxPlan {
  const tensors: OutTensor[] = bflTensors(c.store, prefixed ? BFL_PREFIX : '').map((t) => {
    const p0 = t.parts[0];
    for (const p of t.parts) {
      if (p.dtype !== p0.dtype) throw new EngineError(`${c.dir}: '${p.name}' is ${p.dtype} but '${p0.name}' is ${p0.dtype}; cannot fuse them into '${t.name}'`);
    }
    return { name: t.name, dtype: p0.dtype, shape: [t.parts.reduce((a, p) => a + p.shape[0], 0), ...p0.shape.slice(1)], parts: t.parts };
  });
  return { file: out, tensors, metadata: { format: 'pt' } };
}
