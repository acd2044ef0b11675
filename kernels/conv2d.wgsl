// conv2d: out[b, m, oy, ox] = bias[m] + sum_{ci,ky,kx} w[m, ci, ky, kx] *
// x[b, ci, oy*sh - ph + ky, ox*sw - pw + kx] (zero outside the image), + res[b, m, oy, ox]
// with RES. NCHW x/out/res, OIHW w.
// Two variants; both accumulate in f32 whatever the storage type T.
//
// direct (default), for CPU adapters (lavapipe): barrier-free register tiling. A workgroup
// owns CM output channels (wid.y: weight addresses are workgroup-uniform); each invocation
// owns 4*NV output pixels of the flattened oy*Wo+ox range, WG apart so neighbouring lanes
// read neighbouring pixels, and keeps CM x 4*NV accumulators. POINTWISE (1x1, stride 1,
// no padding) drops the tap loops and bounds checks.
//
// gemm variant (#if GEMM), for GPUs: implicit GEMM out[m, n] = sum_k w[m, k] * im2col(x)[k, n]
// over k = (ci, ky, kx). A workgroup of 256 computes a BM x BN = 64 x 64 tile, staging
// BK = 16-deep slices of w and of the gathered x in workgroup memory (f32); each
// invocation accumulates 4 channels x 4 pixels.
//
// Grid (both): x (and z / batch) = pixel blocks, y = channel blocks, z % batch = image.

struct Params {
  cin: u32, h: u32, w: u32, cout: u32,
  ho: u32, wo: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  npix: u32, k: u32, batch: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> wt: array<T>;
#if BIAS
@group(0) @binding(3) var<storage, read> bias: array<T>;
#endif
#include "lib/store"

#if !GEMM
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.z % p.batch;
  let blk = wid.x + nwg.x * (wid.z / p.batch);
  let m0 = wid.y * CM;
  let hw = p.h * p.w;
  let n0 = blk * WG * 4u * NV + lid;
  // Per pixel: top-left input tap (iy0, ix0) and its offset in a channel plane.
  var iy0: array<vec4<i32>, NV>;
  var ix0: array<vec4<i32>, NV>;
  var base: array<vec4<i32>, NV>;
  for (var v = 0u; v < NV; v++) {
    for (var j = 0u; j < 4u; j++) {
      let n = min(n0 + (v * 4u + j) * WG, p.npix - 1u); // clamped: tail lanes compute, never store
      iy0[v][j] = i32((n / p.wo) * p.sh) - i32(p.ph);
      ix0[v][j] = i32((n % p.wo) * p.sw) - i32(p.pw);
    }
    base[v] = iy0[v] * i32(p.w) + ix0[v];
  }
  // Explicit clamps keep every index provably in range; without them lavapipe's
  // bounds-checked loads ran about 2x slower.
  let wlast = arrayLength(&wt) - 1u;
  let khw = p.kh * p.kw;
  var acc: array<array<vec4<f32>, NV>, CM>;
#if POINTWISE
  // 1x1, stride 1, no padding: pixel n of channel ci is x[b, ci, n], never out of range.
  for (var ci = 0u; ci < p.cin; ci++) {
    let xb = vec4<i32>(i32((b * p.cin + ci) * hw));
    var xv: array<vec4<f32>, NV>;
    for (var v = 0u; v < NV; v++) {
      let idx = base[v] + xb;
      xv[v] = vec4<f32>(f32(x[idx.x]), f32(x[idx.y]), f32(x[idx.z]), f32(x[idx.w]));
    }
    for (var c = 0u; c < CM; c++) {
      let wv = vec4<f32>(f32(wt[min((m0 + c) * p.cin + ci, wlast)]));
      for (var v = 0u; v < NV; v++) {
        acc[c][v] = fma(wv, xv[v], acc[c][v]);
      }
    }
  }
#else
  for (var ci = 0u; ci < p.cin; ci++) {
    let xb = i32((b * p.cin + ci) * hw);
    let wb = m0 * p.k + ci * khw;
    for (var ky = 0u; ky < p.kh; ky++) {
      var rowok: array<vec4<bool>, NV>;
      for (var v = 0u; v < NV; v++) {
        rowok[v] = vec4<u32>(iy0[v] + vec4<i32>(i32(ky))) < vec4<u32>(p.h); // also false when < 0
      }
      let ro = xb + i32(ky * p.w);
      for (var kx = 0u; kx < p.kw; kx++) {
        var xv: array<vec4<f32>, NV>;
        for (var v = 0u; v < NV; v++) {
          let ok = rowok[v] & (vec4<u32>(ix0[v] + vec4<i32>(i32(kx))) < vec4<u32>(p.w));
          let idx = select(vec4<i32>(0), base[v] + vec4<i32>(ro + i32(kx)), ok);
          xv[v] = select(vec4<f32>(0.0), vec4<f32>(f32(x[idx.x]), f32(x[idx.y]), f32(x[idx.z]), f32(x[idx.w])), ok);
        }
        let wo = wb + ky * p.kw + kx;
        for (var c = 0u; c < CM; c++) {
          let wv = vec4<f32>(f32(wt[min(wo + c * p.k, wlast)]));
          for (var v = 0u; v < NV; v++) {
            acc[c][v] = fma(wv, xv[v], acc[c][v]);
          }
        }
      }
    }
  }
#endif
  for (var c = 0u; c < CM; c++) {
    let m = m0 + c;
    if (m >= p.cout) { break; }
#if BIAS
    let bv = f32(bias[m]);
#else
    let bv = 0.0;
#endif
    let ob = (b * p.cout + m) * p.npix;
    for (var v = 0u; v < NV; v++) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + (v * 4u + j) * WG;
        if (n < p.npix) { put(ob + n, acc[c][v][j] + bv); }
      }
    }
  }
}
#endif

#if GEMM
const BM = 64u;
const BN = 64u;
const BK = 16u;
var<workgroup> ws: array<f32, BK * BM>;        // ws[kk * BM + m]
var<workgroup> xs: array<vec4<f32>, BK * BN / 4u>; // xs[kk * BN/4 + n/4]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.z % p.batch;
  let blk = wid.x + nwg.x * (wid.z / p.batch);
  let n0 = blk * BN;
  let m0 = wid.y * BM;
  let hw = p.h * p.w;
  let khw = p.kh * p.kw;
  let wlast = arrayLength(&wt) - 1u;
  let xlast = arrayLength(&x) - 1u;
  // Loader roles: w row lm with 4 consecutive k; x row lk with 4 consecutive pixels.
  let lm = lid / 4u;
  let lkw = (lid % 4u) * 4u;
  let lk = lid / 16u;
  let ln = (lid % 16u) * 4u;
  var iy0: vec4<i32>;
  var ix0: vec4<i32>;
  var nok: vec4<bool>;
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + ln + j;
    nok[j] = n < p.npix;
    let nc = min(n, p.npix - 1u);
    iy0[j] = i32((nc / p.wo) * p.sh) - i32(p.ph);
    ix0[j] = i32((nc % p.wo) * p.sw) - i32(p.pw);
  }
  let xb = b * p.cin * hw;
  let mrow = m0 + lm;
  // Compute role: channels m0 + tm*4 + i, pixels n0 + tn*4 + j.
  let tm = lid / 16u;
  let tn = lid % 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + lkw + j;
      let ok = mrow < p.cout && k < p.k;
      ws[(lkw + j) * BM + lm] = select(0.0, f32(wt[min(mrow * p.k + k, wlast)]), ok);
    }
    let k = k0 + lk;
    let ci = k / khw;
    let r = k - ci * khw;
    let ky = r / p.kw;
    let kx = r - ky * p.kw;
    let iy = iy0 + vec4<i32>(i32(ky));
    let ix = ix0 + vec4<i32>(i32(kx));
    let ok = nok & vec4<bool>(k < p.k) & (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(p.h))) &
             (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(p.w)));
    let idx = min(vec4<u32>(select(vec4<i32>(0), vec4<i32>(i32(xb + ci * hw)) + iy * i32(p.w) + ix, ok)), vec4<u32>(xlast));
    xs[lk * (BN / 4u) + ln / 4u] = select(vec4<f32>(0.0), vec4<f32>(f32(x[idx.x]), f32(x[idx.y]), f32(x[idx.z]), f32(x[idx.w])), ok);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let xv = xs[kk * (BN / 4u) + tn];
      let wb = kk * BM + tm * 4u;
      acc[0] = fma(vec4<f32>(ws[wb]), xv, acc[0]);
      acc[1] = fma(vec4<f32>(ws[wb + 1u]), xv, acc[1]);
      acc[2] = fma(vec4<f32>(ws[wb + 2u]), xv, acc[2]);
      acc[3] = fma(vec4<f32>(ws[wb + 3u]), xv, acc[3]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + tm * 4u + i;
    if (m >= p.cout) { break; }
#if BIAS
    let bv = f32(bias[m]);
#else
    let bv = 0.0;
#endif
    let ob = (b * p.cout + m) * p.npix;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tn * 4u + j;
      if (n < p.npix) { put(ob + n, acc[i][j] + bv); }
    }
  }
}
#endif
