// upsample: nearest-neighbour 2x, out[r, 2y + dy, 2x + dx] = x[r, y, x] for every row r of
// B*C planes (NCHW). Each invocation reads one input element and writes its 2x2 block.
// Linear workgroup id spans x and y (grid1d).

struct Params { n: u32, w: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;

override WG: u32 = 256;

#include "lib/grid"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  let r = i / p.w;
  let c = i - r * p.w;
  let o = 4u * r * p.w + 2u * c; // row 2r of width 2w
  out[o] = v;
  out[o + 1u] = v;
  out[o + 2u * p.w] = v;
  out[o + 2u * p.w + 1u] = v;
}
