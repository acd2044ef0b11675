// A single-file checkpoint (original LDM / Stability layout) seen as diffusers components:
// each component is a WeightStore under diffusers names whose sources point into the one
// file (row blocks for OpenCLIP's fused q/k/v, reshaped views for the VAE's 1x1-conv
// attention, a small transposed copy of SDXL's text_projection). Configs come from a
// reference diffusers folder (--config, like diffusers' from_single_file(config=...)) or
// from the family preset with sizes read from the tensors.
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { checkConfig } from './configcheck.ts';
import { deriveConfigs } from './derive.ts';
import { readJsonObject } from './folder.ts';
import { isClipBuffer } from './names/clip.ts';
import { componentSpecs, detectFamily, PREFIXES, type ComponentSpec, type Family } from './names/checkpoint.ts';
import type { Mapped } from './names/prefix.ts';
import { getPreset, type Preset } from './presets.ts';
import { SafetensorsReader, type WeightSource } from './safetensors.ts';
import type { WeightStore } from './store.ts';
import { rowBlock, squeezeConv1x1, transposed } from './views.ts';

interface Entry extends Mapped { ldm: string }

export class SingleFileStore implements WeightStore {
  constructor(
    readonly reader: SafetensorsReader,
    readonly component: string,
    readonly family: Family,
    private readonly entries: Map<string, Entry>,
  ) {}

  has(name: string): boolean { return this.entries.has(name); }
  names(): string[] { return [...this.entries.keys()]; }
  describe(): string { return `${this.reader.path} (single-file ${this.family}, ${this.component})`; }

  source(name: string): WeightSource {
    const e = this.entries.get(name);
    if (!e) throw new EngineError(`missing tensor '${name}' in ${this.describe()}`);
    let s: WeightSource = { ...this.reader.source(e.ldm), name, stored: e.ldm };
    if (e.part !== undefined) {
      if (s.shape.length === 2 && s.shape[0] !== 3 * s.shape[1]) {
        throw new EngineError(`${s.file}: tensor '${e.ldm}' has shape [${s.shape}], expected fused q/k/v [3*D, D]`);
      }
      s = rowBlock(s, e.part, 3);
    }
    if (e.conv1x1) s = squeezeConv1x1(s);
    if (e.transpose) s = transposed(s);
    return s;
  }
}

export interface SingleFile {
  path: string;
  reader: SafetensorsReader;
  family: Family;
  preset: Preset | null;                       // null when configs came from --config
  configFrom: string;                          // where the configs came from, for messages
  configDir: string | null;                    // the --config folder
  modelIndex: Record<string, unknown>;
  configs: Record<string, Record<string, any>>; // component -> config.json contents
  scheduler: Record<string, unknown>;
  components: Record<string, SingleFileStore>;
  ignored: string[];                           // stored tensors no component uses
}

export interface SingleFileOptions {
  config?: string;   // diffusers pipeline folder to take configs from
  preset?: string;   // preset name when no config folder
  ema?: boolean;     // take UNet weights from model_ema.* (EMA) instead
}

function emaName(ldm: string): string {
  // the original stores EMA copies flattened: model.diffusion_model.a.b -> model_ema.diffusion_modelab
  return 'model_ema.' + ldm.slice('model.'.length).replace(/\./g, '');
}

function buildEntries(r: SafetensorsReader, spec: ComponentSpec, used: Set<string>, ema: boolean): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const ldm of r.names()) {
    if (!ldm.startsWith(spec.prefix)) continue;
    const local = ldm.slice(spec.prefix.length);
    if (spec.component.startsWith('text_encoder') && isClipBuffer(local)) continue;
    for (const m of spec.map.toDiffusers(local)) {
      const prev = entries.get(m.name);
      if (prev) throw new EngineError(`${r.path}: '${prev.ldm}' and '${ldm}' both map to ${spec.component} tensor '${m.name}'`);
      let src = ldm;
      if (ema && spec.component === 'unet') {
        src = emaName(ldm);
        if (!r.has(src)) throw new EngineError(`${r.path}: --ema asked for EMA weights, but there is no '${src}' (for '${ldm}')`);
      }
      entries.set(m.name, { ...m, ldm: src });
      used.add(src);
    }
  }
  if (!entries.size) throw new EngineError(`${r.path}: no ${spec.component} tensors (expected keys starting with '${spec.prefix}')`);
  return entries;
}

function configsFromFolder(dir: string, family: Family): { index: Record<string, unknown>; configs: Record<string, Record<string, any>>; scheduler: Record<string, unknown> } {
  const index = readJsonObject(path.join(dir, 'model_index.json'));
  const configs: Record<string, Record<string, any>> = {};
  for (const c of Object.keys(PREFIXES[family])) configs[c] = readJsonObject(path.join(dir, c, 'config.json'));
  const scheduler = readJsonObject(path.join(dir, 'scheduler', 'scheduler_config.json'));
  return { index, configs, scheduler };
}

export function openSingleFile(file: string, opts: SingleFileOptions = {}): SingleFile {
  const reader = SafetensorsReader.open(file);
  const family = detectFamily(reader.names(), file);
  let preset: Preset | null = null;
  let index: Record<string, unknown>, configs: Record<string, Record<string, any>>, scheduler: Record<string, unknown>;
  let configFrom: string;
  if (opts.config) {
    if (opts.preset) throw new EngineError('give either --config or --preset, not both');
    ({ index, configs, scheduler } = configsFromFolder(opts.config, family));
    configFrom = opts.config;
  } else {
    preset = getPreset(opts.preset, family);
    configs = deriveConfigs(reader, family, preset);
    index = preset.model_index;
    scheduler = preset.scheduler;
    configFrom = `preset '${preset.name}' (${preset.source}) with sizes from ${file}`;
  }
  const used = new Set<string>();
  const components: Record<string, SingleFileStore> = {};
  for (const spec of componentSpecs(family, configs)) {
    const store = new SingleFileStore(reader, spec.component, family, buildEntries(reader, spec, used, !!opts.ema));
    const label = opts.config ? path.join(opts.config, spec.component, 'config.json') : `${spec.component} config from ${configFrom}`;
    checkConfig(configs[spec.component], store, label);
    components[spec.component] = store;
  }
  const ignored = reader.names().filter((n) => !used.has(n));
  return { path: file, reader, family, preset, configFrom, configDir: opts.config ?? null, modelIndex: index, configs, scheduler, components, ignored };
}
