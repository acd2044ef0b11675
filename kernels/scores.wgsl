// scores: attention's variant that materializes the score matrix a chunk of queries at a
// time, so the two products run on kernels/matmul.wgsl (src/ops/attention.ts):
//   qs = split(q rows r0 .. r0 + nr) * scale, ks = split(k), vs = split(v)   (SPLIT)
//   s  = qs · ks^T                          matmul, batch z = b * H + h
//   p  = softmax(s + mask) per row          (SOFTMAX, in place)
//   os = p · vs                             matmul
//   out[b, r0 + i, h * dd + d] = os[z, i, d] (MERGE)
// The softmax is lib/flash's arithmetic written out per row: q scaled before the product,
// additive mask, keys past keyEnd weigh 0, exp flushed to 0 below -60, and a row whose keys
// are all masked gives 0. Scratch (qs, ks, vs, s, os) is f32 whatever T is.
// One entry point per define, an invocation per item:
//   SPLIT   item (z, i, d):  dst[(z * nr + i) * dd + d] = src[b * sb + (r0 + i) * H * dd + h * dd + d] * mul
//   SOFTMAX item row (z, i): s[row, 0 .. N) -> p, query r0 + i of image b = z / H (mask at b * sb)
//   MERGE   item (z, i, d):  out[(b * N + r0 + i) * H * dd + h * dd + d] = os[(z * nr + i) * dd + d]

struct Params {
  N: u32, H: u32, dd: u32, r0: u32, // rows per image (SPLIT, MERGE) or keys per row (SOFTMAX); heads; head size; first row
  nr: u32, sb: u32, items: u32, mul: f32, // rows in the chunk; src (SPLIT) or mask (SOFTMAX) batch stride; invocations; SPLIT's factor
}

@group(0) @binding(0) var<uniform> p: Params;
override WG: u32 = 64;
#include "lib/grid"

// Where item e = (z * nr + i) * dd + d of SPLIT / MERGE (z = b * H + h) lies in the packed
// [B, N, H * dd] tensor whose images are `batch` elements apart: row r0 + i, head h, d.
fn packed(e: u32, batch: u32) -> u32 {
  let zi = e / p.dd;
  let z = zi / p.nr;
  let b = z / p.H;
  return b * batch + (p.r0 + zi % p.nr) * p.H * p.dd + (z - b * p.H) * p.dd + e % p.dd;
}

#if SPLIT
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let e = invocationIndex(g, lid);
  if (e >= p.items) { return; }
  dst[e] = f32(src[packed(e, p.sb)]) * p.mul;
}
#endif

#if SOFTMAX
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
#if MASK
@group(0) @binding(2) var<storage, read> mask: array<T>;
#endif

#include "lib/flush"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = invocationIndex(g, lid);
  if (row >= p.items) { return; }
  let b = row / p.nr / p.H;
#if CAUSAL
  let end = min(p.r0 + row % p.nr + 1u, p.N); // query i sees keys j <= i
#else
  let end = p.N;
#endif
  let o = row * p.N;
  var mx = NEG;
  for (var j = 0u; j < end; j++) {
#if MASK
    let v = s[o + j] + f32(mask[b * p.sb + j]); // -inf stays -inf: weight 0 below
    s[o + j] = v;
#else
    let v = s[o + j];
#endif
    mx = max(mx, v);
  }
  var sum = 0.0;
  for (var j = 0u; j < end; j++) {
    let w = flushExp(s[o + j] - mx);
    s[o + j] = w;
    sum += w;
  }
  let inv = select(0.0, 1.0 / sum, sum > 0.0);
  for (var j = 0u; j < end; j++) { s[o + j] *= inv; }
  for (var j = end; j < p.N; j++) { s[o + j] = 0.0; }
}
#endif

#if MERGE
@group(0) @binding(1) var<storage, read> os: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let e = invocationIndex(g, lid);
  if (e >= p.items) { return; }
  out[packed(e, p.N * p.H * p.dd)] = T(os[e]);
}
#endif
