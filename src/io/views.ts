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
