// winograd: conv2d's F(4x4, 3x3) variant (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2015) for 3x3 kernels, stride 1, padding 1. Per 4x4 output tile,
//   out = A^T [ sum_ci (G w[m, ci] G^T) ⊙ (B^T d[ci] B) ] A,
// d[ci] the 6x6 input patch under the tile (zero outside the image): 36 multiplies per
// tile and channel pair instead of 144, 4x fewer. The sum over ci is 36 independent
// matmuls mm[xi] = u[xi] · v[xi] that kernels/matmul.wgsl runs in f32 between the passes
// below, one band of tiles at a time (src/ops/conv2d.ts sizes the bands to bound scratch).
// Tiles are numbered t = (b * th + ty) * tw + tx. The transforms (interpolation points
// 0, ±1, ±2, ∞) are written out in bt6 / g6 / at4 below; u, v, mm are f32 whatever T is,
// so the larger coefficients of F(4x4) cost little precision in f16.
// One entry point per define, an invocation per item:
//   WEIGHT  item (m, ci):  u[xi, m, ci] = (G w[m0 + m, ci] G^T)[xi]
//   INPUT   item (ci, j):  v[xi, ci, j] = (B^T d(ci, t0 + j) B)[xi]   (0 for j >= nt)
//   OUTPUT  item (m, j):   out[b, m0 + m, 4ty + r, 4tx + c] = bias[m0 + m] + (A^T mm[., m, j] A)[r, c]
//                          (+ res[b, m0 + m, 4ty + r, 4tx + c] with RES)
// for m < cc, the output channels m0 .. m0 + cc of this chunk.

struct Params {
  cin: u32, h: u32, w: u32, cout: u32,
  tw: u32, tpi: u32, t0: u32, nt: u32, // tiles per row, per image; this band's first tile and tile count
  ns: u32, items: u32, m0: u32, cc: u32, // band row stride (nt rounded up to 4); invocations with
                                          // work; this chunk's first output channel and channel count
}

@group(0) @binding(0) var<uniform> p: Params;
override WG: u32 = 64;
#include "lib/grid"

// Tile t0 + j of the band: its image and the top-left output pixel (b, oy, ox).
fn tileAt(j: u32) -> vec3<u32> {
  let t = p.t0 + j;
  let b = t / p.tpi;
  let r = t - b * p.tpi;
  let ty = r / p.tw;
  return vec3<u32>(b, 4u * ty, 4u * (r - ty * p.tw));
}

#if WEIGHT
@group(0) @binding(1) var<storage, read> wt: array<T>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;

// G (6x3) applied to a 3-vector.
fn g6(a: vec3<f32>) -> array<f32, 6> {
  return array<f32, 6>(a.x * 0.25, -(a.x + a.y + a.z) / 6.0, -(a.x - a.y + a.z) / 6.0,
                       a.x / 24.0 + a.y / 12.0 + a.z / 6.0, a.x / 24.0 - a.y / 12.0 + a.z / 6.0, a.z);
}

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.items) { return; }
  var k: array<vec3<f32>, 3>; // k[row] = w[m, ci, row, :]
  for (var r = 0u; r < 3u; r++) {
    let o = (p.m0 * p.cin + i) * 9u + r * 3u;
    k[r] = vec3<f32>(f32(wt[o]), f32(wt[o + 1u]), f32(wt[o + 2u]));
  }
  // G k per column (6 rows of 3), then each row times G^T.
  let c0 = g6(vec3<f32>(k[0].x, k[1].x, k[2].x));
  let c1 = g6(vec3<f32>(k[0].y, k[1].y, k[2].y));
  let c2 = g6(vec3<f32>(k[0].z, k[1].z, k[2].z));
  let plane = p.cc * p.cin;
  for (var r = 0u; r < 6u; r++) {
    let row = g6(vec3<f32>(c0[r], c1[r], c2[r]));
    for (var c = 0u; c < 6u; c++) { u[(r * 6u + c) * plane + i] = row[c]; }
  }
}
#endif

#if INPUT
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;

// B^T (6x6) applied to a column (or, transposed, to a row) of 6.
fn bt6(d: array<f32, 6>) -> array<f32, 6> {
  return array<f32, 6>(4.0 * d[0] - 5.0 * d[2] + d[4], -4.0 * (d[1] + d[2]) + d[3] + d[4],
                       4.0 * (d[1] - d[2]) - d[3] + d[4], 2.0 * (d[3] - d[1]) - d[2] + d[4],
                       2.0 * (d[1] - d[3]) - d[2] + d[4], 4.0 * d[1] - 5.0 * d[3] + d[5]);
}

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.items) { return; }
  let ci = i / p.ns;
  let j = i - ci * p.ns;
  let plane = p.cin * p.ns;
  if (j >= p.nt) { // the padding columns of the band: zeros, so the matmul reads no garbage
    for (var e = 0u; e < 36u; e++) { v[e * plane + i] = 0.0; }
    return;
  }
  let at = tileAt(j);
  let iy0 = i32(at.y) - 1;
  let ix0 = i32(at.z) - 1;
  let xb = i32((at.x * p.cin + ci) * p.h * p.w);
  let xlast = i32(arrayLength(&x)) - 1;
  // B^T d: each column of the patch as it is read (explicit clamps keep every index
  // provably in range: lavapipe's checked loads are slower).
  var cols: array<array<f32, 6>, 6>; // cols[col] = (B^T d)[., col]
  for (var cx = 0; cx < 6; cx++) {
    let ix = ix0 + cx;
    let colok = ix >= 0 && ix < i32(p.w);
    var d: array<f32, 6>;
    for (var ry = 0; ry < 6; ry++) {
      let iy = iy0 + ry;
      let ok = colok && iy >= 0 && iy < i32(p.h);
      d[ry] = select(0.0, f32(x[min(select(0, xb + iy * i32(p.w) + ix, ok), xlast)]), ok);
    }
    cols[cx] = bt6(d);
  }
  // (B^T d) B: each row times B.
  for (var rr = 0u; rr < 6u; rr++) {
    let row = bt6(array<f32, 6>(cols[0][rr], cols[1][rr], cols[2][rr], cols[3][rr], cols[4][rr], cols[5][rr]));
    for (var cc = 0u; cc < 6u; cc++) { v[(rr * 6u + cc) * plane + i] = row[cc]; }
  }
}
#endif

#if OUTPUT
@group(0) @binding(1) var<storage, read> mm: array<f32>;
#if BIAS
@group(0) @binding(2) var<storage, read> bias: array<T>;
#endif
#include "lib/store"

// A^T (4x6) applied to a column (or, transposed, to a row) of 6.
fn at4(m: array<f32, 6>) -> vec4<f32> {
  return vec4<f32>(m[0] + m[1] + m[2] + m[3] + m[4], m[1] - m[2] + 2.0 * (m[3] - m[4]),
                   m[1] + m[2] + 4.0 * (m[3] + m[4]), m[1] - m[2] + 8.0 * (m[3] - m[4]) + m[5]);
}

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.items) { return; }
  let m = i / p.nt;
  let j = i - m * p.nt;
  let plane = p.cc * p.ns;
  let o = m * p.ns + j;
  // A^T s per column of the 6x6 product tile s[xi = row * 6 + col].
  var cols: array<vec4<f32>, 6>;
  for (var c = 0u; c < 6u; c++) {
    var s: array<f32, 6>;
    for (var r = 0u; r < 6u; r++) { s[r] = mm[(r * 6u + c) * plane + o]; }
    cols[c] = at4(s);
  }
#if BIAS
  let bv = f32(bias[p.m0 + m]);
#else
  let bv = 0.0;
#endif
  let at = tileAt(j);
  let oy = at.y;
  let ox = at.z;
  let ob = (at.x * p.cout + p.m0 + m) * p.h * p.w;
  // (A^T s) A: each of the 4 rows times A, stored where inside the image.
  for (var rr = 0u; rr < 4u; rr++) {
    if (oy + rr >= p.h) { break; }
    let y = at4(array<f32, 6>(cols[0][rr], cols[1][rr], cols[2][rr], cols[3][rr], cols[4][rr], cols[5][rr]));
    let rowb = ob + (oy + rr) * p.w + ox;
    for (var cc = 0u; cc < 4u; cc++) {
      if (ox + cc < p.w) { put(rowb + cc, y[cc] + bv); }
    }
  }
}
#endif
