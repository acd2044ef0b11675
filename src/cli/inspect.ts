// `inspect <file-or-folder>`: tensors (dtype, shape, bytes), detected architecture and
// parameter counts of a safetensors file, a single-file checkpoint, or a diffusers folder.
// Reads headers only, so it is instant on files of any size.
import * as fs from 'node:fs';
import { EngineError } from '../errors.ts';
import { configClass } from '../io/configcheck.ts';
import { isComponentDir, isPipelineDir, openComponent } from '../io/folder.ts';
import { detectFamily } from '../io/names/checkpoint.ts';
import { openFluxFile, openWeightsFile } from '../io/fluxfile.ts';
import { isBflFlux, isDiffusersFlux } from '../io/names/flux.ts';
import { openModel, type ModelSource } from '../io/open.ts';
import { META_Q8_0, SafetensorsReader } from '../io/safetensors.ts';
import { FileStore, type WeightStore } from '../io/store.ts';
import { parseArgs } from './args.ts';

const USAGE = `usage: npx tsx src/cli.ts inspect <file-or-folder> [options]

  --json               machine-readable output
  --summary            totals and architecture only, no tensor list
  --variant <v>        diffusers folder: inspect the <v> weights (e.g. fp16)
  --config <folder>    single file: configs from this diffusers folder
  --preset <name>      single file: sd1.5 | sd2.1 | sd-turbo | sdxl`;

interface TensorRow { name: string; dtype: string; shape: number[]; bytes: number; file: string; stored?: string }
interface Part { name: string; architecture: string; parameters: number; bytes: number; tensors: TensorRow[] }

function rows(store: WeightStore): TensorRow[] {
  return store.names().map((n) => {
    const s = store.source(n);
    const r: TensorRow = { name: n, dtype: s.dtype, shape: s.shape, bytes: s.byteLength, file: s.file };
    if (s.stored && s.stored !== n) r.stored = s.stored;
    return r;
  });
}

function part(name: string, architecture: string, store: WeightStore): Part {
  const tensors = rows(store);
  const parameters = tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  return { name, architecture, parameters, bytes: tensors.reduce((a, t) => a + t.bytes, 0), tensors };
}

/** Architecture of a lone weights file, from its tensor names. */
export function guessArchitecture(names: string[]): string {
  const has = (n: string) => names.includes(n);
  const any = (p: string) => names.some((n) => n.startsWith(p));
  if (isBflFlux(names)) return 'FLUX transformer, BFL layout';
  if (isDiffusersFlux(names)) return 'FluxTransformer2DModel';
  if (any('model.diffusion_model.')) {
    try { return `single-file ${detectFamily(names, '')} checkpoint`; } catch (e) { return (e as Error).message.replace(/^: /, ''); }
  }
  if (has('conv_in.weight') && any('down_blocks.') && any('time_embedding.')) return 'UNet2DConditionModel';
  if (has('encoder.conv_in.weight') && has('decoder.conv_in.weight')) return 'AutoencoderKL';
  if (has('text_model.embeddings.token_embedding.weight')) return has('text_projection.weight') ? 'CLIPTextModelWithProjection' : 'CLIPTextModel';
  if (has('shared.weight') && any('encoder.block.')) return 'T5EncoderModel';
  return 'unknown';
}

function human(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}

function describe(path: string, opts: Record<string, unknown>): { kind: string; architecture: string; parts: Part[]; metadata?: Record<string, string>; ignored?: string[]; configFrom?: string } {
  const st = fs.existsSync(path) ? fs.statSync(path) : null;
  if (!st) throw new EngineError(`${path}: no such file or folder`);
  const mopts = { variant: opts.variant as string | undefined, config: opts.config as string | undefined, preset: opts.preset as string | undefined };
  if (st.isFile()) {
    const w = openWeightsFile(path);
    const arch = guessArchitecture(w.store.names());
    if (w.format === 'gguf' || arch.startsWith('FLUX')) return describeFlux(path, arch, w, mopts.config);
    const r = SafetensorsReader.open(path);
    if (!arch.startsWith('single-file')) {
      if (mopts.config || mopts.preset) throw new EngineError(`${path}: --config/--preset apply to single-file checkpoints; this file is ${arch}`);
      return { kind: 'file', architecture: arch, parts: [part('file', arch, new FileStore(r))], metadata: r.metadata };
    }
    let m: ModelSource;
    try {
      m = openModel(path, mopts);
    } catch (e) {
      // Still list what is stored when configs cannot be derived without --config.
      if (!(e instanceof EngineError) || mopts.config || mopts.preset) throw e;
      return { kind: 'single-file', architecture: `${arch}; not loadable as is: ${e.message}`, parts: [part('file', arch, new FileStore(r))], metadata: r.metadata };
    }
    return { kind: 'single-file', architecture: `${m.family} (${m.className})`, parts: modelParts(m), metadata: r.metadata, ignored: m.ignored, configFrom: m.configFrom };
  }
  if (isPipelineDir(path)) {
    const m = openModel(path, mopts);
    return { kind: 'pipeline', architecture: `${m.className}${m.family ? ` (${m.family})` : ''}`, parts: modelParts(m) };
  }
  if (isComponentDir(path)) {
    const c = openComponent(path, { variant: mopts.variant });
    const arch = configClass(c.config) || guessArchitecture(c.store.names());
    return { kind: 'component', architecture: arch, parts: [part(c.name, arch, c.store)] };
  }
  throw new EngineError(`${path}: a folder without model_index.json or config.json; expected a diffusers pipeline or component folder`);
}

// A GGUF file or a BFL FLUX single file: what is stored, and (when it is a FLUX
// transformer whose config is known) the FluxTransformer2DModel it loads as, each row
// naming the stored tensor it reads (`<- double_blocks.0.img_attn.qkv.weight`).
function describeFlux(path: string, arch: string, w: ReturnType<typeof openWeightsFile>, config?: string) {
  const stored = part('file', arch, w.store);
  const kind = w.format === 'gguf' ? 'gguf' : 'single-file';
  if (!arch.startsWith('FLUX')) return { kind, architecture: arch, parts: [stored], metadata: w.metadata };
  try {
    const f = openFluxFile(path, { config });
    return { kind, architecture: `${arch} (FluxTransformer2DModel)`, parts: [part('transformer', 'FluxTransformer2DModel', f.store)], metadata: w.metadata, configFrom: f.configFrom };
  } catch (e) {
    if (!(e instanceof EngineError) || config) throw e;
    return { kind, architecture: `${arch}; not loadable as is: ${e.message}`, parts: [stored], metadata: w.metadata };
  }
}

function modelParts(m: ModelSource): Part[] {
  return Object.entries(m.components).map(([c, v]) => part(c, configClass(v.config), v.store));
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('inspect', argv, {
    json: { type: 'boolean' }, summary: { type: 'boolean' }, variant: { type: 'string' },
    config: { type: 'string' }, preset: { type: 'string' }, help: { type: 'boolean', alias: 'h' },
  });
  if (a.opts.help) { console.log(USAGE); return; }
  if (a.positional.length !== 1) throw new EngineError(`inspect: expected one file or folder, got ${a.positional.length}\n${USAGE}`);
  const path = a.positional[0];
  const d = describe(path, a.opts);
  const parameters = d.parts.reduce((x, p) => x + p.parameters, 0);
  const bytes = d.parts.reduce((x, p) => x + p.bytes, 0);
  if (a.opts.json) {
    const parts = d.parts.map((p) => (a.opts.summary ? { ...p, tensors: undefined } : p));
    return print(JSON.stringify({ path, kind: d.kind, architecture: d.architecture, parameters, bytes, configFrom: d.configFrom, metadata: d.metadata, ignored: d.ignored, parts }, null, 1));
  }
  const out: string[] = [`${path}: ${d.kind}, ${d.architecture}`, `parameters ${human(parameters)} (${parameters}), ${(bytes / 1e6).toFixed(2)} MB of weights`];
  if (d.configFrom) out.push(`configs: ${d.configFrom}`);
  if (d.metadata && Object.keys(d.metadata).length) {
    // the q8_0 tensor list is long and repeated in the tensor rows below: count it only
    const m = { ...d.metadata };
    if (m[META_Q8_0]) m[META_Q8_0] = `(${Object.keys(JSON.parse(m[META_Q8_0])).length} q8_0 tensors)`;
    out.push(`metadata: ${JSON.stringify(m)}`);
  }
  if (d.ignored?.length) out.push(`${d.ignored.length} stored tensors unused by the model (e.g. ${d.ignored.slice(0, 4).join(', ')})`);
  for (const p of d.parts) {
    const dtypes = [...new Set(p.tensors.map((t) => t.dtype))].join('/');
    out.push(`${p.name}: ${p.architecture || '?'}, ${p.tensors.length} tensors, ${dtypes}, ${human(p.parameters)} parameters, ${(p.bytes / 1e6).toFixed(2)} MB`);
    if (a.opts.summary) continue;
    const w = Math.max(...p.tensors.map((t) => t.name.length), 4);
    for (const t of p.tensors) {
      out.push(`  ${t.name.padEnd(w)}  ${t.dtype.padEnd(4)}  ${`[${t.shape.join(', ')}]`.padEnd(20)} ${String(t.bytes).padStart(12)}${t.stored ? `  <- ${t.stored}` : ''}`);
    }
  }
  return print(out.join('\n'));
}

// src/cli.ts exits right after run() resolves; wait until a piped stdout has taken it all.
function print(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text + '\n', () => resolve()));
}
