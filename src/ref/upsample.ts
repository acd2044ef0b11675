// CPU reference for nearest 2x upsampling (NCHW): out[b, c, y, x] = in[b, c, floor(y/2), floor(x/2)].
export function upsampleNearest2x(x: ArrayLike<number>, shape: number[]): Float32Array {
  const [B, C, H, W] = shape;
  const out = new Float32Array(B * C * 4 * H * W);
  let o = 0;
  for (let p = 0; p < B * C; p++) {
    for (let y = 0; y < 2 * H; y++) {
      for (let xx = 0; xx < 2 * W; xx++) out[o++] = x[(p * H + Math.floor(y / 2)) * W + Math.floor(xx / 2)];
    }
  }
  return out;
}
