// Where each diffusers component lives inside a single-file checkpoint, per family, and
// which name map translates it. The one table the loader and the converter share.
import { EngineError } from '../../errors.ts';
import { hfClipNameMap, openClipNameMap } from './clip.ts';
import type { NameMap } from './prefix.ts';
import { unetLayoutFromConfig, unetNameMap } from './unet.ts';
import { vaeLayoutFromConfig, vaeNameMap } from './vae.ts';

export type Family = 'sd1' | 'sd2' | 'sdxl';
export const FAMILIES: Family[] = ['sd1', 'sd2', 'sdxl'];

export interface ComponentSpec {
  component: string;   // diffusers folder name
  prefix: string;      // key prefix in the single file
  map: NameMap;
  openClip: boolean;   // OpenCLIP layout (fused qkv, dropped trailing blocks)
}

export const PREFIXES: Record<Family, Record<string, string>> = {
  sd1: { unet: 'model.diffusion_model.', vae: 'first_stage_model.', text_encoder: 'cond_stage_model.transformer.' },
  sd2: { unet: 'model.diffusion_model.', vae: 'first_stage_model.', text_encoder: 'cond_stage_model.model.' },
  sdxl: {
    unet: 'model.diffusion_model.', vae: 'first_stage_model.',
    text_encoder: 'conditioner.embedders.0.transformer.', text_encoder_2: 'conditioner.embedders.1.model.',
  },
};

function textSpec(family: Family, component: string, cfg: Record<string, any>): ComponentSpec {
  const prefix = PREFIXES[family][component];
  const openClip = (family === 'sd2' && component === 'text_encoder') || component === 'text_encoder_2';
  const layers = cfg.num_hidden_layers;
  if (openClip && !Number.isSafeInteger(layers)) throw new EngineError(`${component} config: "num_hidden_layers" must be an integer, got ${JSON.stringify(layers)}`);
  const withProjection = component === 'text_encoder_2';
  return { component, prefix, openClip, map: openClip ? openClipNameMap(layers, withProjection) : hfClipNameMap() };
}

/** Component specs of a family, given the components' diffusers configs. */
export function componentSpecs(family: Family, configs: Record<string, Record<string, any>>): ComponentSpec[] {
  const need = Object.keys(PREFIXES[family]);
  const specs: ComponentSpec[] = [];
  for (const c of need) {
    const cfg = configs[c];
    if (!cfg) throw new EngineError(`no config for component '${c}' of this ${family} checkpoint`);
    if (c === 'unet') specs.push({ component: c, prefix: PREFIXES[family][c], openClip: false, map: unetNameMap(unetLayoutFromConfig(cfg, `${c}/config.json`)) });
    else if (c === 'vae') specs.push({ component: c, prefix: PREFIXES[family][c], openClip: false, map: vaeNameMap(vaeLayoutFromConfig(cfg, `${c}/config.json`)) });
    else specs.push(textSpec(family, c, cfg));
  }
  return specs;
}

/**
 * Family from the key layout of a single file. Structural, not size-based (diffusers
 * looks at widths such as 1024, which tiny test models do not have).
 */
export function detectFamily(names: string[], file: string): Family {
  const any = (p: string) => names.some((n) => n.startsWith(p));
  if (!any('model.diffusion_model.')) {
    throw new EngineError(`${file}: no 'model.diffusion_model.*' tensors; not a single-file Stable Diffusion checkpoint (a diffusers component file is opened through its folder)`);
  }
  if (any('conditioner.embedders.1.model.')) return 'sdxl';
  if (any('conditioner.embedders.0.model.')) throw new EngineError(`${file}: looks like an SDXL refiner (OpenCLIP-only conditioner), which is not supported`);
  if (any('cond_stage_model.model.')) return 'sd2';
  if (any('cond_stage_model.transformer.')) return 'sd1';
  throw new EngineError(`${file}: has a UNet but no text encoder (cond_stage_model.* / conditioner.embedders.*); cannot tell SD1/SD2/SDXL apart`);
}
