// `convert --dtype q8_0`: which tensors become q8_0 blocks (2-D Linear weights whose rows
// are whole 32-value blocks; norms, biases, embedding tables and convs stay as they are)
// and the streaming quantizer, which also measures what quantization cost each tensor.
import { EngineError } from '../errors.ts';
import { QK8_0, dequantizeQ8_0, quantizeQ8_0 } from '../tensor/q8_0.ts';
import { DTypeConverter, isConvertible, type FloatDType } from './dtype.ts';
import type { SourceDType } from './safetensors.ts';

// 2-D `.weight`s that are lookup tables, not Linear weights (CLIP, T5, GPT-style names):
// a gather reads single rows, so blocks would only cost quality there.
const TABLES = /(^|\.)(token_embedding|position_embedding|embed_tokens|shared|relative_attention_bias|wte|wpe)\.weight$/;

export type Q8Decision = { quantize: true } | { quantize: false; why: string | null };

/** Whether `convert --dtype q8_0` quantizes this tensor; `why` is set when a reader would ask. */
export function q8Decision(t: { name: string; dtype: SourceDType; shape: number[] }): Q8Decision {
  if (t.dtype === 'Q8_0') return { quantize: false, why: null }; // already blocks: copied
  if (!isConvertible(t.dtype) || t.shape.length !== 2 || !t.name.endsWith('.weight') || TABLES.test(t.name)) return { quantize: false, why: null };
  if (t.shape[1] % QK8_0) return { quantize: false, why: `rows of ${t.shape[1]} values are not whole ${QK8_0}-value blocks` };
  return { quantize: true };
}

export interface QuantReport {
  tensor: string;
  shape: number[];
  maxAbs: number;   // largest |w - q8_0(w)|
  sumAbs: number;   // for the mean |error|
  sumSq: number;    // squared error, for the relative RMS
  sumSqW: number;   // squared weights
  count: number;
}

/** Quantizes one tensor's chunks in order (each a whole number of 32-value blocks). */
export class Q8Quantizer {
  readonly report: QuantReport;
  private readonly toF32: DTypeConverter | null;

  constructor(readonly from: FloatDType, tensor: string, shape: number[]) {
    this.toF32 = from === 'F32' ? null : new DTypeConverter(from, 'F32', tensor, shape);
    this.report = { tensor, shape, maxAbs: 0, sumAbs: 0, sumSq: 0, sumSqW: 0, count: 0 };
  }

  /** Largest chunk of input bytes that is whole blocks. */
  static chunkBytes(from: FloatDType, max: number): number {
    const block = QK8_0 * { F64: 8, F32: 4, F16: 2, BF16: 2 }[from];
    return Math.max(block, max - (max % block));
  }

  quantize(chunk: Uint8Array): Uint8Array {
    const f32 = this.toF32 ? this.toF32.convert(chunk) : chunk.byteOffset % 4 ? chunk.slice() : chunk;
    const x = new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4);
    if (x.length % QK8_0) throw new EngineError(`tensor '${this.report.tensor}': chunk of ${x.length} values is not whole ${QK8_0}-value blocks`);
    const q = quantizeQ8_0(x);
    const back = dequantizeQ8_0(q, x.length);
    const r = this.report;
    for (let i = 0; i < x.length; i++) {
      const e = Math.abs(back[i] - x[i]);
      if (e > r.maxAbs) r.maxAbs = e;
      r.sumAbs += e;
      r.sumSq += e * e;
      r.sumSqW += x[i] * x[i];
    }
    r.count += x.length;
    return q;
  }
}
