// attention: out[b, i, h*Dv:(h+1)*Dv] = sum_j softmax_j(scale * q_i·k_j + mask[b, j]) v_j
// per head h, flash style: keys are folded 4 at a time into a running (max m, sum l,
// weighted sum acc) so the Nq x Nk score matrix never exists. All arithmetic f32.
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
const NEG = -3.4028234e38; // finite: -inf scores then give exp(-inf) = 0, never NaN

// Running state of the QT queries this invocation owns (query t at index t).
var<private> qr: array<vec4<f32>, DQM * QT>;   // q * scale, chunk c of query t at t * DQM + c
var<private> acc: array<vec4<f32>, DVM * QT>;
var<private> m: array<f32, QT>;
var<private> l: array<f32, QT>;
var<private> kEnd: array<u32, QT>;
var<private> kBase: u32; // element offset of key row 0 of this (batch, head)
var<private> vBase: u32;
var<private> mBase: u32;

// Chunk c (elements 4c..4c+3) of the row starting at element `base`, zeros past `n`.
fn rowK(base: u32, c: u32) -> vec4<f32> {
#if VEC
  return vec4<f32>(k[base / 4u + c]);
#else
  let e = vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u);
  let i = base + min(e, vec4<u32>(p.D - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(f32(k[i.x]), f32(k[i.y]), f32(k[i.z]), f32(k[i.w])), e < vec4<u32>(p.D));
#endif
}

fn rowV(base: u32, c: u32) -> vec4<f32> {
#if VEC
  return vec4<f32>(v[base / 4u + c]);
#else
  let e = vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u);
  let i = base + min(e, vec4<u32>(p.Dv - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(f32(v[i.x]), f32(v[i.y]), f32(v[i.z]), f32(v[i.w])), e < vec4<u32>(p.Dv));
#endif
}

fn rowQ(base: u32, c: u32) -> vec4<f32> {
#if VEC
  return vec4<f32>(q[base / 4u + c]);
#else
  let e = vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u);
  let i = base + min(e, vec4<u32>(p.D - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(f32(q[i.x]), f32(q[i.y]), f32(q[i.z]), f32(q[i.w])), e < vec4<u32>(p.D));
#endif
}

fn maskAt(j: u32) -> f32 {
#if MASK
  return f32(mask[mBase + j]);
#else
  return 0.0;
#endif
}

#if TILED
const BKD = BK * DQM;
const BKV = BK * DVM;
var<workgroup> Ks: array<vec4<f32>, BKD>;
var<workgroup> Vs: array<vec4<f32>, BKV>;
var<private> j0Block: u32; // first key of the staged block

fn keyChunk(j: u32, c: u32) -> vec4<f32> { return Ks[(j - j0Block) * p.dq + c]; }
fn valChunk(j: u32, c: u32) -> vec4<f32> { return Vs[(j - j0Block) * p.dv4 + c]; }
#else
fn keyChunk(j: u32, c: u32) -> vec4<f32> { return rowK(kBase + j * p.H * p.D, c); }
fn valChunk(j: u32, c: u32) -> vec4<f32> { return rowV(vBase + j * p.H * p.Dv, c); }
#endif

// exp(x) for x <= 0, but 0 below -60: weights under e^-60 of the row maximum change
// nothing in f32, and the denormals they would make run ~100x slower on CPU adapters.
fn flushExp(x: f32) -> f32 { return select(0.0, exp(x), x > -60.0); }
fn flushExp4(x: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), exp(x), x > vec4<f32>(-60.0)); }

// Folds keys j0..j0+3 into each query's (m, l, acc), one rescale per 4 keys. Keys at
// or past a query's kEnd weigh 0; rows are read at min(j, jMax), jMax being the same for
// the whole workgroup, so on CPU adapters a key load is one broadcast, not a gather.
fn fold4(j0: u32, jMax: u32) {
  let js = vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u);
  let jc = min(js, vec4<u32>(jMax));
  var s: array<vec4<f32>, QT>;
  for (var c = 0u; c < p.dq; c++) {
    let k0 = keyChunk(jc.x, c);
    let k1 = keyChunk(jc.y, c);
    let k2 = keyChunk(jc.z, c);
    let k3 = keyChunk(jc.w, c);
    for (var t = 0u; t < QT; t++) {
      let qc = qr[t * DQM + c];
      s[t] += vec4<f32>(dot(qc, k0), dot(qc, k1), dot(qc, k2), dot(qc, k3));
    }
  }
  let bias = vec4<f32>(maskAt(jc.x), maskAt(jc.y), maskAt(jc.z), maskAt(jc.w));
  var w: array<vec4<f32>, QT>;
  var corr: array<f32, QT>;
  for (var t = 0u; t < QT; t++) {
    let live = js < vec4<u32>(kEnd[t]);
    let st = select(vec4<f32>(NEG), s[t] + bias, live);
    let mNew = max(m[t], max(max(st.x, st.y), max(st.z, st.w)));
    corr[t] = flushExp(m[t] - mNew);
    w[t] = select(vec4<f32>(0.0), flushExp4(st - vec4<f32>(mNew)), live);
    l[t] = l[t] * corr[t] + (w[t].x + w[t].y + w[t].z + w[t].w);
    m[t] = mNew;
  }
  for (var c = 0u; c < p.dv4; c++) {
    let v0 = valChunk(jc.x, c);
    let v1 = valChunk(jc.y, c);
    let v2 = valChunk(jc.z, c);
    let v3 = valChunk(jc.w, c);
    for (var t = 0u; t < QT; t++) {
      let wt = w[t];
      acc[t * DVM + c] = acc[t * DVM + c] * corr[t] + wt.x * v0 + wt.y * v1 + wt.z * v2 + wt.w * v3;
    }
  }
}

// Loads query rows i0..i0+QT-1 of (b, h) (clamped to Nq) and resets their state.
fn begin(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let i = i0 + t;
    let qb = b * p.qBatch + min(i, p.Nq - 1u) * p.H * p.D + h * p.D;
    for (var c = 0u; c < p.dq; c++) { qr[t * DQM + c] = rowQ(qb, c) * p.scale; }
    for (var c = 0u; c < p.dv4; c++) { acc[t * DVM + c] = vec4<f32>(0.0); }
    m[t] = NEG;
    l[t] = 0.0;
    kEnd[t] = keyEnd(i);
  }
  kBase = b * p.kBatch + h * p.D;
  vBase = b * p.vBatch + h * p.Dv;
  mBase = b * p.mBatch;
}

fn finish(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let i = i0 + t;
    if (i >= p.Nq) { return; }
    let inv = select(0.0, 1.0 / l[t], l[t] > 0.0); // l == 0: every key masked with -inf
    let ob = (b * p.Nq + i) * p.H * p.Dv + h * p.Dv;
#if VEC
    for (var c = 0u; c < p.dv4; c++) { out[ob / 4u + c] = V4(acc[t * DVM + c] * inv); }
#else
    for (var e = 0u; e < p.Dv; e++) { out[ob + e] = T(acc[t * DVM + e / 4u][e % 4u] * inv); }
#endif
  }
}

fn keyEnd(i: u32) -> u32 {
#if CAUSAL
  return min(p.Nk, i + 1u);
#else
  return p.Nk;
#endif
}

// Keys [0, tileEnd) cover every query of workgroup wx (uniform loop bounds).
fn tileEnd(wx: u32) -> u32 {
  return keyEnd(min((wx + 1u) * WG * QT - 1u, p.Nq - 1u));
}

#if !TILED
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0);
  let end = tileEnd(wid.x);
  for (var j0 = 0u; j0 < end; j0 += 4u) { fold4(j0, end - 1u); }
  finish(wid.z, wid.y, i0);
}
#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i0 = (wid.x * WG + li) * QT;
  begin(wid.z, wid.y, i0); // idle invocations (i0 >= Nq) still stage tiles and hit barriers
  let end = tileEnd(wid.x);
  for (var jb = 0u; jb < end; jb += BK) {
    for (var e = li; e < BK * p.dq; e += WG) {
      Ks[e] = rowK(kBase + min(jb + e / p.dq, p.Nk - 1u) * p.H * p.D, e % p.dq);
    }
    for (var e = li; e < BK * p.dv4; e += WG) {
      Vs[e] = rowV(vBase + min(jb + e / p.dv4, p.Nk - 1u) * p.H * p.Dv, e % p.dv4);
    }
    j0Block = jb;
    workgroupBarrier();
    let blockEnd = min(end, jb + BK);
    for (var j0 = jb; j0 < blockEnd; j0 += 4u) { fold4(j0, blockEnd - 1u); }
    workgroupBarrier();
  }
  finish(wid.z, wid.y, i0);
}
#endif
