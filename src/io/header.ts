// Parse and validate a safetensors header. Format (see the fixtures' README and the
// reference library): 8-byte little-endian header length N, N bytes of UTF-8 JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`,
// then the data section; offsets are relative to its start. Everything a file claims
// is checked before it is believed, so a bad file gives one clear error and we never
// allocate a size it merely asserts.
import { EngineError } from '../errors.ts';

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
  U64: 8, U32: 4, U16: 2, F8_E4M3: 1, F8_E5M2: 1,
} as const;
export type StDType = keyof typeof DTYPE_BYTES;

// The reference library refuses headers above 100 MB; a real SDXL header is ~200 KB.
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry { name: string; dtype: StDType; shape: number[]; begin: number; end: number }
export interface ParsedHeader { entries: TensorEntry[]; metadata: Record<string, string>; dataStart: number }

export function isDType(s: unknown): s is StDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Element count of a shape, failing (instead of losing precision) past 2^53. */
export function numelOf(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new EngineError(`${what}: shape [${shape}] has too many elements`);
  }
  return n;
}

/** Validate the 8-byte length prefix against the file size; returns N. */
export function checkHeaderLength(file: string, fileSize: number, prefix: Buffer): number {
  if (fileSize === 0) throw new EngineError(`${file}: empty file (0 bytes), not a safetensors file`);
  if (fileSize < 8) throw new EngineError(`${file}: truncated: ${fileSize} bytes, a safetensors file starts with an 8-byte header length`);
  const n = prefix.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new EngineError(`${file}: header length ${n} bytes is absurd (limit ${MAX_HEADER_BYTES}); not a safetensors file or corrupted`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new EngineError(`${file}: header length ${n} bytes is larger than the rest of the file (${fileSize - 8} bytes); truncated or not a safetensors file`);
  }
  if (n < 2n) throw new EngineError(`${file}: header length ${n} bytes is too small for a JSON object`);
  return Number(n);
}

export function parseHeader(file: string, json: Uint8Array, fileSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new EngineError(`${file}: header is not valid UTF-8; not a safetensors file or corrupted`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new EngineError(`${file}: header is not valid JSON (${(e as Error).message}); not a safetensors file or corrupted`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new EngineError(`${file}: header JSON is ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}, expected an object of tensors`);
  }
  const dup = firstDuplicateKey(text);
  if (dup !== null) throw new EngineError(`${file}: tensor name '${dup}' appears twice in the header`);

  const dataStart = 8 + json.length;
  const dataLen = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, v] of Object.entries(obj as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EngineError(`${file}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new EngineError(`${file}: __metadata__['${k}'] is ${typeof s}, expected a string`);
        metadata[k] = s;
      }
      continue;
    }
    entries.push(parseEntry(file, name, v));
  }
  checkLayout(file, entries, dataLen);
  return { entries, metadata, dataStart };
}

function parseEntry(file: string, name: string, v: unknown): TensorEntry {
  const where = `${file}: tensor '${name}'`;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EngineError(`${where}: entry is not an object with dtype/shape/data_offsets`);
  const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new EngineError(`${where}: missing dtype`);
  if (!isDType(dtype)) throw new EngineError(`${where}: unknown dtype '${dtype}' (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  if (!Array.isArray(shape)) throw new EngineError(`${where}: shape must be an array of integers, got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d)) throw new EngineError(`${where}: shape [${shape}] has a non-integer dimension ${JSON.stringify(d)}`);
    if (d < 0) throw new EngineError(`${where}: shape [${shape}] has a negative dimension`);
  }
  if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new EngineError(`${where}: data_offsets must be two non-negative integers [begin, end], got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as number[];
  if (end < begin) throw new EngineError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const need = numelOf(shape, where) * DTYPE_BYTES[dtype];
  if (end - begin !== need) {
    throw new EngineError(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} x [${shape}] needs ${need}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

// Like the reference library: tensors must tile the data section exactly, without
// overlaps, holes, or trailing bytes.
function checkLayout(file: string, entries: TensorEntry[], dataLen: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: TensorEntry | undefined;
  for (const e of sorted) {
    if (e.end > dataLen) {
      throw new EngineError(`${file}: tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] run past the end of the data section (${dataLen} bytes); file truncated?`);
    }
    if (e.begin < pos) {
      throw new EngineError(`${file}: tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap`);
    }
    if (e.begin > pos) {
      throw new EngineError(`${file}: ${e.begin - pos} unused bytes before tensor '${e.name}' (offset ${e.begin}, previous data ends at ${pos})`);
    }
    pos = e.end;
    if (e.end > e.begin) prev = e;
  }
  if (pos !== dataLen) {
    throw new EngineError(`${file}: data section is ${dataLen} bytes but its tensors cover ${pos}; ${dataLen - pos} trailing bytes`);
  }
}

// JSON.parse keeps the last of duplicate keys silently; scan the top-level keys ourselves.
function firstDuplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return null;
}
