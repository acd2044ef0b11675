// copy: strided gather-scatter behind concat / slice / permute. Over a region of `rank`
// dims (outermost first, rank <= 8 after merging), element c of the region moves
// src[so + sum c_k * ss_k] -> dst[do + sum c_k * ds_k]. Each invocation moves up to 4
// consecutive elements of the innermost dim (one index decode for 4 moves).
// Storage type E is T for floats, u32 (bit copy) for integer tensors (#if WORD).
// Linear workgroup id spans x and y (grid1d).

#if WORD
alias E = u32;
#else
alias E = T;
#endif

struct Params {
  n: u32, rank: u32, so: u32, dof: u32,
  dims: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>, // source strides
  sb: array<vec4<u32>, 2>, // destination strides
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<E>;
@group(0) @binding(2) var<storage, read_write> dst: array<E>;

override WG: u32 = 256;

#include "lib/grid"
#include "lib/strided"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.n) { return; }
  let last = p.rank - 1u;
  let d0 = p.dims[last / 4u][last % 4u];
  let chunks = (d0 + 3u) / 4u;
  let rest = i / chunks; // index over the outer dims
  let e0 = (i - rest * chunks) * 4u;
  let s0 = p.sa[last / 4u][last % 4u];
  let ds0 = p.sb[last / 4u][last % 4u];
  let o = stridedOffsets(rest, i32(last) - 1);
  let s = p.so + e0 * s0 + o.x;
  let d = p.dof + e0 * ds0 + o.y;
  for (var j = 0u; j < 4u && e0 + j < d0; j++) {
    dst[d + j * ds0] = src[s + j * s0];
  }
}
