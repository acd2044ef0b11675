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
  ss: array<vec4<u32>, 2>,
  ds: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<E>;
@group(0) @binding(2) var<storage, read_write> dst: array<E>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let last = p.rank - 1u;
  let d0 = p.dims[last / 4u][last % 4u];
  let chunks = (d0 + 3u) / 4u;
  var rem = i / chunks;
  let e0 = (i - rem * chunks) * 4u;
  var s = p.so + e0 * p.ss[last / 4u][last % 4u];
  var d = p.dof + e0 * p.ds[last / 4u][last % 4u];
  for (var k = i32(last) - 1; k >= 0; k--) {
    let dk = p.dims[k / 4][k % 4];
    let c = rem % dk;
    rem = rem / dk;
    s += c * p.ss[k / 4][k % 4];
    d += c * p.ds[k / 4][k % 4];
  }
  let s0 = p.ss[last / 4u][last % 4u];
  let ds0 = p.ds[last / 4u][last % 4u];
  for (var j = 0u; j < 4u && e0 + j < d0; j++) {
    dst[d + j * ds0] = src[s + j * s0];
  }
}
