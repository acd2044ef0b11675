// matmul: C[z] = A[z] · B[z] (+ bias[n]) for each batch z, or A[z] · B[z]^T with TRANS_B
// (B stored [N, K], the PyTorch Linear weight layout). Storage T, accumulation f32.
// Layout: row-major A [M, K], B [K, N] (or [N, K]), C [M, N]; batch dims (<= 4 after
// merging, broadcast ones with stride 0) give each z its A and B element offsets; C is
// contiguous, z * M * N. Grid: x over N tiles, y over M tiles, z over batches.
//
// Variants:
//   REG (default)  barrier-free register tiling: each invocation computes a 4x4 tile of C
//                  (4x8 with WIDE, for B stored [K, N]) from vec4 loads. Built for CPU
//                  adapters (lavapipe), where workgroup barriers cost more than they save.
//   SHARED         64x64 tile per 16x16 workgroup staged through workgroup memory (BK-deep
//                  K slices, f32), each invocation a 4x4 sub-tile. For real GPUs.
//   SUBGROUPS      REG whose quads (4 lanes) share loads through quadBroadcast: with TRANS_B
//                  (QA) the quad runs along N and shares its 4 rows of A, lane q loading
//                  row q; with B [K, N] (QB) it runs down M and shares B's rows k..k+3.
// Vector loads need alignment, so the host sets VA (A rows vec4-aligned: K % 4 == 0),
// VB (B rows aligned: TRANS_B ? K % 4 == 0 : N % 4 == 0) and VC (N % 4 == 0, vec4
// stores); without them the REG variant reads scalars, clamped into bounds and masked.
// SHARED reads scalars (VA/VB unset) and stores vec4 when VC.
// Q8 (with TRANS_B, either variant): B is a q8_0 weight (kernels/lib/q8_0.wgsl),
// dequantized as it is loaded; it never exists in f16/f32 in GPU memory.

struct Params {
  M: u32, K: u32, N: u32, nb: u32,
  bdims: vec4<u32>,
  sa: vec4<u32>,
  sb: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
#if VA
@group(0) @binding(1) var<storage, read> a: array<V4>;
#else
@group(0) @binding(1) var<storage, read> a: array<T>;
#endif
#if Q8
@group(0) @binding(2) var<storage, read> b: array<u32>;
#include "lib/q8_0"
#else
#if VB
@group(0) @binding(2) var<storage, read> b: array<V4>;
#else
@group(0) @binding(2) var<storage, read> b: array<T>;
#endif
#endif
#if BIAS
@group(0) @binding(3) var<storage, read> bias: array<T>;
#endif
#if VC
@group(0) @binding(OUT_BINDING) var<storage, read_write> c: array<V4>;
#else
@group(0) @binding(OUT_BINDING) var<storage, read_write> c: array<T>;
#endif

override WX: u32 = 8;
override WY: u32 = 8;

// Element offsets of A and B for batch z (row-major over the merged batch dims).
fn batchOffsets(z: u32) -> vec2<u32> {
  var rem = z;
  var oa = 0u;
  var ob = 0u;
  for (var i = i32(p.nb) - 1; i >= 0; i--) {
    let d = p.bdims[i];
    let q = rem % d;
    rem = rem / d;
    oa += q * p.sa[i];
    ob += q * p.sb[i];
  }
  return vec2<u32>(oa, ob);
}

fn biasAt(n: u32) -> f32 {
#if BIAS
  return f32(bias[min(n, p.N - 1u)]);
#else
  return 0.0;
#endif
}

// Stores C[m, n0..n0+3] (+ bias) for the columns inside N; rows past M are dropped.
fn store(oc: u32, m: u32, n0: u32, acc: vec4<f32>) {
  if (m >= p.M || n0 >= p.N) { return; }
  let v = acc + vec4<f32>(biasAt(n0), biasAt(n0 + 1u), biasAt(n0 + 2u), biasAt(n0 + 3u));
#if VC
  c[(oc + m * p.N + n0) / 4u] = V4(v);
#else
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < p.N) { c[oc + m * p.N + n0 + j] = T(v[j]); }
  }
#endif
}

#if !SHARED
// A[row, k..k+3] where `base` = A offset of the row; zeros past K.
fn ldA(base: u32, k: u32) -> vec4<f32> {
#if VA
  return vec4<f32>(a[(base + k) / 4u]);
#else
  let e = p.K - 1u;
  let v = vec4<f32>(f32(a[base + min(k, e)]), f32(a[base + min(k + 1u, e)]), f32(a[base + min(k + 2u, e)]), f32(a[base + min(k + 3u, e)]));
  return select(vec4<f32>(0.0), v, vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(p.K));
#endif
}

// A's 4 rows (offsets ra) at k..k+3; with QA and `quads`, lane q of each quad loads row q
// (offset raq) and broadcasts it.
fn rowsA(ra: vec4<u32>, raq: u32, quads: bool, k: u32) -> mat4x4<f32> {
#if QA
  if (quads) {
    let v = ldA(raq, k);
    return mat4x4<f32>(quadBroadcast(v, 0u), quadBroadcast(v, 1u), quadBroadcast(v, 2u), quadBroadcast(v, 3u));
  }
#endif
  return mat4x4<f32>(ldA(ra[0], k), ldA(ra[1], k), ldA(ra[2], k), ldA(ra[3], k));
}

#if TRANS_B
// Where row n of B starts: its element offset, or with Q8 its first block.
fn rowB(ob: u32, n: u32) -> u32 {
#if Q8
  return n * (p.K / 32u);
#else
  return ob + n * p.K;
#endif
}

// B[n, k..k+3] (B stored [N, K]) where `base` = rowB(n); zeros past K.
fn ldB(base: u32, k: u32) -> vec4<f32> {
#if VB
  return vec4<f32>(b[(base + k) / 4u]);
#else
  let e = p.K - 1u;
  let v = vec4<f32>(f32(b[base + min(k, e)]), f32(b[base + min(k + 1u, e)]), f32(b[base + min(k + 2u, e)]), f32(b[base + min(k + 3u, e)]));
  return select(vec4<f32>(0.0), v, vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(p.K));
#endif
}
#else
// B[k, n0..n0+3] (B stored [K, N]) where `ob` = B batch offset; zeros outside [K, N].
fn ldB(ob: u32, k: u32, n0: u32) -> vec4<f32> {
#if VB
  return vec4<f32>(b[(ob + min(k, p.K - 1u) * p.N + n0) / 4u]) * f32(k < p.K);
#else
  let row = ob + min(k, p.K - 1u) * p.N;
  let e = p.N - 1u;
  let v = vec4<f32>(f32(b[row + min(n0, e)]), f32(b[row + min(n0 + 1u, e)]), f32(b[row + min(n0 + 2u, e)]), f32(b[row + min(n0 + 3u, e)]));
  let n = vec4<u32>(n0, n0 + 1u, n0 + 2u, n0 + 3u);
  return select(vec4<f32>(0.0), v, (n < vec4<u32>(p.N)) & vec4<bool>(k < p.K));
#endif
}

// B's rows k..k+3 at columns n0..n0+3; with QB and `quads`, lane q of each quad loads row
// k + q and broadcasts it.
fn rowsB(ob: u32, k: u32, n0: u32, q: u32, quads: bool) -> mat4x4<f32> {
#if QB
  if (quads) {
    let v = ldB(ob, k + q, n0);
    return mat4x4<f32>(quadBroadcast(v, 0u), quadBroadcast(v, 1u), quadBroadcast(v, 2u), quadBroadcast(v, 3u));
  }
#endif
  return mat4x4<f32>(ldB(ob, k, n0), ldB(ob, k + 1u, n0), ldB(ob, k + 2u, n0), ldB(ob, k + 3u, n0));
}
#endif

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
#if SUBGROUPS
        @builtin(subgroup_invocation_id) lane: u32,
#endif
        @builtin(local_invocation_index) li: u32) {
#if QB
  // Quads run down M (the 4 lanes of a quad share n0 and so B's loads): lanes li .. li + 3
  // take 4 consecutive row tiles of one column tile; a bijection on the WX x WY tiles.
  let tile = vec2<u32>(wid.x * WX + (li / 4u) % WX, wid.y * WY + (li / 4u / WX) * 4u + li % 4u);
#else
  let tile = gid.xy;
#endif
#if WIDE
  let n0 = tile.x * 8u;
#else
  let n0 = tile.x * 4u;
#endif
  let m0 = tile.y * 4u;
  let off = batchOffsets(gid.z);
#if SUBGROUPS
  // No early return: every lane of a quad takes part in its broadcasts. Rows and columns
  // past M and N load clamped and store() drops them. Quads share what they broadcast
  // wherever subgroups follow local_invocation_index (the usual layout); `quads` checks
  // that per subgroup, and lanes load alone where it does not hold.
  let q = lane % 4u;
#if QB
  let quads = subgroupAll(quadBroadcast(n0, 0u) == n0);
#else
  let quads = subgroupAll(quadBroadcast(m0, 0u) == m0);
#endif
  let raq = off.x + min(m0 + q, p.M - 1u) * p.K;
#if VB
  let nb0 = min(n0, p.N - 4u);
#else
  let nb0 = n0;
#endif
#else
  if (n0 >= p.N || m0 >= p.M) { return; }
  let q = 0u;
  let quads = false;
  let raq = 0u;
  let nb0 = n0;
#endif
  // Rows past M are clamped so every load stays in bounds; store() drops them.
  let em = p.M - 1u;
  let ra = off.x + vec4<u32>(min(m0, em), min(m0 + 1u, em), min(m0 + 2u, em), min(m0 + 3u, em)) * p.K;
#if TRANS_B
  let en = p.N - 1u;
  let rb0 = rowB(off.y, min(n0, en));
  let rb1 = rowB(off.y, min(n0 + 1u, en));
  let rb2 = rowB(off.y, min(n0 + 2u, en));
  let rb3 = rowB(off.y, min(n0 + 3u, en));
#endif
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
#if WIDE
  // Columns n0 + 4 .. n0 + 7 (VB: clamped to the row's last quad; stores past N drop).
#if VB
  let n1 = min(nb0 + 4u, p.N - 4u);
#else
  let n1 = n0 + 4u;
#endif
  var d0 = vec4<f32>(0.0);
  var d1 = vec4<f32>(0.0);
  var d2 = vec4<f32>(0.0);
  var d3 = vec4<f32>(0.0);
#endif
#if Q8
  // q8_0 B, a block (32 k) at a time: the dot products of the raw quants are summed over
  // the block, then scaled once by each row's block scale.
  for (var k = 0u; k < p.K; k += 32u) {
    let blk = k / 32u;
    var t0 = vec4<f32>(0.0);
    var t1 = vec4<f32>(0.0);
    var t2 = vec4<f32>(0.0);
    var t3 = vec4<f32>(0.0);
    for (var j = 0u; j < 32u; j += 4u) {
      let A = rowsA(ra, raq, quads, k + j);
      let a0 = A[0];
      let a1 = A[1];
      let a2 = A[2];
      let a3 = A[3];
      let w0 = q8Quad(rb0 + blk, j);
      let w1 = q8Quad(rb1 + blk, j);
      let w2 = q8Quad(rb2 + blk, j);
      let w3 = q8Quad(rb3 + blk, j);
      t0 += vec4<f32>(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
      t1 += vec4<f32>(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
      t2 += vec4<f32>(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
      t3 += vec4<f32>(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));
    }
    let s = vec4<f32>(q8Scale(rb0 + blk), q8Scale(rb1 + blk), q8Scale(rb2 + blk), q8Scale(rb3 + blk));
    c0 += t0 * s;
    c1 += t1 * s;
    c2 += t2 * s;
    c3 += t3 * s;
  }
#else
  for (var k = 0u; k < p.K; k += 4u) {
    let A = rowsA(ra, raq, quads, k);
    let a0 = A[0];
    let a1 = A[1];
    let a2 = A[2];
    let a3 = A[3];
#if TRANS_B
    let w0 = ldB(rb0, k);
    let w1 = ldB(rb1, k);
    let w2 = ldB(rb2, k);
    let w3 = ldB(rb3, k);
    c0 += vec4<f32>(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
    c1 += vec4<f32>(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
    c2 += vec4<f32>(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
    c3 += vec4<f32>(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));
#else
    let B = rowsB(off.y, k, nb0, q, quads);
    let b0 = B[0];
    let b1 = B[1];
    let b2 = B[2];
    let b3 = B[3];
    c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    c2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    c3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
#if WIDE
    let E = rowsB(off.y, k, n1, q, quads);
    let e0 = E[0];
    let e1 = E[1];
    let e2 = E[2];
    let e3 = E[3];
    d0 += a0.x * e0 + a0.y * e1 + a0.z * e2 + a0.w * e3;
    d1 += a1.x * e0 + a1.y * e1 + a1.z * e2 + a1.w * e3;
    d2 += a2.x * e0 + a2.y * e1 + a2.z * e2 + a2.w * e3;
    d3 += a3.x * e0 + a3.y * e1 + a3.z * e2 + a3.w * e3;
#endif
#endif
  }
#endif
  let oc = gid.z * p.M * p.N;
  store(oc, m0, n0, c0);
  store(oc, m0 + 1u, n0, c1);
  store(oc, m0 + 2u, n0, c2);
  store(oc, m0 + 3u, n0, c3);
#if WIDE
  store(oc, m0, n0 + 4u, d0);
  store(oc, m0 + 1u, n0 + 4u, d1);
  store(oc, m0 + 2u, n0 + 4u, d2);
  store(oc, m0 + 3u, n0 + 4u, d3);
#endif
}
#endif

#if SHARED
const TILE = 64u;
const BK = 16u;
// Tiles stored k-major as vec4 along m (or n): As[k * 16 + m / 4][m % 4].
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;

fn rdA(oa: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  return f32(a[oa + m * p.K + k]);
}

fn rdB(ob: u32, k: u32, n: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
#if Q8
  return q8At(n * (p.K / 32u), k);
#else
#if TRANS_B
  let i = ob + n * p.K + k;
#else
  let i = ob + k * p.N + n;
#endif
  return f32(b[i]);
#endif
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let off = batchOffsets(wid.z);
  let mt = wid.y * TILE;
  let nt = wid.x * TILE;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // 256 invocations stage 64 x 16 values of each operand, 4 each, reading along
    // the contiguous dimension of each operand.
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      let am = e / BK;
      let ak = e % BK;
      As[ak * 16u + am / 4u][am % 4u] = rdA(off.x, mt + am, k0 + ak);
#if TRANS_B
      let bn = e / BK;
      let bk = e % BK;
#else
      let bk = e / TILE;
      let bn = e % TILE;
#endif
      Bs[bk * 16u + bn / 4u][bn % 4u] = rdB(off.y, k0 + bk, nt + bn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let av = As[kk * 16u + lid.y];
      let bv = Bs[kk * 16u + lid.x];
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  let oc = wid.z * p.M * p.N;
  let n0 = nt + lid.x * 4u;
  if (n0 >= p.N) { return; }
  for (var i = 0u; i < 4u; i++) { store(oc, mt + lid.y * 4u + i, n0, acc[i]); }
}
#endif
