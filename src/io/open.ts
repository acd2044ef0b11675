// One entry point for "the model at this path": a diffusers pipeline folder or a
// single-file checkpoint, both seen as diffusers components (config + WeightStore), so
// the pipeline code never cares which one the user gave it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { isPipelineDir, openPipeline } from './folder.ts';
import { resolveModelArg } from './hub.ts';
import type { Family } from './names/checkpoint.ts';
import { openSingleFile } from './singlefile.ts';
import type { WeightStore } from './store.ts';
import { diffusersFamily } from './tosingle.ts';

export interface ModelSource {
  kind: 'diffusers' | 'single-file';
  path: string;
  family: Family | null;                  // null for diffusers pipelines that are not SD/SDXL
  className: string;                      // pipeline class (model_index.json _class_name)
  components: Record<string, { config: Record<string, any>; store: WeightStore }>;
  scheduler: Record<string, unknown> | null;
  tokenizers: Record<string, string>;     // tokenizer name -> folder (none for a bare single file)
  configFrom: string;
  ignored: string[];                      // single file: stored tensors no component uses
}

export interface OpenModelOptions { variant?: string; config?: string; preset?: string; ema?: boolean; dtype?: 'f32' | 'f16' }

function tokenizerDirs(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of fs.readdirSync(dir)) if (d.startsWith('tokenizer') && fs.statSync(path.join(dir, d)).isDirectory()) out[d] = path.join(dir, d);
  return out;
}

export function openModel(model: string, opts: OpenModelOptions = {}): ModelSource {
  // A model id (ORG/NAME[@REV]) that is not a local path opens from the hub cache.
  const { path: p, preferVariant } = resolveModelArg(model, opts);
  if (!fs.existsSync(p)) throw new EngineError(`${p}: no such file or folder`);
  if (fs.statSync(p).isDirectory()) {
    if (!isPipelineDir(p)) throw new EngineError(`${p}: not a diffusers pipeline folder (no model_index.json)`);
    if (opts.config || opts.preset) throw new EngineError(`${p}: --config/--preset apply to single-file checkpoints, this is a diffusers folder`);
    const pl = openPipeline(p, { variant: opts.variant, preferVariant });
    let family: Family | null = null;
    try { family = diffusersFamily(pl.className, pl.components); } catch { family = null; }
    return {
      kind: 'diffusers', path: p, family, className: pl.className, components: pl.components,
      scheduler: pl.scheduler?.config ?? null, tokenizers: pl.tokenizers, configFrom: p, ignored: [],
    };
  }
  if (opts.variant) throw new EngineError(`${p}: --variant applies to diffusers folders, this is a single file`);
  const sf = openSingleFile(p, opts);
  const components: ModelSource['components'] = {};
  for (const [c, store] of Object.entries(sf.components)) components[c] = { config: sf.configs[c], store };
  return {
    kind: 'single-file', path: p, family: sf.family, className: String(sf.modelIndex._class_name ?? ''),
    components, scheduler: sf.scheduler, tokenizers: sf.configDir ? tokenizerDirs(sf.configDir) : {},
    configFrom: sf.configFrom, ignored: sf.ignored,
  };
}
