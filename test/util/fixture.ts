// Where the golden fixtures are, and helpers for tests that need integer goldens (token ids)
// as plain number arrays, read through the engine's own safetensors reader.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAll, SafetensorsReader } from '../../src/io/safetensors.ts';

/**
 * The fixture root: $ENGINE_FIXTURES, else ../shared/fixtures beside the repository. Every
 * fixture test imports it, so when the folder is missing the run stops here with one line
 * and exit status 1: fixture tests neither pass vacuously nor die with a stack trace.
 */
export const FIXTURES = fixtureRoot();

function fixtureRoot(): string {
  const env = process.env.ENGINE_FIXTURES;
  const root = env ? resolve(env) : join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures');
  if (!existsSync(join(root, 'README.md'))) {
    process.stderr.write(`fixtures: no fixture folder at ${root} (${env ? 'from ENGINE_FIXTURES' : 'expected ../shared/fixtures beside the repository; or set ENGINE_FIXTURES'}); the fixture tests cannot run\n`);
    process.exit(1);
  }
  return root;
}

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
