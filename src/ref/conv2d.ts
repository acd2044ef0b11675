// CPU reference for conv2d (NCHW input, OIHW weights): the definition as nested loops,
// accumulated in f64. padding = [top, bottom, left, right] zeros around the image.
export function conv2d(
  x: ArrayLike<number>, xShape: number[], w: ArrayLike<number>, wShape: number[], bias: ArrayLike<number> | null,
  stride: [number, number], padding: [number, number, number, number],
): Float32Array {
  const [B, cin, H, W] = xShape;
  const [cout, , kh, kw] = wShape;
  const [sh, sw] = stride, [ph, pb, pw, pr] = padding;
  const ho = Math.floor((H + ph + pb - kh) / sh) + 1, wo = Math.floor((W + pw + pr - kw) / sw) + 1;
  const out = new Float32Array(B * cout * ho * wo);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let m = 0; m < cout; m++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let s = bias ? bias[m] : 0;
          for (let c = 0; c < cin; c++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - ph + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pw + kx;
                if (ix < 0 || ix >= W) continue;
                s += w[((m * cin + c) * kh + ky) * kw + kx] * x[((b * cin + c) * H + iy) * W + ix];
              }
            }
          }
          out[o++] = s;
        }
      }
    }
  }
  return out;
}
