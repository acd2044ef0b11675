// Streaming safetensors reader and writer. The reader parses only the header; tensor
// bytes are read on demand, by offset, in bounded chunks (readChunks), so a checkpoint
// of any size never sits whole in JS memory. The writer declares every tensor up front
// (the header comes first in the file), then takes the data tensor by tensor, chunk by
// chunk, and lays the file out the way the reference Python library does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { EngineError } from '../errors.ts';
import { Q8_0_BLOCK_BYTES } from '../tensor/q8_0.ts';
import { DTYPE_BYTES, checkHeaderLength, numelOf, parseHeader, type StDType } from './header.ts';

export { DTYPE_BYTES, type StDType } from './header.ts';

// safetensors is little-endian and we hand bytes straight to typed arrays.
if (os.endianness() !== 'LE') throw new Error('nasa-engine: big-endian hosts are not supported');

/**
 * Element type of a weight on disk: a safetensors dtype, or Q8_0 (GGML block_q8_0, see
 * src/tensor/q8_0.ts; shape is then the logical [..., K] and bytes are K/32*34 per row).
 */
export type SourceDType = StDType | 'Q8_0';

/** One tensor's bytes: a region of a file (possibly a slice or reshaped view of a stored tensor). */
export interface WeightSource {
  name: string;          // full name as the model asked for it (for errors)
  file: string;          // path, for errors
  dtype: SourceDType;
  shape: number[];
  byteOffset: number;    // absolute offset in file
  byteLength: number;
  stored?: string;       // name of the tensor in the file when it differs from `name`
  data?: Uint8Array;     // bytes already in memory (small derived tensors, e.g. a transpose); file is then only for errors
  /** The bytes are these regions of `file` one after the other (e.g. halves swapped); byteLength is their sum, byteOffset the first's. */
  segments?: { byteOffset: number; byteLength: number }[];
}

/** Bytes of the smallest readable unit: one element, or one 32-value block for Q8_0. */
export function unitBytes(d: SourceDType): number {
  return d === 'Q8_0' ? Q8_0_BLOCK_BYTES : DTYPE_BYTES[d];
}

/** Bytes of `n` values of dtype `d` (n a multiple of 32 for Q8_0). */
export function bytesFor(d: SourceDType, n: number): number {
  return d === 'Q8_0' ? (n / 32) * Q8_0_BLOCK_BYTES : n * DTYPE_BYTES[d];
}

/** Element count of a source's logical shape. */
export function sourceNumel(s: { shape: readonly number[] }): number {
  return s.shape.reduce((a, b) => a * b, 1);
}

export const DEFAULT_CHUNK_BYTES = 8 << 20;

export function isFloatDType(d: StDType): boolean {
  return d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
}

function checkReadable(src: WeightSource): void {
  if (src.dtype === 'F8_E4M3' || src.dtype === 'F8_E5M2') {
    throw new EngineError(`${src.file}: tensor '${src.name}' has dtype ${src.dtype}, which this engine does not support (F8 weights must be converted to F16/BF16/F32 first)`);
  }
}

/**
 * Read a tensor's bytes in chunks of at most maxChunkBytes (rounded down to whole
 * elements). One buffer is reused: each chunk is valid only until the next iteration,
 * which is what keeps memory bounded; copy it if you need to keep it.
 */
export function* readChunks(src: WeightSource, maxChunkBytes = DEFAULT_CHUNK_BYTES): Generator<Uint8Array> {
  checkReadable(src);
  const elem = unitBytes(src.dtype);
  const chunk = Math.max(elem, maxChunkBytes - (maxChunkBytes % elem));
  if (src.data) {
    for (let o = 0; o < src.byteLength; o += chunk) yield src.data.subarray(o, Math.min(o + chunk, src.byteLength));
    return;
  }
  const regions = src.segments ?? [{ byteOffset: src.byteOffset, byteLength: src.byteLength }];
  const total = regions.reduce((a, r) => a + r.byteLength, 0);
  if (total === 0) return;
  const buf = new Uint8Array(Math.min(chunk, total));
  const fd = openOrFail(src.file, 'r');
  try {
    for (const r of regions) {
      let done = 0;
      while (done < r.byteLength) {
        const want = Math.min(buf.length, r.byteLength - done);
        let got = 0;
        while (got < want) {
          const n = fs.readSync(fd, buf, got, want - got, r.byteOffset + done + got);
          if (n === 0) throw new EngineError(`${src.file}: tensor '${src.name}' ends past the end of the file (file shrank since it was opened?)`);
          got += n;
        }
        done += want;
        yield want === buf.length ? buf : buf.subarray(0, want);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Identity of a source's bytes on disk (file, regions, dtype, shape). */
export function sourceKey(src: WeightSource): string {
  const at = src.segments ? src.segments.map((r) => `${r.byteOffset}+${r.byteLength}`).join(',') : `${src.byteOffset}+${src.byteLength}`;
  return `${src.file}@${at}:${src.dtype}:${src.shape.join('x')}`;
}

/** Total bytes of a source (all its segments). */
export function sourceBytes(src: WeightSource): number {
  return src.segments ? src.segments.reduce((a, r) => a + r.byteLength, 0) : src.byteLength;
}

/** Whole tensor in a fresh buffer: for small tensors only (ids, tests, derived views). */
export function readAll(src: WeightSource): Uint8Array {
  checkReadable(src);
  const out = new Uint8Array(sourceBytes(src));
  let o = 0;
  for (const c of readChunks(src)) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export function openOrFail(path: string, flags: string): number {
  try {
    return fs.openSync(path, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EngineError(`${path}: no such file`);
    if (code === 'EISDIR') throw new EngineError(`${path}: is a directory, expected a file`);
    if (code === 'EACCES') throw new EngineError(`${path}: permission denied`);
    throw new EngineError(`${path}: cannot open (${(e as Error).message})`);
  }
}

export class SafetensorsReader {
  readonly path: string;
  readonly metadata: Record<string, string>;
  readonly fileSize: number;
  private readonly byName: Map<string, WeightSource>;

  private constructor(path: string, metadata: Record<string, string>, fileSize: number, byName: Map<string, WeightSource>) {
    this.path = path;
    this.metadata = metadata;
    this.fileSize = fileSize;
    this.byName = byName;
  }

  static open(path: string): SafetensorsReader {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch {
      throw new EngineError(`${path}: no such file`);
    }
    if (st.isDirectory()) throw new EngineError(`${path}: is a directory, expected a .safetensors file`);
    const fd = openOrFail(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const prefix = Buffer.alloc(8);
      if (size >= 8) readExactly(fd, prefix, 0, path);
      let n: number;
      try {
        n = checkHeaderLength(path, size, prefix);
      } catch (e) {
        // torch.save writes a zip (PK\x03\x04) or a raw pickle (0x80, protocol): say so
        if ((prefix.readUInt32LE(0) === 0x04034b50) || (prefix[0] === 0x80 && prefix[1] >= 2 && prefix[1] <= 5)) {
          throw new EngineError(`${path}: a PyTorch pickle/zip checkpoint, not safetensors; only .safetensors files are read (pickles can run code when loaded)`);
        }
        throw e;
      }
      const json = Buffer.alloc(n);
      readExactly(fd, json, 8, path);
      const h = parseHeader(path, json, size);
      const byName = new Map<string, WeightSource>();
      // Keep file order, which is also the order the Python library reads them in.
      for (const e of [...h.entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
        byName.set(e.name, { name: e.name, file: path, dtype: e.dtype, shape: e.shape, byteOffset: h.dataStart + e.begin, byteLength: e.end - e.begin });
      }
      applyQ8Metadata(path, h.metadata, byName);
      return new SafetensorsReader(path, h.metadata, size, byName);
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

  /** Nothing is held open between reads; kept so callers can scope a reader's use. */
  close(): void {}
}

function readExactly(fd: number, buf: Buffer, pos: number, path: string): void {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) throw new EngineError(`${path}: truncated while reading the header`);
    got += n;
  }
}

export interface TensorDecl { name: string; dtype: SourceDType; shape: number[] }

/**
 * Metadata key listing the q8_0 tensors of a file: JSON {name: logical shape}. Each is
 * stored as dtype U8 with shape [..., K/32*34] (its rows of 34-byte GGML blocks); see
 * docs/weights.md.
 */
export const META_Q8_0 = 'nasa_engine.q8_0';

/** The safetensors dtype and shape a tensor is stored with (Q8_0: U8 rows of blocks). */
export function storedAs(t: { name: string; dtype: SourceDType; shape: number[] }, where: string): { dtype: StDType; shape: number[] } {
  if (t.dtype !== 'Q8_0') return { dtype: t.dtype, shape: t.shape };
  const K = t.shape[t.shape.length - 1];
  if (!t.shape.length || K % 32) throw new EngineError(`${where}: q8_0 tensor '${t.name}' has shape [${t.shape.join(', ')}]; its rows of ${K} values are not whole 32-value blocks`);
  return { dtype: 'U8', shape: [...t.shape.slice(0, -1), (K / 32) * Q8_0_BLOCK_BYTES] };
}

/** Reads the q8_0 list of a file's metadata and turns those U8 tensors into Q8_0 sources. */
function applyQ8Metadata(path: string, metadata: Record<string, string>, byName: Map<string, WeightSource>): void {
  const raw = metadata[META_Q8_0];
  if (raw === undefined) return;
  let list: unknown;
  try { list = JSON.parse(raw); } catch { list = null; }
  if (list === null || typeof list !== 'object' || Array.isArray(list)) throw new EngineError(`${path}: __metadata__['${META_Q8_0}'] must be a JSON object {tensor: logical shape}`);
  for (const [name, shape] of Object.entries(list as Record<string, unknown>)) {
    const s = byName.get(name);
    if (!s) throw new EngineError(`${path}: __metadata__['${META_Q8_0}'] names tensor '${name}', which the file does not have`);
    if (!Array.isArray(shape) || !shape.length || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) throw new EngineError(`${path}: q8_0 tensor '${name}': logical shape ${JSON.stringify(shape)} is not a list of positive integers`);
    const want = storedAs({ name, dtype: 'Q8_0', shape: shape as number[] }, path);
    if (s.dtype !== 'U8' || want.shape.join() !== s.shape.join()) {
      throw new EngineError(`${path}: q8_0 tensor '${name}' of logical shape [${shape.join(', ')}] must be stored as U8 [${want.shape.join(', ')}], found ${s.dtype} [${s.shape.join(', ')}]`);
    }
    byName.set(name, { ...s, dtype: 'Q8_0', shape: [...(shape as number[])] });
  }
}

// The reference library's Dtype enum order (increasing alignment); files list tensors in
// descending order of it, then by name.
const DTYPE_RANK: Record<StDType, number> = {
  BOOL: 0, U8: 1, I8: 2, F8_E5M2: 3, F8_E4M3: 4, I16: 5, U16: 6, F16: 7, BF16: 8,
  I32: 9, U32: 10, F32: 11, F64: 12, I64: 13, U64: 14,
};

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Streaming writer. Tensors are laid out like the reference library: by dtype, widest
 * first (keeps every tensor aligned), then by name in byte order; header JSON
 * compact, `__metadata__` last, padded with spaces so the data starts 8-byte aligned.
 * Data goes to `<path>.partial`, renamed over `path` by close(); abort() removes it.
 */
export class SafetensorsWriter {
  readonly path: string;
  readonly order: TensorDecl[];
  private readonly sizes: Map<string, number>;
  private fd: number;
  private next = 0;
  private inTensor = 0;
  private pos: number;
  private readonly tmp: string;

  constructor(path: string, tensors: TensorDecl[], metadata?: Record<string, string>) {
    this.path = path;
    this.tmp = `${path}.partial`;
    const seen = new Set<string>();
    for (const t of tensors) {
      if (seen.has(t.name)) throw new EngineError(`${path}: tensor '${t.name}' declared twice`);
      seen.add(t.name);
      if (t.name === '__metadata__') throw new EngineError(`${path}: '__metadata__' is not a valid tensor name`);
    }
    const stored = new Map(tensors.map((t) => [t.name, storedAs(t, path)]));
    this.order = [...tensors].sort((a, b) => DTYPE_RANK[stored.get(b.name)!.dtype] - DTYPE_RANK[stored.get(a.name)!.dtype] || byteCompare(a.name, b.name));
    this.sizes = new Map();
    const header: Record<string, unknown> = {};
    const q8: Record<string, number[]> = {};
    let off = 0;
    for (const t of this.order) {
      const st = stored.get(t.name)!;
      const bytes = numelOf(st.shape, `${path}: tensor '${t.name}'`) * DTYPE_BYTES[st.dtype];
      this.sizes.set(t.name, bytes);
      header[t.name] = { dtype: st.dtype, shape: st.shape, data_offsets: [off, off + bytes] };
      if (t.dtype === 'Q8_0') q8[t.name] = t.shape;
      off += bytes;
    }
    const meta = { ...(metadata ?? {}) };
    delete meta[META_Q8_0];
    if (Object.keys(q8).length) meta[META_Q8_0] = JSON.stringify(q8);
    if (Object.keys(meta).length) header.__metadata__ = meta;
    let json = Buffer.from(JSON.stringify(header), 'utf8');
    const pad = (8 - ((8 + json.length) % 8)) % 8;
    if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const dir = nodePath.dirname(nodePath.resolve(this.path));
    if (!fs.existsSync(dir)) throw new EngineError(`${this.path}: folder ${dir} does not exist`);
    this.fd = openOrFail(this.tmp, 'w');
    fs.writeSync(this.fd, prefix);
    fs.writeSync(this.fd, json);
    this.pos = 8 + json.length;
  }

  /** Name of the tensor whose bytes come next, or null when all were written. */
  current(): string | null {
    this.skipEmpty();
    return this.next < this.order.length ? this.order[this.next].name : null;
  }

  /** Append bytes of tensor `name`; tensors must arrive in `order`, each completely. */
  write(name: string, chunk: Uint8Array): void {
    if (chunk.length === 0 && this.sizes.has(name)) return;
    const cur = this.current();
    if (cur !== name) throw new EngineError(`${this.path}: writer expected data for '${cur}', got '${name}'`);
    const size = this.sizes.get(name)!;
    if (this.inTensor + chunk.length > size) {
      throw new EngineError(`${this.path}: tensor '${name}' got more than its ${size} bytes`);
    }
    let w = 0;
    while (w < chunk.length) w += fs.writeSync(this.fd, chunk, w, chunk.length - w, this.pos + w);
    this.pos += chunk.length;
    this.inTensor += chunk.length;
    if (this.inTensor === size) {
      this.next++;
      this.inTensor = 0;
    }
  }

  writeTensor(name: string, chunks: Iterable<Uint8Array>): void {
    for (const c of chunks) this.write(name, c);
    if (this.current() === name) throw new EngineError(`${this.path}: tensor '${name}' got fewer than its ${this.sizes.get(name)} bytes`);
  }

  close(): void {
    const cur = this.current();
    if (cur !== null) {
      this.abort();
      throw new EngineError(`${this.path}: closed before tensor '${cur}' was written`);
    }
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.tmp, { force: true });
  }

  private skipEmpty(): void {
    while (this.next < this.order.length && this.inTensor === 0 && this.sizes.get(this.order[this.next].name) === 0) this.next++;
  }
}
