// A small GGUF v3 writer for tests only: string / u32 / f32 metadata and tensors given as
// raw bytes with their ggml type id, laid out as llama.cpp's gguf writer does (infos, then
// data aligned to general.alignment, each tensor padded to it). Shapes are given in the
// engine's order (outermost first) and written reversed, as GGUF stores ne[].
import * as fs from 'node:fs';

export interface GgufTensorSpec { name: string; type: number; shape: number[]; data: Uint8Array }
export type GgufMeta = Record<string, string | number | { f32: number }>;

export function writeGguf(path: string, tensors: GgufTensorSpec[], meta: GgufMeta = {}, align = 32): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s: string) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  parts.push(Buffer.from('GGUF', 'latin1'));
  u32(3);
  u64(tensors.length);
  const kv = { ...meta, ...(align !== 32 ? { 'general.alignment': align } : {}) };
  u64(Object.keys(kv).length);
  for (const [k, v] of Object.entries(kv)) {
    str(k);
    if (typeof v === 'string') { u32(8); str(v); }
    else if (typeof v === 'number') { u32(4); u32(v); }
    else { u32(6); const b = Buffer.alloc(4); b.writeFloatLE((v as { f32: number }).f32); parts.push(b); }
  }
  let off = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    u32(t.shape.length);
    for (const d of [...t.shape].reverse()) u64(d);
    u32(t.type);
    u64(off);
    offsets.push(off);
    off += Math.ceil(t.data.length / align) * align;
  }
  const head = Buffer.concat(parts);
  const dataStart = Math.ceil(head.length / align) * align;
  const out = Buffer.alloc(dataStart + off);
  head.copy(out, 0);
  tensors.forEach((t, i) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length).copy(out, dataStart + offsets[i]));
  fs.writeFileSync(path, out);
}

export const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, BF16: 30 } as const;
