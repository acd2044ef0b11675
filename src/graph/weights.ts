// Weights uploaded once per device and shared by every compiled graph that uses them
// (a UNet compiled for several guidance settings or shapes, a VAE's f16 and f32 stage
// graphs), reference-counted and freed when the last graph using them is destroyed.
import type { Device } from '../gpu/device.ts';
import { sourceKey, type WeightSource } from '../io/safetensors.ts';
import { byteSize, type DType } from '../tensor/dtype.ts';
import type { HostData } from './graph.ts';
import { uploadWeight } from './upload.ts';

interface Entry { buffer: GPUBuffer; refs: number; bytes: number; ready: Promise<unknown> }

const caches = new WeakMap<Device, Map<string, Entry>>();

/** Identity of a weight's on-disk bytes as `dtype`; null where there is none (host data). */
function keyOf(src: WeightSource | HostData, dtype: DType): string | null {
  if (!('file' in src) || src.data) return null;
  return `${sourceKey(src)}->${dtype}`;
}

export async function acquireWeight(dev: Device, src: WeightSource | HostData, shape: number[], dtype: DType, label: string): Promise<{ buffer: GPUBuffer; release: () => void }> {
  const key = keyOf(src, dtype);
  let cache = caches.get(dev);
  if (!cache) caches.set(dev, (cache = new Map()));
  const hit = key ? cache.get(key) : undefined;
  if (hit) {
    hit.refs++;
    await hit.ready; // another graph may still be streaming it in
    return { buffer: hit.buffer, release: () => release(dev, cache!, key!, hit) };
  }
  const bytes = byteSize(shape, dtype);
  const buffer = dev.createBuffer(bytes, label, 'storage', 'weights');
  if (!key) {
    await uploadWeight(dev, buffer, src, dtype);
    return { buffer, release: () => dev.free(buffer) };
  }
  const e: Entry = { buffer, refs: 1, bytes, ready: uploadWeight(dev, buffer, src, dtype) };
  cache.set(key, e);
  try {
    await e.ready;
  } catch (err) {
    cache.delete(key);
    dev.free(buffer);
    throw err;
  }
  return { buffer, release: () => release(dev, cache!, key, e) };
}

function release(dev: Device, cache: Map<string, Entry>, key: string, e: Entry): void {
  if (--e.refs > 0) return;
  dev.free(e.buffer);
  if (cache.get(key) === e) cache.delete(key);
}

/** Bytes of weights currently resident on `dev` (shared ones counted once). */
export function residentWeightBytes(dev: Device): number {
  let n = 0;
  for (const e of caches.get(dev)?.values() ?? []) n += e.bytes;
  return n;
}
