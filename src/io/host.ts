// Small host tensors <-> safetensors files (CLI inputs/outputs: `forward`, `generate
// --latents/--save-tensors`). Floats are written F32, ids I64, as PyTorch would.
import { EngineError } from '../errors.ts';
import { toFloat32 } from './dtype.ts';
import { SafetensorsReader, SafetensorsWriter, type StDType } from './safetensors.ts';

export interface HostTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

export function writeHostTensors(file: string, out: Record<string, HostTensor>, metadata: Record<string, string> = { format: 'pt' }): void {
  const decls = Object.entries(out).map(([name, t]) => ({ name, shape: t.shape, dtype: (t.data instanceof Int32Array ? 'I64' : 'F32') as StDType }));
  const w = new SafetensorsWriter(file, decls, metadata);
  try {
    for (const d of w.order) {
      const t = out[d.name];
      const bytes = t.data instanceof Int32Array
        ? new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer)
        : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      w.writeTensor(d.name, [bytes]);
    }
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** One float tensor by name, widened to f32; a missing name lists what the file has. */
export function readHostTensor(file: string, name: string): HostTensor {
  const r = SafetensorsReader.open(file);
  try {
    if (!r.has(name)) throw new EngineError(`${file}: no tensor '${name}' (found: ${r.names().join(', ') || 'none'})`);
    const src = r.source(name);
    return { shape: [...src.shape], data: Float32Array.from(toFloat32(src)) };
  } finally {
    r.close();
  }
}
