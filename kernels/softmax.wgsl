// softmax over the last dim: out[r, j] = exp(x[r, j] - max_r) / sum_j exp(x[r, j] - max_r).
// Each thread keeps an online (max, sum) pair over its elements (one read for the statistics,
// one for the output); everything in f32. Rows of any length.
// Variants:
//   (default) one workgroup of WG threads per row, (max, sum) pairs merged in shared memory.
//   ROW       one invocation per row, no shared memory or barriers (software adapters, where
//             barriers are expensive).
// Layout: contiguous [rows, n]. Linear workgroup id spans x and y (grid1d).

struct Params { rows: u32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;

// The running max starts at -FLT_MAX rather than -inf (WGSL has no infinite constants), which
// also keeps every exp() argument free of -inf - -inf: masked (-inf) values add exp(-inf) = 0.
// A row of only -inf ends with sum 0 and gives NaN, as torch does.
const LOWEST = -3.4028234663852886e38;

// Adds value v to the running pair (m, s), where s = sum exp(x - m).
fn push(ms: vec2<f32>, v: f32) -> vec2<f32> {
  if (v <= ms.x) { return vec2<f32>(ms.x, ms.y + exp(v - ms.x)); }
  return vec2<f32>(v, ms.y * exp(ms.x - v) + 1.0);
}

fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

#include "lib/grid"

#if ROW
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = invocationIndex(g, lid);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var ms = vec2<f32>(LOWEST, 0.0);
  for (var j = 0u; j < p.n; j++) { ms = push(ms, f32(x[base + j])); }
  let inv = 1.0 / ms.y;
  for (var j = 0u; j < p.n; j++) { out[base + j] = T(exp(f32(x[base + j]) - ms.x) * inv); }
}
#else
var<workgroup> red: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = workgroupIndex(g);
  if (r >= p.rows) { return; } // uniform per workgroup: the barriers below stay uniform
  let base = r * p.n;
  var ms = vec2<f32>(LOWEST, 0.0);
  for (var j = lid; j < p.n; j += WG) { ms = push(ms, f32(x[base + j])); }
  red[lid] = ms;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off >>= 1u) {
    if (lid < off) { red[lid] = merge(red[lid], red[lid + off]); }
    workgroupBarrier();
  }
  let tot = red[0];
  let inv = 1.0 / tot.y;
  for (var j = lid; j < p.n; j += WG) { out[base + j] = T(exp(f32(x[base + j]) - tot.x) * inv); }
}
#endif
