// rms_norm over the last dim (T5LayerNorm): out = x * rsqrt(mean(x^2) + eps) * w, in f32.
// Variants:
//   (default) one workgroup of WG threads per row, sum of squares reduced in shared memory.
//   ROW       one invocation per row, no barriers (software adapters).
// Layout: contiguous [rows, n], weight [n]. Linear workgroup id spans x and y (grid1d).

struct Params { rows: u32, n: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

#include "lib/grid"

#if ROW
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = invocationIndex(g, lid);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var q = 0.0;
  for (var j = 0u; j < p.n; j++) { let v = f32(x[base + j]); q += v * v; }
  let rs = inverseSqrt(q / f32(p.n) + p.eps);
  for (var j = 0u; j < p.n; j++) { out[base + j] = T(f32(x[base + j]) * rs * f32(w[j])); }
}
#else
#include "lib/wg_sum"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = workgroupIndex(g);
  if (r >= p.rows) { return; } // uniform per workgroup: the barriers stay uniform
  let base = r * p.n;
  var q = 0.0;
  for (var j = lid; j < p.n; j += WG) { let v = f32(x[base + j]); q += v * v; }
  let rs = inverseSqrt(wg_sum(q, lid) / f32(p.n) + p.eps);
  for (var j = lid; j < p.n; j += WG) { out[base + j] = T(f32(x[base + j]) * rs * f32(w[j])); }
}
#endif
