// Diffusers folders. A component folder (unet/, vae/, text_encoder/, ...) has config.json
// and weights under one of diffusers' file names: diffusion_pytorch_model.safetensors
// (diffusers models) or model.safetensors (transformers models), `<base>.<variant>.safetensors`
// for variants such as fp16, or a sharded set listed by `<base>.safetensors.index.json`
// (variant: `<base>.safetensors.index.<variant>.json`). A pipeline folder adds
// model_index.json naming its components.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { checkConfig } from './configcheck.ts';
import { FileStore, UnionStore, type WeightStore } from './store.ts';

const BASES = ['diffusion_pytorch_model', 'model'];

export interface Component {
  name: string;             // e.g. 'unet'
  dir: string;
  config: any;
  store: WeightStore;
  files: string[];          // weight files read
  variant: string | null;   // variant actually used
}

export interface Pipeline {
  dir: string;
  className: string;                        // model_index.json _class_name
  index: Record<string, unknown>;
  components: Record<string, Component>;    // weight-bearing components
  scheduler: { dir: string; config: any } | null;
  tokenizers: Record<string, string>;       // name -> folder
}

export interface OpenOptions {
  variant?: string | null;
  /** Used where a component has it, else the default choice (e.g. 'fp16' for f16 compute). */
  preferVariant?: string | null;
  check?: boolean;
}

function isDir(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}
function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

/** Read a JSON object file, with one-line errors for every way it can be wrong. */
export function readJsonObject(file: string): Record<string, any> {
  if (isDir(file)) throw new EngineError(`${file}: is a directory, expected a JSON file`);
  if (!isFile(file)) throw new EngineError(`${file}: no such file`);
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EngineError(`${file}: expected a JSON object, got ${Array.isArray(v) ? 'an array' : String(v === null ? 'null' : typeof v)}`);
  return v as Record<string, any>;
}

/** Weight files of a component folder, grouped as { variant or '': entry file }. */
export function listWeightFiles(dir: string): Map<string, string> {
  return weightFileNames(fs.readdirSync(dir));
}

/** The same grouping over bare file names (also used on a hub repo's file list, src/io/hub_plan.ts). */
export function weightFileNames(names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of names) {
    for (const b of BASES) {
      let m: RegExpMatchArray | null;
      if (f === `${b}.safetensors` || f === `${b}.safetensors.index.json`) out.set('', f);
      else if ((m = f.match(new RegExp(`^${b}\\.([A-Za-z0-9_-]+)\\.safetensors$`))) && !/\d+-of-\d+$/.test(m[1])) out.set(m[1], f);
      else if ((m = f.match(new RegExp(`^${b}\\.safetensors\\.index\\.([A-Za-z0-9_-]+)\\.json$`)))) out.set(m[1], f);
      else if ((m = f.match(new RegExp(`^${b}\\.([A-Za-z0-9_-]+)\\.safetensors\\.index\\.json$`)))) out.set(m[1], f);
    }
  }
  return out;
}

function openSharded(indexFile: string): { store: WeightStore; files: string[] } {
  const idx = readJsonObject(indexFile);
  const map = idx.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new EngineError(`${indexFile}: missing "weight_map" object`);
  const dir = path.dirname(indexFile);
  const shards = new Map<string, FileStore>();
  for (const [name, f] of Object.entries(map as Record<string, unknown>)) {
    if (typeof f !== 'string' || f !== path.basename(f) || f === '..' || f === '.') {
      throw new EngineError(`${indexFile}: weight_map['${name}'] must be a file name in the same folder, got ${JSON.stringify(f)}`);
    }
    if (!shards.has(f)) shards.set(f, new FileStore(path.join(dir, f)));
    if (!shards.get(f)!.has(name)) throw new EngineError(`${indexFile}: tensor '${name}' is mapped to ${f}, which does not contain it`);
  }
  if (!shards.size) throw new EngineError(`${indexFile}: weight_map is empty`);
  return { store: new UnionStore([...shards.values()], indexFile), files: [...shards.keys()].map((f) => path.join(dir, f)) };
}

/** Open a component folder: its config.json and weights (plain file preferred unless a variant is asked for). */
export function openComponent(dir: string, opts: OpenOptions = {}, name = path.basename(dir)): Component {
  if (isFile(dir)) throw new EngineError(`${dir}: is a file, expected a component folder with config.json`);
  if (!isDir(dir)) throw new EngineError(`${dir}: no such folder`);
  const config = readJsonObject(path.join(dir, 'config.json'));
  const files = listWeightFiles(dir);
  const want = opts.variant ?? null;
  let variant: string;
  if (want !== null) {
    if (!files.has(want)) throw new EngineError(`${dir}: no '${want}' variant weights (found: ${describeFiles(dir, files)})`);
    variant = want;
  } else if (opts.preferVariant && files.has(opts.preferVariant)) variant = opts.preferVariant;
  else if (files.has('')) variant = '';
  else if (files.size === 1) variant = [...files.keys()][0];
  else throw new EngineError(`${dir}: ${files.size ? `several weight variants (${[...files.keys()].join(', ')}); choose one with --variant` : `no safetensors weights (found: ${describeFiles(dir, files)})`}`);
  const entry = path.join(dir, files.get(variant)!);
  const opened = entry.endsWith('.json') ? openSharded(entry) : { store: new FileStore(entry), files: [entry] };
  const comp: Component = { name, dir, config, store: opened.store, files: opened.files, variant: variant || null };
  if (opts.check !== false) checkConfig(config, comp.store, path.join(dir, 'config.json'));
  return comp;
}

function describeFiles(dir: string, files: Map<string, string>): string {
  if (files.size) return [...files.values()].join(', ');
  const all = fs.readdirSync(dir);
  const bins = all.filter((f) => f.endsWith('.bin') || f.endsWith('.ckpt') || f.endsWith('.pt'));
  if (bins.length) return `${bins.join(', ')}; only .safetensors weights are supported`;
  return all.length ? all.join(', ') : 'nothing';
}

/** Pipeline parts the engine never runs. */
export const UNUSED_PARTS = new Set(['feature_extractor', 'safety_checker', 'image_encoder']);
const WEIGHTLESS = new Set(['scheduler', 'tokenizer', 'tokenizer_2', 'tokenizer_3', ...UNUSED_PARTS]);

/** Open a pipeline folder (model_index.json) and every weight-bearing component it names. */
export function openPipeline(dir: string, opts: OpenOptions = {}): Pipeline {
  if (!isDir(dir)) throw new EngineError(`${dir}: ${isFile(dir) ? 'is a file' : 'no such folder'}, expected a diffusers pipeline folder`);
  const indexFile = path.join(dir, 'model_index.json');
  const index = readJsonObject(indexFile);
  const className = typeof index._class_name === 'string' ? index._class_name : '';
  if (!className) throw new EngineError(`${indexFile}: missing "_class_name"`);
  const p: Pipeline = { dir, className, index, components: {}, scheduler: null, tokenizers: {} };
  for (const [key, v] of Object.entries(index)) {
    if (key.startsWith('_') || !Array.isArray(v) || v[0] === null || v[1] === null) continue;
    const sub = path.join(dir, key);
    // A missing tokenizer only matters to generation, which reports it; weights can still load.
    // Parts the engine never runs may be missing too (a hub download leaves them out).
    if (!isDir(sub) && (key.startsWith('tokenizer') || UNUSED_PARTS.has(key))) continue;
    if (!isDir(sub)) throw new EngineError(`${indexFile}: component '${key}' (${v[1]}) has no folder ${sub}`);
    if (key.startsWith('scheduler')) {
      p.scheduler = { dir: sub, config: readJsonObject(path.join(sub, 'scheduler_config.json')) };
    } else if (key.startsWith('tokenizer')) {
      p.tokenizers[key] = sub;
    } else if (!WEIGHTLESS.has(key) || fs.existsSync(path.join(sub, 'config.json'))) {
      p.components[key] = openComponent(sub, opts, key);
    }
  }
  return p;
}

export function isPipelineDir(dir: string): boolean {
  return isFile(path.join(dir, 'model_index.json'));
}
export function isComponentDir(dir: string): boolean {
  return isFile(path.join(dir, 'config.json'));
}
