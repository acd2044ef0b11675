// A tensor living in a GPU buffer: shape, dtype, element offset and strides. Reshape
// (when contiguous), permute and slice are views — no copy; download() gathers a
// strided view on the CPU.
import type { Device } from '../gpu/device.ts';
import { EngineError } from '../errors.ts';
import { byteSize, bytesPer, decodeHost, encodeHost, numel, shapeStr, stridesOf, type DType } from './dtype.ts';

export class GpuTensor {
  readonly strides: number[];

  constructor(
    readonly device: Device,
    readonly buffer: GPUBuffer,
    readonly shape: number[],
    readonly dtype: DType,
    readonly offset = 0, // in elements
    strides?: number[],
    /** Views share the buffer and must not destroy it. */
    readonly owner = true,
  ) {
    this.strides = strides ?? stridesOf(shape);
  }

  static upload(device: Device, data: ArrayLike<number>, shape: number[], dtype: DType, label = 'tensor'): GpuTensor {
    if (data.length !== numel(shape)) throw new EngineError(`${label}: ${data.length} values for shape ${shapeStr(shape)}`);
    const buf = device.createBuffer(numel(shape) * bytesPer(dtype), label);
    device.write(buf, 0, encodeHost(data, dtype));
    return new GpuTensor(device, buf, [...shape], dtype);
  }

  get numel(): number { return numel(this.shape); }

  get isContiguous(): boolean {
    const s = stridesOf(this.shape);
    return this.shape.every((d, i) => d === 1 || s[i] === this.strides[i]);
  }

  reshape(shape: number[]): GpuTensor {
    const n = numel(shape);
    if (n !== this.numel) throw new EngineError(`reshape: ${shapeStr(this.shape)} has ${this.numel} elements, not ${n} as ${shapeStr(shape)}`);
    if (!this.isContiguous) throw new EngineError(`reshape: tensor ${shapeStr(this.shape)} is a non-contiguous view; copy it first`);
    return new GpuTensor(this.device, this.buffer, [...shape], this.dtype, this.offset, undefined, false);
  }

  permute(dims: number[]): GpuTensor {
    const r = this.shape.length;
    if (dims.length !== r || [...dims].sort().some((d, i) => d !== i)) {
      throw new EngineError(`permute: [${dims}] is not a permutation of ${r} dimensions`);
    }
    return new GpuTensor(this.device, this.buffer, dims.map((d) => this.shape[d]), this.dtype, this.offset, dims.map((d) => this.strides[d]), false);
  }

  /** Elements [start, end) of dimension `dim`. */
  slice(dim: number, start: number, end: number): GpuTensor {
    const d = dim < 0 ? this.shape.length + dim : dim;
    if (!(d >= 0 && d < this.shape.length) || !(0 <= start && start <= end && end <= this.shape[d])) {
      throw new EngineError(`slice: [${start}, ${end}) of dim ${dim} is outside ${shapeStr(this.shape)}`);
    }
    const shape = [...this.shape];
    shape[d] = end - start;
    return new GpuTensor(this.device, this.buffer, shape, this.dtype, this.offset + start * this.strides[d], this.strides, false);
  }

  /** Values in logical row-major order (f16 widened to f32). */
  async download(label = 'tensor'): Promise<Float32Array | Int32Array | Uint32Array> {
    const n = this.numel;
    if (n === 0) return new Float32Array(0);
    if (this.dtype === 'q8_0') {
      // Whole weights only (validate mode reads them back dequantized).
      if (this.offset || !this.isContiguous) throw new EngineError(`${label}: q8_0 views cannot be read back`);
      return decodeHost(await this.device.read(this.buffer, 0, Math.ceil(byteSize(this.shape, 'q8_0') / 4) * 4, label), 'q8_0', n);
    }
    // Read the smallest element range covering the view, then gather.
    let last = this.offset;
    for (let i = 0; i < this.shape.length; i++) last += (this.shape[i] - 1) * this.strides[i];
    const bpe = bytesPer(this.dtype);
    const startByte = Math.floor((this.offset * bpe) / 4) * 4;
    const lead = (this.offset * bpe - startByte) / bpe;
    const span = last - this.offset + 1 + lead;
    const raw = decodeHost(await this.device.read(this.buffer, startByte, span * bpe, label), this.dtype, span);
    if (this.isContiguous) return raw.subarray(lead, lead + n) as typeof raw;
    const out = new (raw.constructor as any)(n) as typeof raw;
    const idx = new Array(this.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let src = lead;
      for (let k = 0; k < idx.length; k++) src += idx[k] * this.strides[k];
      out[i] = raw[src];
      for (let k = idx.length - 1; k >= 0; k--) {
        if (++idx[k] < this.shape[k]) break;
        idx[k] = 0;
      }
    }
    return out;
  }

  destroy(): void {
    if (this.owner) this.device.free(this.buffer);
  }
}
