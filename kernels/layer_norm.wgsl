// layer_norm over the last dim: out = (x - mean) / sqrt(var + eps) * w + b (biased variance).
// Two passes over each row in f32 (mean, then the centred sum of squares): exact even when
// |mean| >> std. Optional affine: HAS_W (weight [n]), HAS_B (bias [n]).
// Variants:
//   (default) one workgroup of WG threads per row, sums reduced in shared memory.
//   ROW       one invocation per row, no barriers (software adapters).
// Layout: contiguous [rows, n]. Linear workgroup id spans x and y (grid1d).

struct Params { rows: u32, n: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
#if HAS_W
@group(0) @binding(2) var<storage, read> w: array<T>;
#if HAS_B
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;
#else
@group(0) @binding(3) var<storage, read_write> out: array<T>;
#endif
#else
#if HAS_B
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;
#else
@group(0) @binding(2) var<storage, read_write> out: array<T>;
#endif
#endif

fn affine(v: f32, j: u32) -> f32 {
  var y = v;
#if HAS_W
  y *= f32(w[j]);
#endif
#if HAS_B
  y += f32(b[j]);
#endif
  return y;
}

#include "lib/grid"

#if ROW
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = invocationIndex(g, lid);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var s = 0.0;
  for (var j = 0u; j < p.n; j++) { s += f32(x[base + j]); }
  let mean = s / f32(p.n);
  var q = 0.0;
  for (var j = 0u; j < p.n; j++) { let d = f32(x[base + j]) - mean; q += d * d; }
  let rstd = inverseSqrt(q / f32(p.n) + p.eps);
  for (var j = 0u; j < p.n; j++) { out[base + j] = T(affine((f32(x[base + j]) - mean) * rstd, j)); }
}
#else
#include "lib/wg_sum"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = workgroupIndex(g);
  if (r >= p.rows) { return; } // uniform per workgroup: the barriers stay uniform
  let base = r * p.n;
  var s = 0.0;
  for (var j = lid; j < p.n; j += WG) { s += f32(x[base + j]); }
  let mean = wg_sum(s, lid) / f32(p.n);
  var q = 0.0;
  for (var j = lid; j < p.n; j += WG) { let d = f32(x[base + j]) - mean; q += d * d; }
  let rstd = inverseSqrt(wg_sum(q, lid) / f32(p.n) + p.eps);
  for (var j = lid; j < p.n; j += WG) { out[base + j] = T(affine((f32(x[base + j]) - mean) * rstd, j)); }
}
#endif
