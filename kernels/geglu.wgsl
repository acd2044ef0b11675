// geglu: x [rows, 2F] -> out [rows, F], out[r, j] = x[r, j] * gelu(x[r, F + j]) with the exact
// (erf) GELU: diffusers GEGLU after its projection (hidden, gate = proj(x).chunk(2, -1)).
// VEC4: F % 4 == 0, one vec4 per invocation (p.n and p.f count vec4s). Math in f32.
// Layout: contiguous; rows = everything before the last dim. Linear workgroup id (grid1d).

struct Params { n: u32, f: u32 }

@group(0) @binding(0) var<uniform> p: Params;
#if VEC4
alias F = vec4<f32>;
@group(0) @binding(1) var<storage, read> x: array<V4>;
@group(0) @binding(2) var<storage, read_write> out: array<V4>;
#else
alias F = f32;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
#endif

override WG: u32 = 256;

#include "lib/grid"

#include "lib/erf"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.n) { return; }
  let r = i / p.f;
  let src = i + r * p.f; // r * 2F + j
#if VEC4
  out[i] = V4(vec4<f32>(x[src]) * gelu_erf(vec4<f32>(x[src + p.f])));
#else
  out[i] = T(f32(x[src]) * gelu_erf(f32(x[src + p.f])));
#endif
}
