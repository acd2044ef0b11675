// binary: out[i] = a[ia] (op) b[ib] with numpy broadcasting, op one of ADD SUB MUL DIV.
// Layout: contiguous row-major a, b, out; broadcast dims have stride 0 in sa/sb.
// Shapes (rank <= 8 after merging dims) travel in the uniform, so one pipeline per op
// and dtype serves every shape. Linear workgroup id spans x and y (grid1d).

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  dims: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

override WG: u32 = 256;

#include "lib/grid"
#include "lib/strided"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.n) { return; }
  let o = stridedOffsets(i, i32(p.rank) - 1); // element offsets in a and b
  let x = f32(a[o.x]);
  let y = f32(b[o.y]);
#if ADD
  out[i] = T(x + y);
#endif
#if SUB
  out[i] = T(x - y);
#endif
#if MUL
  out[i] = T(x * y);
#endif
#if DIV
  out[i] = T(x / y);
#endif
}
