// Index decode of a strided region of rank <= 8 (binary's broadcasting, copy's gather and
// scatter). The includer's uniform `p` has dims, sa, sb: array<vec4<u32>, 2> (dimension k
// at [k / 4][k % 4], outermost first): the region's sizes and two stride sets.
//
// stridedOffsets(rem, top): decodes dims top..0 of the row-major index `rem` into
// coordinates c_k and returns (sum c_k sa_k, sum c_k sb_k).
fn stridedOffsets(rem0: u32, top: i32) -> vec2<u32> {
  var rem = rem0;
  var o = vec2<u32>(0u);
  for (var k = top; k >= 0; k--) {
    let d = p.dims[k / 4][k % 4];
    let c = rem % d;
    rem = rem / d;
    o += c * vec2<u32>(p.sa[k / 4][k % 4], p.sb[k / 4][k % 4]);
  }
  return o;
}
