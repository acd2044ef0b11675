// CPU reference for add/sub/mul/div with numpy broadcasting: a naive loop over the output.
import { broadcastShape } from '../ops/broadcast.ts';

export type BinaryKind = 'add' | 'sub' | 'mul' | 'div';

export function binary(kind: BinaryKind, a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[]): Float32Array {
  const out = broadcastShape(aShape, bShape);
  if (!out) throw new Error(`ref binary: shapes [${aShape}] and [${bShape}] do not broadcast`);
  const n = out.reduce((x, y) => x * y, 1);
  const res = new Float32Array(n);
  const idx = new Array(out.length).fill(0);
  const at = (shape: number[]) => {
    let off = 0;
    for (let k = 0; k < shape.length; k++) {
      const d = out.length - shape.length + k;
      off = off * shape[k] + (shape[k] === 1 ? 0 : idx[d]);
    }
    return off;
  };
  for (let i = 0; i < n; i++) {
    const x = a[at(aShape)], y = b[at(bShape)];
    res[i] = kind === 'add' ? x + y : kind === 'sub' ? x - y : kind === 'mul' ? x * y : x / y;
    for (let k = out.length - 1; k >= 0; k--) {
      if (++idx[k] < out[k]) break;
      idx[k] = 0;
    }
  }
  return res;
}
