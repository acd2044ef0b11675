// Tiny pipeline folders assembled from the fixtures for pipeline tests: copies, and a
// weight file rewritten with some tensors replaced (e.g. an embedding padded to a real
// vocabulary so a real tokenizer's ids are in range).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readAll, SafetensorsReader, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { rand } from './gpu.ts';

export function copyInto(dir: string, sub: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [to, from] of Object.entries(files)) fs.copyFileSync(from, path.join(dir, sub, to));
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

/**
 * Rewrites an F32 safetensors file: tensor `name` -> `shape` where listed, keeping the
 * original values in the leading rows and filling the rest with seeded random values.
 */
export function rewriteF32(from: string, to: string, reshape: Record<string, number[]>, seed = 7): void {
  const r = SafetensorsReader.open(from);
  const decls = r.names().map((n) => ({ name: n, dtype: r.source(n).dtype, shape: reshape[n] ?? [...r.source(n).shape] }));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const w = new SafetensorsWriter(to, decls);
  for (const d of w.order) {
    const src = r.source(d.name);
    const want = d.shape.reduce((a, b) => a * b, 1);
    const have = Math.min(want, src.shape.reduce((a, b) => a * b, 1));
    const out = new Float32Array(want);
    out.set(new Float32Array(readAll(src).slice().buffer, 0, have));
    if (want > have) out.set(rand(want - have, seed, 0.5), have);
    w.writeTensor(d.name, [new Uint8Array(out.buffer)]);
  }
  w.close();
  r.close();
}
