// Workgroup-wide f32 sum (tree reduction in workgroup memory). The includer declares
// `override WG` (a power of two) and calls wg_sum from uniform control flow only.
var<workgroup> red: array<f32, WG>;

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off >>= 1u) {
    if (lid < off) { red[lid] += red[lid + off]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // all have read red[0] before the next reduction overwrites it
  return total;
}
