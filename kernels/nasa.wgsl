// nasa: fused NASA cross-attention, per head h and query i,
//   out = softmax(scale q kP^T + maskP) vP - alpha * softmax(scale q kN^T + maskN) vN
// in ONE pass: each invocation keeps two flash-attention states (positive set s = 0,
// negative set s = 1) for its QT queries and folds key blocks of both sets side by side,
// so q is read once and neither score matrix exists. All arithmetic f32.
// Layout: q [B, Nq, H*D]; kP [B|1, NkP, H*D], vP [B|1, NkP, H*Dv]; kN/vN likewise with
// NkN keys; masks [B|1, Nk] additive; out [B, Nq, H*Dv]. Grid: x query tiles of WG*QT,
// y heads, z batches. Variants, DQM/DVM, VEC, the -inf handling and fully masked rows
// (0 for that set) are as in attention.wgsl: both kernels fold keys with the same code
// (lib/flash.wgsl), so alpha = 0 reproduces attention bit for bit by construction.
// alpha is a runtime scalar (a uniform): a sweep over alphas reuses one pipeline.

struct Params {
  Nq: u32, NkP: u32, NkN: u32, H: u32,
  D: u32, Dv: u32, qBatch: u32, dq: u32,
  dv4: u32, scale: f32, alpha: f32, _pad: u32,
  kBatch: vec2<u32>, vBatch: vec2<u32>, // per set (0 when broadcast over B)
  mBatch: vec2<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
#if VEC
@group(0) @binding(1) var<storage, read> q: array<V4>;
@group(0) @binding(2) var<storage, read> kP: array<V4>;
@group(0) @binding(3) var<storage, read> vP: array<V4>;
@group(0) @binding(4) var<storage, read> kN: array<V4>;
@group(0) @binding(5) var<storage, read> vN: array<V4>;
@group(0) @binding(OUT_BINDING) var<storage, read_write> out: array<V4>;
#else
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> kP: array<T>;
@group(0) @binding(3) var<storage, read> vP: array<T>;
@group(0) @binding(4) var<storage, read> kN: array<T>;
@group(0) @binding(5) var<storage, read> vN: array<T>;
@group(0) @binding(OUT_BINDING) var<storage, read_write> out: array<T>;
#endif
#if MASK_P
@group(0) @binding(6) var<storage, read> maskP: array<T>;
#endif
#if MASK_N
@group(0) @binding(MN_BINDING) var<storage, read> maskN: array<T>;
#endif

override WG: u32 = 64;
const SETS = 2u;

var<private> base: array<vec4<u32>, 2>; // per set: key, value, mask element offsets

#include "lib/flash"

// Chunk c of key / value row j of set s (0 positive, 1 negative).
fn rowK(s: u32, j: u32, c: u32) -> vec4<f32> {
  let b = base[s].x + j * p.H * p.D;
#if VEC
  if (s == 0u) { return vec4<f32>(kP[b / 4u + c]); }
  return vec4<f32>(kN[b / 4u + c]);
#else
  let i = idx4(b, c, p.D);
  var x: vec4<f32>;
  if (s == 0u) { x = vec4<f32>(f32(kP[i.x]), f32(kP[i.y]), f32(kP[i.z]), f32(kP[i.w])); }
  else { x = vec4<f32>(f32(kN[i.x]), f32(kN[i.y]), f32(kN[i.z]), f32(kN[i.w])); }
  return select(vec4<f32>(0.0), x, in4(c, p.D));
#endif
}

fn rowV(s: u32, j: u32, c: u32) -> vec4<f32> {
  let b = base[s].y + j * p.H * p.Dv;
#if VEC
  if (s == 0u) { return vec4<f32>(vP[b / 4u + c]); }
  return vec4<f32>(vN[b / 4u + c]);
#else
  let i = idx4(b, c, p.Dv);
  var x: vec4<f32>;
  if (s == 0u) { x = vec4<f32>(f32(vP[i.x]), f32(vP[i.y]), f32(vP[i.z]), f32(vP[i.w])); }
  else { x = vec4<f32>(f32(vN[i.x]), f32(vN[i.y]), f32(vN[i.z]), f32(vN[i.w])); }
  return select(vec4<f32>(0.0), x, in4(c, p.Dv));
#endif
}

fn maskAt(s: u32, j: u32) -> f32 {
#if MASK_P
  if (s == 0u) { return f32(maskP[base[0].z + j]); }
#endif
#if MASK_N
  if (s == 1u) { return f32(maskN[base[1].z + j]); }
#endif
  return 0.0;
}

fn keyEnd(s: u32, t: u32) -> u32 { return select(p.NkN, p.NkP, s == 0u); }

fn begin(b: u32, h: u32, i0: u32) {
  beginQueries(b, h, i0);
  for (var s = 0u; s < 2u; s++) {
    base[s] = vec4<u32>(b * p.kBatch[s] + h * p.D, b * p.vBatch[s] + h * p.Dv, b * p.mBatch[s], 0u);
  }
}

fn finish(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let i = i0 + t;
    if (i >= p.Nq) { return; }
    let ob = (b * p.Nq + i) * p.H * p.Dv + h * p.Dv;
#if VEC
    for (var c = 0u; c < chunksV(); c++) { out[ob / 4u + c] = V4(normalized(t, c) - p.alpha * normalized(QT + t, c)); }
#else
    for (var e = 0u; e < p.Dv; e++) { out[ob + e] = T(normalized(t, e / 4u)[e % 4u] - p.alpha * normalized(QT + t, e / 4u)[e % 4u]); }
#endif
  }
}

#if !TILED
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0);
  // One pass over both key sets, 4 keys of each per step.
  for (var j0 = 0u; j0 < max(p.NkP, p.NkN); j0 += 4u) {
    if (j0 < p.NkP) { fold4(0u, j0, p.NkP - 1u); }
    if (j0 < p.NkN) { fold4(1u, j0, p.NkN - 1u); }
  }
  finish(wid.z, wid.y, i0);
}
#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0); // idle invocations (i0 >= Nq) still stage tiles and hit barriers
  for (var jb = 0u; jb < max(p.NkP, p.NkN); jb += BK) {
    // Stage BK keys/values of each set side by side.
    for (var e = li; e < BK * p.dq; e += WG) {
      let j = jb + e / p.dq;
      Ks[e] = rowK(0u, min(j, p.NkP - 1u), e % p.dq);
      Ks[BKD + e] = rowK(1u, min(j, p.NkN - 1u), e % p.dq);
    }
    for (var e = li; e < BK * p.dv4; e += WG) {
      let j = jb + e / p.dv4;
      Vs[e] = rowV(0u, min(j, p.NkP - 1u), e % p.dv4);
      Vs[BKV + e] = rowV(1u, min(j, p.NkN - 1u), e % p.dv4);
    }
    j0Block = jb;
    workgroupBarrier();
    let endP = min(p.NkP, jb + BK);
    let endN = min(p.NkN, jb + BK);
    for (var j0 = jb; j0 < endP; j0 += 4u) { fold4(0u, j0, endP - 1u); }
    for (var j0 = jb; j0 < endN; j0 += 4u) { fold4(1u, j0, endN - 1u); }
    workgroupBarrier();
  }
  finish(wid.z, wid.y, i0);
}
#endif
