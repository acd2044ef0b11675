// attention: out[b, i, h*Dv:(h+1)*Dv] = sum_j softmax_j(scale * q_i·k_j + mask[b, j]) v_j
// per head h, flash style: keys are folded 4 at a time into a running (max m, sum l,
// weighted sum acc) so the Nq x Nk score matrix never exists (lib/flash.wgsl, one key set,
// the same code nasa.wgsl runs on two). All arithmetic f32.
// Layout: q [B, Nq, H*D], k [B|1, Nk, H*D], v [B|1, Nk, H*Dv], mask [B|1, Nk] (additive),
// out [B, Nq, H*Dv], heads packed in the last dim; batch strides 0 broadcast k/v/mask.
// Grid: x over query tiles of WG * QT, y over heads, z over batches.
//
// Variants:
//   REG (default)  keys read straight from memory, no barriers: CPU adapters (lavapipe),
//                  where every lane of a workgroup reads the same key row (a broadcast).
//   TILED          the workgroup stages BK keys/values at a time in workgroup memory
//                  (coalesced loads, one copy per tile): GPUs.
// Each invocation owns QT consecutive queries (QT > 1 reuses every key/value load).
// DQM >= ceil(D/4) and DVM >= ceil(Dv/4) (powers of two) size the per-invocation arrays
// (q rows, accumulators); loops run to the exact sizes from the uniform. Constant loop
// bounds would be unrolled, which made lavapipe's first (LLVM) compile take 5-15 s.
// VEC (D % 4 == 0 and Dv % 4 == 0): vec4 loads/stores; otherwise masked scalar loads.
// CAUSAL: key j is visible to query i when j <= i (top-left aligned, as PyTorch).
// Fully masked rows (every score -inf) give 0, as PyTorch's scaled_dot_product_attention.

struct Params {
  Nq: u32, Nk: u32, H: u32, D: u32,
  Dv: u32, qBatch: u32, kBatch: u32, vBatch: u32,
  mBatch: u32, scale: f32, dq: u32, dv4: u32, // dq = ceil(D/4), dv4 = ceil(Dv/4)
}

@group(0) @binding(0) var<uniform> p: Params;
#if VEC
@group(0) @binding(1) var<storage, read> q: array<V4>;
@group(0) @binding(2) var<storage, read> k: array<V4>;
@group(0) @binding(3) var<storage, read> v: array<V4>;
#else
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
#endif
#if MASK
@group(0) @binding(4) var<storage, read> mask: array<T>;
#endif
#if VEC
@group(0) @binding(OUT_BINDING) var<storage, read_write> out: array<V4>;
#else
@group(0) @binding(OUT_BINDING) var<storage, read_write> out: array<T>;
#endif

override WG: u32 = 64;
const SETS = 1u;

var<private> kEnd: array<u32, QT>; // keys visible to query t (all but with CAUSAL)
var<private> kBase: u32; // element offset of key row 0 of this (batch, head)
var<private> vBase: u32;
var<private> mBase: u32;

#include "lib/flash"

// Chunk c of key / value row j, zeros past the row (the set index is always 0 here).
fn rowK(s: u32, j: u32, c: u32) -> vec4<f32> {
  let b = kBase + j * p.H * p.D;
#if VEC
  return vec4<f32>(k[b / 4u + c]);
#else
  let i = idx4(b, c, p.D);
  return select(vec4<f32>(0.0), vec4<f32>(f32(k[i.x]), f32(k[i.y]), f32(k[i.z]), f32(k[i.w])), in4(c, p.D));
#endif
}

fn rowV(s: u32, j: u32, c: u32) -> vec4<f32> {
  let b = vBase + j * p.H * p.Dv;
#if VEC
  return vec4<f32>(v[b / 4u + c]);
#else
  let i = idx4(b, c, p.Dv);
  return select(vec4<f32>(0.0), vec4<f32>(f32(v[i.x]), f32(v[i.y]), f32(v[i.z]), f32(v[i.w])), in4(c, p.Dv));
#endif
}

fn maskAt(s: u32, j: u32) -> f32 {
#if MASK
  return f32(mask[mBase + j]);
#else
  return 0.0;
#endif
}

fn keyEnd(s: u32, t: u32) -> u32 { return kEnd[t]; }

// Keys query i sees.
fn visibleKeys(i: u32) -> u32 {
#if CAUSAL
  return min(p.Nk, i + 1u);
#else
  return p.Nk;
#endif
}

fn begin(b: u32, h: u32, i0: u32) {
  beginQueries(b, h, i0);
  for (var t = 0u; t < QT; t++) { kEnd[t] = visibleKeys(i0 + t); }
  kBase = b * p.kBatch + h * p.D;
  vBase = b * p.vBatch + h * p.Dv;
  mBase = b * p.mBatch;
}

fn finish(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let i = i0 + t;
    if (i >= p.Nq) { return; }
    let ob = (b * p.Nq + i) * p.H * p.Dv + h * p.Dv;
#if VEC
    for (var c = 0u; c < chunksV(); c++) { out[ob / 4u + c] = V4(normalized(t, c)); }
#else
    for (var e = 0u; e < p.Dv; e++) { out[ob + e] = T(normalized(t, e / 4u)[e % 4u]); }
#endif
  }
}

// Keys [0, tileEnd) cover every query of workgroup wx (uniform loop bounds).
fn tileEnd(wx: u32) -> u32 {
  return visibleKeys(min((wx + 1u) * WG * QT - 1u, p.Nq - 1u));
}

#if !TILED
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0);
  let end = tileEnd(wid.x);
  for (var j0 = 0u; j0 < end; j0 += 4u) { fold4(0u, j0, end - 1u); }
  finish(wid.z, wid.y, i0);
}
#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0); // idle invocations (i0 >= Nq) still stage tiles and hit barriers
  let end = tileEnd(wid.x);
  for (var jb = 0u; jb < end; jb += BK) {
    for (var e = li; e < BK * p.dq; e += WG) { Ks[e] = rowK(0u, min(jb + e / p.dq, p.Nk - 1u), e % p.dq); }
    for (var e = li; e < BK * p.dv4; e += WG) { Vs[e] = rowV(0u, min(jb + e / p.dv4, p.Nk - 1u), e % p.dv4); }
    j0Block = jb;
    workgroupBarrier();
    let blockEnd = min(end, jb + BK);
    for (var j0 = jb; j0 < blockEnd; j0 += 4u) { fold4(0u, j0, blockEnd - 1u); }
    workgroupBarrier();
  }
  finish(wid.z, wid.y, i0);
}
#endif
