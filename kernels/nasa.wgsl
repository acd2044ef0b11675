// nasa: fused NASA cross-attention, per head h and query i,
//   out = softmax(scale q kP^T + maskP) vP - alpha * softmax(scale q kN^T + maskN) vN
// in ONE pass: each invocation keeps two flash-attention states (positive set s = 0,
// negative set s = 1) for its QT queries and folds key blocks of both sets side by side,
// so q is read once and neither score matrix exists. All arithmetic f32.
// Layout: q [B, Nq, H*D]; kP [B|1, NkP, H*D], vP [B|1, NkP, H*Dv]; kN/vN likewise with
// NkN keys; masks [B|1, Nk] additive; out [B, Nq, H*Dv]. Grid: x query tiles of WG*QT,
// y heads, z batches. Variants, DQM/DVM, VEC, the -inf handling and fully masked rows
// (0 for that set) are as in attention.wgsl, and each set's arithmetic is the same as
// there, so alpha = 0 reproduces attention bit for bit.

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
const NEG = -3.4028234e38;

// State of set s, query t at index s * QT + t (chunks at (s * QT + t) * DVM + c).
var<private> qr: array<vec4<f32>, DQM * QT>;
var<private> acc: array<vec4<f32>, 2 * DVM * QT>;
var<private> m: array<f32, 2 * QT>;
var<private> l: array<f32, 2 * QT>;
var<private> base: array<vec4<u32>, 2>; // per set: key, value, mask element offsets

// Non-VEC loads: chunk c of a row at `b`, indices clamped to the row of n, and the mask.
fn idx4(b: u32, c: u32, n: u32) -> vec4<u32> { return b + min(vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n - 1u)); }
fn in4(c: u32, n: u32) -> vec4<bool> { return vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n); }

fn rowQ(b: u32, c: u32) -> vec4<f32> {
#if VEC
  return vec4<f32>(q[b / 4u + c]);
#else
  let i = idx4(b, c, p.D);
  return select(vec4<f32>(0.0), vec4<f32>(f32(q[i.x]), f32(q[i.y]), f32(q[i.z]), f32(q[i.w])), in4(c, p.D));
#endif
}

// Chunk c of key row j of set s.
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

#if TILED
const BKD = BK * DQM;
const BKV = BK * DVM;
var<workgroup> Ks: array<vec4<f32>, 2 * BKD>; // set s at s * BKD
var<workgroup> Vs: array<vec4<f32>, 2 * BKV>;
var<private> j0Block: u32;

fn keyChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return Ks[s * BKD + (j - j0Block) * p.dq + c]; }
fn valChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return Vs[s * BKV + (j - j0Block) * p.dv4 + c]; }
#else
fn keyChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return rowK(s, j, c); }
fn valChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return rowV(s, j, c); }
#endif

fn flushExp(x: f32) -> f32 { return select(0.0, exp(x), x > -60.0); }
fn flushExp4(x: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), exp(x), x > vec4<f32>(-60.0)); }

// Folds keys j0..j0+3 of set s (those < kEnd) into that set's states: the same
// arithmetic as attention.wgsl's fold4 (rows read at min(j, kEnd - 1), uniform).
fn fold4(s: u32, j0: u32, kEnd: u32) {
  let js = vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u);
  let live = js < vec4<u32>(kEnd);
  let jc = min(js, vec4<u32>(kEnd - 1u));
  var sc: array<vec4<f32>, QT>;
  for (var c = 0u; c < p.dq; c++) {
    let k0 = keyChunk(s, jc.x, c);
    let k1 = keyChunk(s, jc.y, c);
    let k2 = keyChunk(s, jc.z, c);
    let k3 = keyChunk(s, jc.w, c);
    for (var t = 0u; t < QT; t++) {
      let qc = qr[t * DQM + c];
      sc[t] += vec4<f32>(dot(qc, k0), dot(qc, k1), dot(qc, k2), dot(qc, k3));
    }
  }
  let bias = vec4<f32>(maskAt(s, jc.x), maskAt(s, jc.y), maskAt(s, jc.z), maskAt(s, jc.w));
  var w: array<vec4<f32>, QT>;
  var corr: array<f32, QT>;
  for (var t = 0u; t < QT; t++) {
    let st = select(vec4<f32>(NEG), sc[t] + bias, live);
    let u = s * QT + t;
    let mNew = max(m[u], max(max(st.x, st.y), max(st.z, st.w)));
    corr[t] = flushExp(m[u] - mNew);
    w[t] = select(vec4<f32>(0.0), flushExp4(st - vec4<f32>(mNew)), live);
    l[u] = l[u] * corr[t] + (w[t].x + w[t].y + w[t].z + w[t].w);
    m[u] = mNew;
  }
  for (var c = 0u; c < p.dv4; c++) {
    let v0 = valChunk(s, jc.x, c);
    let v1 = valChunk(s, jc.y, c);
    let v2 = valChunk(s, jc.z, c);
    let v3 = valChunk(s, jc.w, c);
    for (var t = 0u; t < QT; t++) {
      let wt = w[t];
      let a = (s * QT + t) * DVM + c;
      acc[a] = acc[a] * corr[t] + wt.x * v0 + wt.y * v1 + wt.z * v2 + wt.w * v3;
    }
  }
}

fn begin(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let qb = b * p.qBatch + min(i0 + t, p.Nq - 1u) * p.H * p.D + h * p.D;
    for (var c = 0u; c < p.dq; c++) { qr[t * DQM + c] = rowQ(qb, c) * p.scale; }
  }
  for (var u = 0u; u < 2u * QT; u++) {
    for (var c = 0u; c < p.dv4; c++) { acc[u * DVM + c] = vec4<f32>(0.0); }
    m[u] = NEG;
    l[u] = 0.0;
  }
  for (var s = 0u; s < 2u; s++) {
    base[s] = vec4<u32>(b * p.kBatch[s] + h * p.D, b * p.vBatch[s] + h * p.Dv, b * p.mBatch[s], 0u);
  }
}

fn finish(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let i = i0 + t;
    if (i >= p.Nq) { return; }
    let invP = select(0.0, 1.0 / l[t], l[t] > 0.0);
    let invN = select(0.0, 1.0 / l[QT + t], l[QT + t] > 0.0);
    let ob = (b * p.Nq + i) * p.H * p.Dv + h * p.Dv;
#if VEC
    for (var c = 0u; c < p.dv4; c++) {
      out[ob / 4u + c] = V4(acc[t * DVM + c] * invP - p.alpha * (acc[(QT + t) * DVM + c] * invN));
    }
#else
    for (var e = 0u; e < p.Dv; e++) {
      let c = e / 4u;
      let x = acc[t * DVM + c][e % 4u] * invP - p.alpha * (acc[(QT + t) * DVM + c][e % 4u] * invN);
      out[ob + e] = T(x);
    }
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
    if (j0 < p.NkP) { fold4(0u, j0, p.NkP); }
    if (j0 < p.NkN) { fold4(1u, j0, p.NkN); }
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
    for (var j0 = jb; j0 < endP; j0 += 4u) { fold4(0u, j0, endP); }
    for (var j0 = jb; j0 < endN; j0 += 4u) { fold4(1u, j0, endN); }
    workgroupBarrier();
  }
  finish(wid.z, wid.y, i0);
}
#endif
