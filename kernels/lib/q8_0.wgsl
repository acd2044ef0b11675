// q8_0 weight reads for matmul (B = a PyTorch Linear weight [N, K] in GGML's block_q8_0
// layout, src/tensor/q8_0.ts): 34-byte blocks { f16 d, 32 x int8 q } along K, bound as
// `b: array<u32>`. A block starts on a 2-byte boundary, so everything is read as
// 16-bit halves: block i is halves 17i (d) and 17i+1 .. 17i+16 (q pairs, low byte first).

// Half-word `h` of b.
fn q8Half(h: u32) -> u32 {
  return (b[h >> 1u] >> ((h & 1u) * 16u)) & 0xffffu;
}

// Scale of block `blk`.
fn q8Scale(blk: u32) -> f32 {
  return unpack2x16float(q8Half(17u * blk)).x;
}

// Sign-extends the 4 bytes of `w` (low byte first).
fn q8Bytes4(w: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u));
}

// The quants j .. j+3 of block `blk` (j % 4 == 0), unscaled.
fn q8Quad(blk: u32, j: u32) -> vec4<f32> {
  let h = 17u * blk + 1u + j / 2u;
  // The 4 bytes are halves h, h+1: one word when h is even, two otherwise (the second
  // read repeats the first word when h is even, so nothing past the block is touched).
  let lo = b[h >> 1u];
  let hi = b[(h >> 1u) + (h & 1u)];
  let w = select((lo >> 16u) | (hi << 16u), lo, (h & 1u) == 0u);
  return q8Bytes4(w);
}

// One weight: row whose first block is `row0`, column k.
fn q8At(row0: u32, k: u32) -> f32 {
  let blk = row0 + k / 32u;
  let byte = 2u * (17u * blk + 1u) + k % 32u;
  let q = bitcast<i32>(((b[byte >> 2u] >> ((byte & 3u) * 8u)) & 0xffu) << 24u) >> 24u;
  return f32(q) * q8Scale(blk);
}
