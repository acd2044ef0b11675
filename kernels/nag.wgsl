// nag: Normalized Attention Guidance on attention outputs (arXiv 2505.21179), per token row:
//   g = s*zp - (s-1)*zn;  r = |g|_1 / |zp|_1;  out = alpha * g * min(r, tau)/r + (1-alpha) * zp
// zp, zn, out: [rows, C] contiguous (heads already merged, before to_out). One workgroup per
// row reduces both L1 norms in f32; the factor is written without dividing by a zero norm.

struct Params { rows: u32, C: u32, s: f32, tau: f32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> zp: array<T>;
@group(0) @binding(2) var<storage, read> zn: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

const WG = 64u;
#include "lib/grid"
var<workgroup> sg: array<f32, WG>;
var<workgroup> sp: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = workgroupIndex(g);
  if (row >= p.rows) { return; } // uniform per workgroup, so barriers below stay uniform
  let base = row * p.C;
  var ng = 0.0;
  var np = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let a = f32(zp[base + c]);
    let g = p.s * a - (p.s - 1.0) * f32(zn[base + c]);
    ng += abs(g);
    np += abs(a);
  }
  sg[lid] = ng;
  sp[lid] = np;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) {
      sg[lid] += sg[lid + k];
      sp[lid] += sp[lid + k];
    }
    workgroupBarrier();
  }
  let normG = sg[0];
  let normP = sp[0];
  // min(r, tau)/r with r = normG/normP, rearranged to avoid 0/0.
  var factor = 1.0;
  if (normG > p.tau * normP) { factor = p.tau * normP / normG; }
  for (var c = lid; c < p.C; c += WG) {
    let a = f32(zp[base + c]);
    let g = p.s * a - (p.s - 1.0) * f32(zn[base + c]);
    out[base + c] = T(p.alpha * g * factor + (1.0 - p.alpha) * a);
  }
}
