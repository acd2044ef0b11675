// Fixture helpers for tests that need integer goldens (token ids) as plain number arrays,
// read through the engine's own safetensors reader.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAll, SafetensorsReader } from '../../src/io/safetensors.ts';

export const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures');

export interface FixtureTensor { dtype: string; shape: number[]; data: number[]; }

// Every I64/F32 tensor of a fixture file, decoded to numbers (ids fit exactly).
export function readFixtureTensors(path: string): Map<string, FixtureTensor> {
  const r = SafetensorsReader.open(path);
  const out = new Map<string, FixtureTensor>();
  for (const name of r.names()) {
    const src = r.source(name);
    const bytes = readAll(src);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data: number[];
    if (src.dtype === 'I64') data = Array.from({ length: bytes.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    else if (src.dtype === 'F32') data = Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
    else continue;
    out.set(name, { dtype: src.dtype, shape: src.shape, data });
  }
  return out;
}

// Row r of a 2-D tensor.
export function row(t: FixtureTensor, r: number): number[] {
  const w = t.shape[1];
  return t.data.slice(r * w, (r + 1) * w);
}

export function readCase(folder: string): Record<string, any> {
  return JSON.parse(readFileSync(join(folder, 'case.json'), 'utf8'));
}
