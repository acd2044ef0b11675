// CPU reference for NASA cross-attention, from the math (arXiv 2412.02687, NASA-I):
// two independent naive attentions and a subtraction, Z = Z+ - alpha * Z-.
import { attention } from './attention.ts';

export interface NasaRefInputs {
  q: ArrayLike<number>; qShape: number[];
  kPos: ArrayLike<number>; kPosShape: number[]; vPos: ArrayLike<number>; vPosShape: number[];
  kNeg: ArrayLike<number>; kNegShape: number[]; vNeg: ArrayLike<number>; vNegShape: number[];
}

export interface NasaRefOptions {
  heads: number;
  alpha: number;
  scale?: number;
  maskPos?: ArrayLike<number> | null;
  maskPosBatch?: number;
  maskNeg?: ArrayLike<number> | null;
  maskNegBatch?: number;
}

export function nasa(x: NasaRefInputs, o: NasaRefOptions): Float32Array {
  const zPos = attention(x.q, x.qShape, x.kPos, x.kPosShape, x.vPos, x.vPosShape, {
    heads: o.heads, scale: o.scale, mask: o.maskPos ?? null, maskBatch: o.maskPosBatch || undefined,
  });
  const zNeg = attention(x.q, x.qShape, x.kNeg, x.kNegShape, x.vNeg, x.vNegShape, {
    heads: o.heads, scale: o.scale, mask: o.maskNeg ?? null, maskBatch: o.maskNegBatch || undefined,
  });
  return zPos.map((z, i) => z - o.alpha * zNeg[i]);
}
