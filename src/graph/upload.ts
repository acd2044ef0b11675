// Streams weights from disk into GPU buffers in bounded chunks, converting the
// checkpoint dtype to the graph's storage dtype on the way. No whole tensor (let alone
// a whole checkpoint) is ever held in JS memory.
import { EngineError } from '../errors.ts';
import type { Device } from '../gpu/device.ts';
import type { WeightSource } from '../io/safetensors.ts';
import { DTypeConverter, isConvertible } from '../io/dtype.ts';
import { encodeHost, toF16Bits, type DType } from '../tensor/dtype.ts';
import { dequantizeQ8_0, Q8_0_BLOCK_BYTES, QK8_0 } from '../tensor/q8_0.ts';
import type { HostData } from './graph.ts';

const CHUNK = 8 << 20;

export async function uploadWeight(dev: Device, buf: GPUBuffer, src: WeightSource | HostData, dtype: DType): Promise<number> {
  if (!('file' in src)) {
    const bytes = encodeHost(src.data, dtype);
    dev.write(buf, 0, bytes);
    return bytes.byteLength;
  }
  const { readChunks } = await import('../io/safetensors.ts');
  if ((dtype === 'q8_0') !== (src.dtype === 'Q8_0') && dtype !== 'f32' && dtype !== 'f16') {
    throw new EngineError(`${src.file}: tensor '${src.name}' is ${src.dtype}, which cannot be stored as ${dtype}`);
  }
  let outOffset = 0;
  // q8_0: whole pairs of 34-byte blocks per chunk, so every write starts 4-byte aligned.
  for (const chunk of readChunks(src, src.dtype === 'Q8_0' ? CHUNK - (CHUNK % 68) : CHUNK)) {
    const converted = convertChunk(chunk, src, dtype);
    dev.write(buf, outOffset, converted);
    outOffset += converted.byteLength;
  }
  return outOffset;
}

/** Converts one chunk of `src.dtype` elements to `to`'s bytes. */
export function convertChunk(chunk: Uint8Array, src: WeightSource, to: DType): ArrayBufferView {
  const from = src.dtype;
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if ((from === 'F32' && to === 'f32') || (from === 'F16' && to === 'f16') || (from === 'I32' && to === 'i32') || (from === 'Q8_0' && to === 'q8_0')) return chunk;
  if (from === 'Q8_0' && (to === 'f32' || to === 'f16')) {
    // A q8_0 tensor read by something other than a linear (e.g. an embedding table in a
    // GGUF file): expanded for that consumer only.
    const v = dequantizeQ8_0(chunk, (chunk.byteLength / Q8_0_BLOCK_BYTES) * QK8_0);
    return to === 'f16' ? toF16Bits(v) : v;
  }
  if (to === 'f32' || to === 'f16') {
    elemBytes(from, src);
    if (!isConvertible(from)) throw new EngineError(`${src.file}: tensor '${src.name}' has dtype ${from}, which cannot be used as ${to} weights`);
    // The same float conversions as `convert` (round to nearest even, as torch does).
    return new DTypeConverter(from, to === 'f16' ? 'F16' : 'F32', src.name, src.shape).convert(chunk);
  }
  if (to === 'i32') {
    const n = chunk.byteLength / elemBytes(from, src);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = from === 'I64' ? Number(dv.getBigInt64(8 * i, true)) : from === 'I32' ? dv.getInt32(4 * i, true) : NaN;
      if (!Number.isInteger(v) || v > 0x7fffffff || v < -0x80000000) {
        throw new EngineError(`${src.file}: tensor '${src.name}' (${from}) value ${v} does not fit int32`);
      }
      out[i] = v;
    }
    return out;
  }
  throw new EngineError(`${src.file}: tensor '${src.name}': cannot convert ${from} to ${to}`);
}

function elemBytes(d: WeightSource['dtype'], src: WeightSource): number {
  switch (d) {
    case 'F64': case 'I64': return 8;
    case 'F32': case 'I32': return 4;
    case 'F16': case 'BF16': case 'I16': return 2;
    case 'I8': case 'U8': case 'BOOL': return 1;
    default: throw new EngineError(`${src.file}: tensor '${src.name}' has dtype ${d}, which the engine does not support`);
  }
}
