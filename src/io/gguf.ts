// Streaming GGUF reader (the llama.cpp / GGML file format, versions 2 and 3), for the
// quantized FLUX transformers people share (city96's *.gguf: BFL key names, F32/F16/BF16
// norms and biases, Q8_0 or F16 weights). Layout: magic "GGUF", u32 version, u64 tensor
// count, u64 metadata count, the metadata key/values, the tensor infos (name, dims, ggml
// type, offset), padding to `general.alignment` (default 32), then the data. Dims are
// stored innermost first (ne[0] is the row length), so shapes are reversed here.
// Only the header is read; tensor bytes are read on demand like safetensors ones.
import * as fs from 'node:fs';
import { EngineError } from '../errors.ts';
import { QK8_0, Q8_0_BLOCK_BYTES } from '../tensor/q8_0.ts';
import { openOrFail, type SourceDType, type WeightSource } from './safetensors.ts';
import { fmtShape } from './store.ts';

/** ggml_type ids -> names (ggml.h), for the error on the types the engine cannot read. */
export const GGML_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL',
  21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16',
  34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};
/** The ggml types read here, as the engine's source dtypes. */
const READABLE: Record<number, SourceDType> = { 0: 'F32', 1: 'F16', 8: 'Q8_0', 30: 'BF16' };

export type GgufValue = number | bigint | boolean | string | GgufValue[];

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_STRING = 1 << 30;

/** Sequential reads through a file with a small buffer (headers can be megabytes of vocab). */
class Cursor {
  private buf = Buffer.alloc(1 << 16);
  private start = 0; // file offset of buf[0]
  private len = 0;
  pos = 0;
  constructor(private readonly fd: number, readonly size: number, readonly file: string) {}

  private need(n: number, what: string): Buffer {
    if (this.pos + n > this.size) throw new EngineError(`${this.file}: truncated GGUF header (${what} at offset ${this.pos} runs past the end of the ${this.size}-byte file)`);
    if (this.pos < this.start || this.pos + n > this.start + this.len) {
      if (n > this.buf.length) this.buf = Buffer.alloc(n);
      this.start = this.pos;
      this.len = fs.readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.size - this.pos), this.pos);
    }
    const o = this.pos - this.start;
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }
  u8(w: string) { return this.need(1, w).readUInt8(0); }
  i8(w: string) { return this.need(1, w).readInt8(0); }
  u16(w: string) { return this.need(2, w).readUInt16LE(0); }
  i16(w: string) { return this.need(2, w).readInt16LE(0); }
  u32(w: string) { return this.need(4, w).readUInt32LE(0); }
  i32(w: string) { return this.need(4, w).readInt32LE(0); }
  f32(w: string) { return this.need(4, w).readFloatLE(0); }
  f64(w: string) { return this.need(8, w).readDoubleLE(0); }
  u64(w: string) { return this.need(8, w).readBigUInt64LE(0); }
  i64(w: string) { return this.need(8, w).readBigInt64LE(0); }
  /** A u64 that must be a reasonable count or size. */
  count(w: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.u64(w);
    if (v > BigInt(Math.floor(max))) throw new EngineError(`${this.file}: ${w} is ${v}, impossible for a ${this.size}-byte file; not a GGUF file or corrupted`);
    return Number(v);
  }
  str(w: string): string {
    const n = this.count(`${w} length`, Math.min(MAX_STRING, this.size));
    return this.need(n, w).toString('utf8');
  }
}

export interface GgufTensorInfo { name: string; type: string; dtype: SourceDType | null; shape: number[]; offset: number; bytes: number }

export class GgufReader {
  private readonly byName = new Map<string, WeightSource>();

  private constructor(readonly path: string, readonly version: number, readonly metadata: Map<string, GgufValue>, readonly tensors: GgufTensorInfo[], readonly dataStart: number) {
    for (const t of tensors) {
      this.byName.set(t.name, { name: t.name, file: path, dtype: t.dtype!, shape: t.shape, byteOffset: dataStart + t.offset, byteLength: t.bytes });
    }
  }

  static isGguf(path: string): boolean {
    try {
      const fd = fs.openSync(path, 'r');
      try {
        const b = Buffer.alloc(4);
        return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === GGUF_MAGIC;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return false;
    }
  }

  static open(path: string): GgufReader {
    const fd = openOrFail(path, 'r');
    try {
      const c = new Cursor(fd, fs.fstatSync(fd).size, path);
      if (c.size < 24 || c.u32('magic') !== GGUF_MAGIC) throw new EngineError(`${path}: not a GGUF file (no "GGUF" magic)`);
      const version = c.u32('version');
      if (version !== 2 && version !== 3) throw new EngineError(`${path}: GGUF version ${version} is not supported (2 and 3 are)`);
      const nTensors = c.count('tensor count', c.size / 24);
      const nKv = c.count('metadata count', c.size / 12);
      const metadata = new Map<string, GgufValue>();
      for (let i = 0; i < nKv; i++) {
        const key = c.str(`metadata key ${i}`);
        metadata.set(key, readValue(c, c.u32(`type of '${key}'`), key));
      }
      const infos: GgufTensorInfo[] = [];
      for (let i = 0; i < nTensors; i++) infos.push(readInfo(c, i));
      const align = metadata.get('general.alignment') ?? 32;
      if (typeof align !== 'number' || !Number.isInteger(align) || align < 1 || (align & (align - 1))) throw new EngineError(`${path}: general.alignment ${String(align)} is not a power of two`);
      const dataStart = Math.ceil(c.pos / align) * align;
      const seen = new Set<string>();
      for (const t of infos) {
        if (seen.has(t.name)) throw new EngineError(`${path}: tensor '${t.name}' appears twice`);
        seen.add(t.name);
        if (!t.dtype) throw new EngineError(`${path}: unsupported tensor type ${t.type} in tensor '${t.name}' (the engine reads F32, F16, BF16 and Q8_0 GGUF tensors)`);
        if (t.offset % align) throw new EngineError(`${path}: tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${align}`);
        if (dataStart + t.offset + t.bytes > c.size) throw new EngineError(`${path}: tensor '${t.name}' ${fmtShape(t.shape)} ${t.type} runs past the end of the file (truncated?)`);
      }
      return new GgufReader(path, version, metadata, infos, dataStart);
    } finally {
      fs.closeSync(fd);
    }
  }

  names(): string[] { return [...this.byName.keys()]; }
  has(name: string): boolean { return this.byName.has(name); }
  source(name: string): WeightSource {
    const s = this.byName.get(name);
    if (!s) throw new EngineError(`${this.path}: no tensor named '${name}'`);
    return { ...s, shape: [...s.shape] };
  }
}

function readValue(c: Cursor, type: number, key: string): GgufValue {
  switch (type) {
    case 0: return c.u8(key);
    case 1: return c.i8(key);
    case 2: return c.u16(key);
    case 3: return c.i16(key);
    case 4: return c.u32(key);
    case 5: return c.i32(key);
    case 6: return c.f32(key);
    case 7: return c.u8(key) !== 0;
    case 8: return c.str(key);
    case 9: {
      const t = c.u32(`item type of '${key}'`);
      const n = c.count(`length of '${key}'`, c.size);
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(c, t, key));
      return out;
    }
    case 10: return c.u64(key);
    case 11: return c.i64(key);
    case 12: return c.f64(key);
    default: throw new EngineError(`${c.file}: metadata '${key}' has unknown value type ${type}; not a GGUF file or corrupted`);
  }
}

function readInfo(c: Cursor, i: number): GgufTensorInfo {
  const name = c.str(`tensor ${i} name`);
  const nDims = c.u32(`dims of '${name}'`);
  if (nDims < 1 || nDims > 4) throw new EngineError(`${c.file}: tensor '${name}' has ${nDims} dimensions (GGUF allows 1 to 4)`);
  const ne: number[] = [];
  for (let d = 0; d < nDims; d++) ne.push(c.count(`dimension ${d} of '${name}'`, c.size * 8));
  const typeId = c.u32(`type of '${name}'`);
  const offset = c.count(`offset of '${name}'`, c.size);
  const type = GGML_TYPES[typeId] ?? `#${typeId}`;
  const dtype = READABLE[typeId] ?? null;
  const shape = [...ne].reverse();
  const n = ne.reduce((a, b) => a * b, 1);
  let bytes = 0;
  if (dtype === 'Q8_0') {
    if (ne[0] % QK8_0) throw new EngineError(`${c.file}: Q8_0 tensor '${name}' ${fmtShape(shape)}: rows of ${ne[0]} values are not whole ${QK8_0}-value blocks`);
    bytes = (n / QK8_0) * Q8_0_BLOCK_BYTES;
  } else if (dtype) bytes = n * (dtype === 'F32' ? 4 : 2);
  return { name, type, dtype, shape, offset, bytes };
}
