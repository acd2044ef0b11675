// Views of stored tensors that the name maps need, without copying where possible: a row
// block of a fused tensor and a 1x1-conv/linear reshape are the same bytes with another
// offset or shape; only a transpose (small: OpenCLIP's text_projection) is materialised.
import { EngineError } from '../errors.ts';
import { DTYPE_BYTES, readAll, type WeightSource } from './safetensors.ts';
import { fmtShape } from './store.ts';

function where(s: WeightSource): string {
  return `${s.file}: tensor '${s.stored ?? s.name}'`;
}

/** Rows [part*n/parts, (part+1)*n/parts) of a tensor split along dim 0. */
export function rowBlock(s: WeightSource, part: number, parts: number): WeightSource {
  if (!s.shape.length || s.shape[0] % parts) throw new EngineError(`${where(s)} has shape ${fmtShape(s.shape)}; cannot split its first dimension into ${parts} equal parts`);
  const bytes = s.byteLength / parts;
  const out: WeightSource = { ...s, shape: [s.shape[0] / parts, ...s.shape.slice(1)], byteOffset: s.byteOffset + part * bytes, byteLength: bytes };
  if (s.data) out.data = s.data.subarray(part * bytes, (part + 1) * bytes);
  return out;
}

/** Rows [start, start + rows) of a tensor (dim 0); q8_0 rows are whole blocks, so they split too. */
export function rowRange(s: WeightSource, start: number, rows: number): WeightSource {
  const n = s.shape[0];
  if (!s.shape.length || start < 0 || rows < 0 || start + rows > n || s.segments) throw new EngineError(`${where(s)} has shape ${fmtShape(s.shape)}; cannot take rows [${start}, ${start + rows})`);
  if (s.dtype === 'Q8_0' && s.shape.length < 2) throw new EngineError(`${where(s)} is a 1-D q8_0 tensor; its blocks cannot be split`);
  const rowBytes = s.byteLength / n;
  const out: WeightSource = { ...s, shape: [rows, ...s.shape.slice(1)], byteOffset: s.byteOffset + start * rowBytes, byteLength: rows * rowBytes };
  if (s.data) out.data = s.data.subarray(start * rowBytes, (start + rows) * rowBytes);
  return out;
}

/** Tensors of one file joined along dim 0 without copying (their regions read in order). */
export function joinRows(name: string, parts: WeightSource[]): WeightSource {
  const [p0] = parts;
  for (const p of parts) {
    if (p.file !== p0.file || p.dtype !== p0.dtype || p.data || p.segments || p.shape.slice(1).join() !== p0.shape.slice(1).join()) {
      throw new EngineError(`${where(p)} ${p.dtype} ${fmtShape(p.shape)} cannot be joined with ${where(p0)} ${p0.dtype} ${fmtShape(p0.shape)} into '${name}'`);
    }
  }
  const rows = parts.reduce((a, p) => a + p.shape[0], 0);
  return {
    ...p0, name, shape: [rows, ...p0.shape.slice(1)], byteLength: parts.reduce((a, p) => a + p.byteLength, 0),
    segments: parts.map((p) => ({ byteOffset: p.byteOffset, byteLength: p.byteLength })),
  };
}

/** (C, C, 1, 1) conv weight seen as (C, C) linear; a 2-D weight is already linear. */
export function squeezeConv1x1(s: WeightSource): WeightSource {
  if (s.shape.length === 2) return s;
  if (s.shape.length !== 4 || s.shape[2] !== 1 || s.shape[3] !== 1) throw new EngineError(`${where(s)} has shape ${fmtShape(s.shape)}, expected a 1x1 conv weight [out, in, 1, 1]`);
  return { ...s, shape: s.shape.slice(0, 2) };
}

export function unsqueezeConv1x1(s: WeightSource): WeightSource {
  if (s.shape.length !== 2) throw new EngineError(`${where(s)} has shape ${fmtShape(s.shape)}, expected a linear weight [out, in]`);
  return { ...s, shape: [...s.shape, 1, 1] };
}

/** 2-D transpose, materialised (only for small tensors). */
export function transposed(s: WeightSource): WeightSource {
  if (s.shape.length !== 2) throw new EngineError(`${where(s)} has shape ${fmtShape(s.shape)}, expected a matrix to transpose`);
  if (s.dtype === 'Q8_0') throw new EngineError(`${where(s)} is q8_0, whose blocks run along rows; it cannot be transposed`);
  const [r, c] = s.shape;
  const e = DTYPE_BYTES[s.dtype];
  const src = readAll(s);
  const dst = new Uint8Array(src.length);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) dst.set(src.subarray((i * c + j) * e, (i * c + j + 1) * e), (j * r + i) * e);
  }
  return { ...s, shape: [c, r], data: dst };
}

/** An in-memory tensor (e.g. a placeholder the target format requires). */
export function memorySource(name: string, dtype: WeightSource['dtype'], shape: number[], data: Uint8Array, file = '(generated)'): WeightSource {
  return { name, file, dtype, shape, byteOffset: 0, byteLength: data.length, data };
}
