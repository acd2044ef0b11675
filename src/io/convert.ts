// Weight conversion: single file <-> diffusers folder, or same format with another dtype /
// without EMA or other keys. Everything is planned first (which tensors, from which bytes,
// to which file), then streamed chunk by chunk through the dtype converter into
// SafetensorsWriter, so memory stays bounded whatever the checkpoint size.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { DTypeConverter, isConvertible, type FloatDType, type OverflowReport } from './dtype.ts';
import { Q8Quantizer, q8Decision, type QuantReport } from './quantize.ts';
import { dequantizeQ8_0, Q8_0_BLOCK_BYTES, QK8_0 } from '../tensor/q8_0.ts';
import { isComponentDir, isPipelineDir, openComponent, openPipeline, type Component } from './folder.ts';
import type { Family } from './names/checkpoint.ts';
import { DEFAULT_CHUNK_BYTES, SafetensorsWriter, readChunks } from './safetensors.ts';
import { fluxComponent, fluxToDiffusers, fluxToSingle } from './convert_flux.ts';
import { isFluxFile, openWeightsFile } from './fluxfile.ts';
import { openSingleFile } from './singlefile.ts';
import type { WeightStore } from './store.ts';
import { diffusersFamily, singleFilePlan, type OutTensor } from './tosingle.ts';

export const DTYPE_ARG: Record<string, FloatDType | 'Q8_0'> = { f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0' };

export interface ConvertOptions {
  to?: 'diffusers' | 'single-file' | 'same';
  dtype?: FloatDType | 'Q8_0';  // Q8_0: 2-D Linear weights only (src/io/quantize.ts)
  config?: string;       // reference diffusers folder for single-file -> diffusers
  preset?: string;
  variant?: string;      // input variant to read from a diffusers folder
  outVariant?: string;   // name output weights <base>.<variant>.safetensors
  ema?: boolean;         // single file: take the UNet from its EMA copy
  prefixed?: boolean;    // FLUX -> single file: keys under model.diffusion_model.
  dropEma?: boolean;     // same format: drop model_ema.* keys
  drop?: string[];       // same format: drop keys with these prefixes
  force?: boolean;
  chunkBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface FilePlan { path: string; tensors: OutTensor[]; metadata: Record<string, string> }
export interface ConvertReport {
  files: string[]; tensors: number; bytesIn: number; bytesOut: number;
  overflows: OverflowReport[]; ignored: string[]; dropped: string[];
  /** --dtype q8_0: error of each quantized tensor, and tensors kept because rows are not whole blocks. */
  quantized?: QuantReport[]; notQuantized?: { tensor: string; why: string }[];
  family?: Family; configFrom?: string; notes: string[];
}

function outDType(t: OutTensor, want?: FloatDType | 'Q8_0') {
  if (want === 'Q8_0') return q8Decision(t).quantize ? 'Q8_0' : t.dtype;
  return want && (isConvertible(t.dtype) || t.dtype === 'Q8_0') ? want : t.dtype; // q8_0 -> float: dequantized
}

/** Whole q8_0 blocks -> their values as F32 bytes. */
function dequantizeChunk(c: Uint8Array): Uint8Array {
  const v = dequantizeQ8_0(c, (c.length / Q8_0_BLOCK_BYTES) * QK8_0);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function storePlan(store: WeightStore, file: string, keep: (n: string) => boolean = () => true): FilePlan {
  const tensors = store.names().filter(keep).map((n) => {
    const s = store.source(n);
    return { name: n, dtype: s.dtype, shape: s.shape, parts: [s] };
  });
  return { path: file, tensors, metadata: { format: 'pt' } };
}

const weightsBase = (c: string) => (c.startsWith('text_encoder') ? 'model' : 'diffusion_pytorch_model');
const weightsName = (c: string, v?: string) => `${weightsBase(c)}${v ? '.' + v : ''}.safetensors`;

function prepareOutDir(out: string, force?: boolean): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new EngineError(`${out}: exists and is not a folder`);
    if (fs.readdirSync(out).length && !force) throw new EngineError(`${out}: folder exists and is not empty (use --force to write into it)`);
  }
  fs.mkdirSync(out, { recursive: true });
}

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const s = path.join(from, f);
    if (fs.statSync(s).isFile()) fs.copyFileSync(s, path.join(to, f));
  }
}

/** Stream the plans to disk; returns totals and f16/bf16 overflow reports. */
export function writePlans(plans: FilePlan[], opts: ConvertOptions): Omit<ConvertReport, 'ignored' | 'dropped' | 'notes'> {
  const chunk = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const total = plans.reduce((a, p) => a + p.tensors.reduce((b, t) => b + t.parts.reduce((c, s) => c + s.byteLength, 0), 0), 0);
  let done = 0, bytesOut = 0, count = 0;
  const overflows: OverflowReport[] = [];
  const quantized: QuantReport[] = [], notQuantized: { tensor: string; why: string }[] = [];
  for (const plan of plans) {
    const byName = new Map(plan.tensors.map((t) => [t.name, t]));
    const w = new SafetensorsWriter(plan.path, plan.tensors.map((t) => ({ name: t.name, dtype: outDType(t, opts.dtype), shape: t.shape })), plan.metadata);
    try {
      for (const decl of w.order) {
        const t = byName.get(decl.name)!;
        const q8 = decl.dtype === 'Q8_0' && isConvertible(t.dtype) ? new Q8Quantizer(t.dtype, t.name, t.shape) : null;
        const deq = t.dtype === 'Q8_0' && decl.dtype !== 'Q8_0';
        const from = deq ? 'F32' : t.dtype;
        const conv = !q8 && isConvertible(from) && decl.dtype !== from ? new DTypeConverter(from, decl.dtype as FloatDType, t.name, t.shape) : null;
        if (opts.dtype === 'Q8_0' && !q8) {
          const d = q8Decision(t);
          if (!d.quantize && d.why) notQuantized.push({ tensor: t.name, why: d.why });
        }
        for (const part of t.parts) {
          if (part.dtype !== t.dtype) throw new EngineError(`${part.file}: '${part.name}' is ${part.dtype}, expected ${t.dtype} like the rest of '${t.name}'`);
          for (const c of readChunks(part, q8 ? Q8Quantizer.chunkBytes(q8.from, chunk) : chunk)) {
            const v = deq ? dequantizeChunk(c) : c;
            const o = q8 ? q8.quantize(v) : conv ? conv.convert(v) : v;
            w.write(decl.name, o);
            bytesOut += o.length;
            done += c.length;
            opts.onProgress?.(done, total);
          }
        }
        if (w.current() === decl.name) throw new EngineError(`${plan.path}: tensor '${decl.name}' got fewer bytes than its shape needs`);
        if (conv && conv.overflow.count) overflows.push(conv.overflow);
        if (q8) quantized.push(q8.report);
        count++;
      }
      w.close();
    } catch (e) {
      w.abort();
      throw e;
    }
  }
  const q = opts.dtype === 'Q8_0' ? { quantized, notQuantized } : {};
  return { files: plans.map((p) => p.path), tensors: count, bytesIn: total, bytesOut, overflows, ...q };
}

function singleToDiffusers(input: string, out: string, o: ConvertOptions): { plans: FilePlan[]; report: Partial<ConvertReport>; finish: () => void } {
  const sf = openSingleFile(input, { config: o.config, preset: o.preset, ema: o.ema });
  prepareOutDir(out, o.force);
  const plans: FilePlan[] = [];
  for (const [c, store] of Object.entries(sf.components)) {
    fs.mkdirSync(path.join(out, c), { recursive: true });
    plans.push(storePlan(store, path.join(out, c, weightsName(c, o.outVariant))));
  }
  const finish = () => {
    const json = (p: string, v: unknown) => fs.writeFileSync(p, JSON.stringify(v, null, 2) + '\n');
    if (sf.configDir) {
      // Copy the reference files byte for byte, like from_single_file(config=...) reuses them.
      fs.copyFileSync(path.join(sf.configDir, 'model_index.json'), path.join(out, 'model_index.json'));
      for (const c of Object.keys(sf.components)) fs.copyFileSync(path.join(sf.configDir, c, 'config.json'), path.join(out, c, 'config.json'));
      for (const d of fs.readdirSync(sf.configDir)) {
        if (d.startsWith('tokenizer') || d.startsWith('scheduler')) copyDir(path.join(sf.configDir, d), path.join(out, d));
      }
    } else {
      json(path.join(out, 'model_index.json'), sf.modelIndex);
      for (const [c, cfg] of Object.entries(sf.configs)) json(path.join(out, c, 'config.json'), cfg);
      fs.mkdirSync(path.join(out, 'scheduler'), { recursive: true });
      json(path.join(out, 'scheduler', 'scheduler_config.json'), sf.scheduler);
    }
  };
  const notes = sf.configDir ? [] : [`no tokenizer files in a single file: copy the tokenizer folder(s) of ${sf.preset!.source} into ${out}, or convert with --config <diffusers folder>`];
  return { plans, report: { ignored: sf.ignored, family: sf.family, configFrom: sf.configFrom, notes }, finish };
}

function diffusersToSingle(input: string, out: string, o: ConvertOptions): FilePlan[] {
  const p = openPipeline(input, { variant: o.variant });
  const family = diffusersFamily(p.className, p.components);
  const { tensors, metadata } = singleFilePlan({ family, components: p.components });
  return [{ path: out, tensors, metadata }];
}

function sameFormat(input: string, out: string, o: ConvertOptions): { plans: FilePlan[]; dropped: string[]; finish: () => void } {
  const dropped: string[] = [];
  const keep = (n: string) => {
    const drop = (o.dropEma && n.startsWith('model_ema.')) || (o.drop ?? []).some((p) => n.startsWith(p));
    if (drop) dropped.push(n);
    return !drop;
  };
  if (fs.statSync(input).isFile()) {
    const w = openWeightsFile(input);
    const plan = storePlan(w.store, out, keep);
    plan.metadata = w.format === 'gguf' ? { format: 'pt' } : w.metadata;
    return { plans: [plan], dropped, finish: () => {} };
  }
  const comps: Component[] = isPipelineDir(input) ? Object.values(openPipeline(input, { variant: o.variant }).components)
    : isComponentDir(input) ? [openComponent(input, { variant: o.variant }, '')] : [];
  if (!comps.length) throw new EngineError(`${input}: neither a safetensors file, a pipeline folder (model_index.json) nor a component folder (config.json)`);
  prepareOutDir(out, o.force);
  const plans = comps.map((c) => {
    const dir = path.join(out, path.relative(input, c.dir));
    fs.mkdirSync(dir, { recursive: true });
    const base = path.basename(c.files[0]).startsWith('model') ? 'model' : 'diffusion_pytorch_model';
    return storePlan(c.store, path.join(dir, `${base}${o.outVariant ? '.' + o.outVariant : ''}.safetensors`), keep);
  });
  const finish = () => {
    // configs, tokenizers, scheduler: everything that is not a weight file
    const walk = (from: string, to: string) => {
      for (const f of fs.readdirSync(from)) {
        const s = path.join(from, f), d = path.join(to, f);
        if (fs.statSync(s).isDirectory()) { fs.mkdirSync(d, { recursive: true }); walk(s, d); }
        else if (!/\.safetensors(\.index(\.[\w-]+)?\.json)?$/.test(f) && !f.endsWith('.partial')) fs.copyFileSync(s, d);
      }
    };
    walk(input, out);
  };
  return { plans, dropped, finish };
}

export function convert(input: string, output: string, o: ConvertOptions = {}): ConvertReport {
  if (!fs.existsSync(input)) throw new EngineError(`${input}: no such file or folder`);
  if (path.resolve(input) === path.resolve(output)) throw new EngineError(`${output}: output must differ from the input`);
  const isFile = fs.statSync(input).isFile();
  if (!isFile && path.resolve(output).startsWith(path.resolve(input) + path.sep)) throw new EngineError(`${output}: output must not be inside the input folder ${input}`);
  const to = o.to ?? 'same';
  if (to !== 'same' && (o.dropEma || o.drop?.length)) throw new EngineError('--drop-ema/--drop apply to same-format conversion; format conversion already keeps only the weights the model uses');
  if ((to === 'diffusers' && !isFile) || (to === 'single-file' && isFile)) {
    throw new EngineError(`${input}: --to ${to} converts ${to === 'diffusers' ? 'a single .safetensors file' : 'a diffusers pipeline folder'}`);
  }
  if (isFile && to !== 'diffusers' && fs.existsSync(output) && !o.force) throw new EngineError(`${output}: exists (use --force to overwrite)`);
  if (to === 'single-file' && fs.existsSync(output) && !o.force) throw new EngineError(`${output}: exists (use --force to overwrite)`);
  if (to === 'diffusers' && isFluxFile(input)) {
    const f = fluxToDiffusers(input, output, { config: o.config });
    prepareOutDir(output, o.force);
    const r = writePlans([{ path: f.plan.file, tensors: f.plan.tensors, metadata: f.plan.metadata }], o);
    fs.writeFileSync(path.join(output, 'config.json'), JSON.stringify(f.config, null, 2) + '\n');
    return { ...r, ignored: [], dropped: [], configFrom: f.configFrom, notes: [] };
  }
  const flux = to === 'single-file' ? fluxComponent(input, o.variant) : null;
  if (flux) {
    const p = fluxToSingle(flux, output, o.prefixed);
    return { ...writePlans([{ path: p.file, tensors: p.tensors, metadata: p.metadata }], o), ignored: [], dropped: [], notes: [] };
  }
  if (to === 'diffusers') {
    const { plans, report, finish } = singleToDiffusers(input, output, o);
    const r = writePlans(plans, o);
    finish();
    return { ...r, ignored: report.ignored ?? [], dropped: [], family: report.family, configFrom: report.configFrom, notes: report.notes ?? [] };
  }
  if (to === 'single-file') return { ...writePlans(diffusersToSingle(input, output, o), o), ignored: [], dropped: [], notes: [] };
  const { plans, dropped, finish } = sameFormat(input, output, o);
  const r = writePlans(plans, o);
  finish();
  return { ...r, ignored: [], dropped, notes: [] };
}
