// embedding / gatherRows: out[r, d] = src[r * p.stride + idx[r], d] for d < D, row by row.
//   embedding:  stride 0, rows V        (table [V, D], ids [R])
//   gatherRows: stride N, rows N        (x [B, N, D] read as [B*N, D], idx [B])
// An index outside [0, rows) gives a zero row (there is no way to raise from a kernel; the
// CPU reference does the same). VEC4: D % 4 == 0, one vec4 per invocation (p.d counts vec4s).
// A table larger than one storage binding is bound in slabs of rows [lo, lo + count), one
// call each: a call writes only the rows whose index falls in its slab (and the zero rows).
// Linear workgroup id spans x and y (grid1d).

struct Params { total: u32, d: u32, stride: u32, rows: u32, lo: u32, count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
#if VEC4
alias TU = V4;
#else
alias TU = T;
#endif
@group(0) @binding(1) var<storage, read> src: array<TU>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<TU>;

override WG: u32 = 256;

#include "lib/grid"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.total) { return; }
  let r = i / p.d;
  let id = idx[r];
  if (id < 0 || u32(id) >= p.rows) { out[i] = TU(0.0); return; }
  let k = u32(id) - p.lo; // wraps past count when id < lo
  if (k >= p.count) { return; } // another slab's row
  out[i] = src[(r * p.stride + k) * p.d + i % p.d];
}
