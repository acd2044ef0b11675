// The `forward` command in-process for tests: write input tensors to a safetensors file
// (F32, or I64 / I32 for ids), run the command with its summary line silenced, read the
// outputs back as f32 host tensors.
import { run as forward } from '../../src/cli/forward.ts';
import { toFloat32 } from '../../src/io/dtype.ts';
import { SafetensorsReader, SafetensorsWriter, type StDType } from '../../src/io/safetensors.ts';
import type { HostTensor } from '../../src/models/index.ts';

/** Writes `tensors` to `file`; Int32Array data is stored as I64 unless a dtype says otherwise. */
export function writeInputs(file: string, tensors: Record<string, HostTensor & { dtype?: StDType }>): string {
  const dt = (t: HostTensor & { dtype?: StDType }): StDType => t.dtype ?? (t.data instanceof Int32Array ? 'I64' : 'F32');
  const w = new SafetensorsWriter(file, Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape, dtype: dt(t) })));
  for (const d of w.order) {
    const t = tensors[d.name];
    const bytes = d.dtype === 'I64' ? new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer)
      : d.dtype === 'I32' ? new Uint8Array(Int32Array.from(t.data).buffer)
      : new Uint8Array(Float32Array.from(t.data).buffer);
    w.writeTensor(d.name, [bytes]);
  }
  w.close();
  return file;
}

export function readOutputs(file: string): Record<string, HostTensor> {
  const r = SafetensorsReader.open(file);
  return Object.fromEntries(r.names().map((n) => {
    const s = r.source(n);
    return [n, { shape: [...s.shape], data: Float32Array.from(toFloat32(s)) }];
  }));
}

/** Runs `forward args --out out`, silencing its summary line; returns the outputs. */
export async function runForward(args: string[], out: string): Promise<Record<string, HostTensor>> {
  const log = console.log;
  console.log = () => {};
  try {
    await forward([...args, '--out', out]);
  } finally {
    console.log = log;
  }
  return readOutputs(out);
}
