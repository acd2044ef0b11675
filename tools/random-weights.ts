// Seeded random weights at a model's real size, for benchmarks (tools/make-random-*.ts).
// The tensor names and shapes are the ones the engine's model class asks for (== the
// checkpoint's), recorded by building the model on a shape-only scope that notes requests;
// the file is written tensor by tensor in chunks, so memory stays at one chunk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f32BitsToBF16, f32BitsToF16 } from '../src/io/dtype.ts';
import { q8Decision } from '../src/io/quantize.ts';
import { SafetensorsWriter, type WeightSource } from '../src/io/safetensors.ts';
import { q8Bytes, quantizeQ8_0 } from '../src/tensor/q8_0.ts';
import { ShapeOnlyScope } from '../src/io/shape_scope.ts';
import type { WeightScope } from '../src/io/store.ts';

// 'Q8_0': the tensors `convert --dtype q8_0` would quantize (q8Decision) are written as
// q8_0 blocks of the f32 values, the rest in F16 -- what a q8_0-converted checkpoint holds.
export type RandomDType = 'F16' | 'BF16' | 'Q8_0';

/** How each tensor is stored when the component is written in `dtype`. */
function storedDType(name: string, shape: number[], dtype: RandomDType): 'F16' | 'BF16' | 'Q8_0' {
  if (dtype !== 'Q8_0') return dtype;
  return q8Decision({ name, dtype: 'F32', shape }).quantize ? 'Q8_0' : 'F16';
}

/** File bytes of the tensors in `shapes` written in `dtype` (header not counted). */
export function randomBytes(shapes: Map<string, number[]>, dtype: RandomDType): number {
  let bytes = 0;
  for (const [name, shape] of shapes) bytes += storedDType(name, shape, dtype) === 'Q8_0' ? q8Bytes(shape, name) : 2 * shape.reduce((a, b) => a * b, 1);
  return bytes;
}

// Legacy alternatives the models probe with has(): old VAE attention names, T5's tied
// encoder.embed_tokens (save_pretrained drops it). Reported absent so they are not written.
const LEGACY = /(^|\.)(query|key|value|proj_attn)\.weight$|^encoder\.embed_tokens\.weight$/;

/** A shape-only scope that notes every tensor the model asks for. */
class RecordingScope extends ShapeOnlyScope {
  constructor(readonly shapes: Map<string, number[]>, prefix = '') {
    super(prefix);
  }
  override sub(name: string | number): RecordingScope {
    return new RecordingScope(this.shapes, this.prefix ? `${this.prefix}.${name}` : String(name));
  }
  override has(name = ''): boolean {
    return !LEGACY.test(this.prefix ? `${this.prefix}.${name}` : name);
  }
  override get(name: string, expectedShape?: number[]): WeightSource {
    const s = super.get(name, expectedShape);
    this.shapes.set(s.name, [...s.shape]);
    return s;
  }
}

/** Every tensor `build` asks for: name -> shape, in request order. */
export function recordShapes(build: (ws: WeightScope) => void): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  build(new RecordingScope(shapes));
  return shapes;
}

/**
 * Writes `<dir>/config.json` and `<dir>/<file>` with uniform weights of variance 1/fan_in
 * (activations stay finite in f16), biases 0 and norm scales 1. Returns the parameter count.
 */
export function writeRandomComponent(dir: string, file: string, config: Record<string, unknown>, shapes: Map<string, number[]>, dtype: RandomDType = 'F16', seed = 1): number {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const decls = [...shapes].map(([name, shape]) => ({ name, shape, dtype: storedDType(name, shape, dtype) }));
  const w = new SafetensorsWriter(path.join(dir, file), decls, { format: 'pt' });
  const convert = dtype === 'BF16' ? f32BitsToBF16 : f32BitsToF16;
  let s = seed >>> 0 || 1, params = 0;
  try {
    for (const d of w.order) {
      const n = d.shape.reduce((a, b) => a * b, 1);
      params += n;
      const fanIn = d.shape.length > 1 ? d.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const isNorm = /norm\w*\.weight$/.test(d.name);
      const amp = d.name.endsWith('.bias') || isNorm ? 0 : Math.sqrt(3 / fanIn);
      const len = Math.min(n, 1 << 20); // 2^20 values: whole 32-value q8_0 blocks whenever n is
      const q8 = d.dtype === 'Q8_0';
      const vals = new Float32Array(len), bits = new Uint32Array(vals.buffer), chunk = new Uint16Array(len);
      for (let done = 0; done < n; done += len) {
        const m = Math.min(len, n - done);
        for (let i = 0; i < m; i++) {
          s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
          vals[i] = isNorm ? 1 : ((s / 4294967296) * 2 - 1) * amp;
        }
        if (q8) {
          w.write(d.name, quantizeQ8_0(vals.subarray(0, m)));
          continue;
        }
        for (let i = 0; i < m; i++) chunk[i] = convert(bits[i]);
        w.write(d.name, new Uint8Array(chunk.buffer, 0, m * 2));
      }
    }
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  return params;
}
