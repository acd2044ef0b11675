// Flash-attention state and its fold step, shared by attention.wgsl (one key set) and
// nasa.wgsl (positive and negative key sets): both run exactly this arithmetic, so NASA
// with alpha = 0 equals attention bit for bit by construction.
//
// Each invocation owns QT consecutive queries and keeps SETS independent online-softmax
// states per query (running max m, sum l, weighted value sum acc; state u = s * QT + t for
// key set s, query t). Keys are folded 4 at a time, one rescale per 4 keys, so no score
// matrix exists. All arithmetic f32.
//
// The includer provides: `const SETS`; numeric defines QT, DQM, DVM (and BK when TILED);
// a uniform `p` with Nq, H, D, qBatch, scale, dq, dv4; the query buffer `q`; and
//   rowK(s, j, c), rowV(s, j, c) -> vec4<f32>   chunk c of key / value row j of set s
//   maskAt(s, j) -> f32                          additive bias of key j of set s
//   keyEnd(s, t) -> u32                          keys of set s visible to query t
// TILED kernels stage BK keys/values of every set into Ks/Vs (set s at s * BKD / s * BKV)
// and set j0Block before folding.

#include "lib/flush"

var<private> qr: array<vec4<f32>, DQM * QT>; // q * scale, chunk c of query t at t * DQM + c
var<private> acc: array<vec4<f32>, SETS * DVM * QT>; // state u's chunk c at u * DVM + c
var<private> m: array<f32, SETS * QT>;
var<private> l: array<f32, SETS * QT>;

// Chunks of 4 in a query/key row and in a value row. EXACT (the host's promise that they
// equal DQM / DVM, e.g. SD's 64-wide heads) makes them constants, so the loops over a row
// unroll and the row stays in registers (lavapipe: runtime bounds keep it in memory).
fn chunksQ() -> u32 {
#if EXACT
  return DQM;
#else
  return p.dq;
#endif
}
fn chunksV() -> u32 {
#if EXACT
  return DVM;
#else
  return p.dv4;
#endif
}

// Non-VEC loads: element indices of chunk c of a row at `b`, clamped to the row's n, and
// which of them are inside the row.
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

#if TILED
const BKD = BK * DQM;
const BKV = BK * DVM;
var<workgroup> Ks: array<vec4<f32>, SETS * BKD>;
var<workgroup> Vs: array<vec4<f32>, SETS * BKV>;
var<private> j0Block: u32; // first key of the staged block

fn keyChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return Ks[s * BKD + (j - j0Block) * p.dq + c]; }
fn valChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return Vs[s * BKV + (j - j0Block) * p.dv4 + c]; }
#else
fn keyChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return rowK(s, j, c); }
fn valChunk(s: u32, j: u32, c: u32) -> vec4<f32> { return rowV(s, j, c); }
#endif


// Loads query rows i0..i0+QT-1 of (b, h) (clamped to Nq), scaled, and resets every state.
fn beginQueries(b: u32, h: u32, i0: u32) {
  for (var t = 0u; t < QT; t++) {
    let qb = b * p.qBatch + min(i0 + t, p.Nq - 1u) * p.H * p.D + h * p.D;
    for (var c = 0u; c < chunksQ(); c++) { qr[t * DQM + c] = rowQ(qb, c) * p.scale; }
  }
  for (var u = 0u; u < SETS * QT; u++) {
    for (var c = 0u; c < chunksV(); c++) { acc[u * DVM + c] = vec4<f32>(0.0); }
    m[u] = NEG;
    l[u] = 0.0;
  }
}

// Folds keys j0..j0+3 of set s into that set's states. Keys at or past keyEnd(s, t) weigh
// 0; rows are read at min(j, jMax), jMax being the same for the whole workgroup, so on CPU
// adapters a key load is one broadcast, not a gather.
fn fold4(s: u32, j0: u32, jMax: u32) {
  let js = vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u);
  let jc = min(js, vec4<u32>(jMax));
  var sc: array<vec4<f32>, QT>;
  for (var c = 0u; c < chunksQ(); c++) {
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
    let live = js < vec4<u32>(keyEnd(s, t));
    let st = select(vec4<f32>(NEG), sc[t] + bias, live);
    let u = s * QT + t;
    let mNew = max(m[u], max(max(st.x, st.y), max(st.z, st.w)));
    corr[t] = flushExp(m[u] - mNew);
    w[t] = select(vec4<f32>(0.0), flushExp4(st - vec4<f32>(mNew)), live);
    l[u] = l[u] * corr[t] + (w[t].x + w[t].y + w[t].z + w[t].w);
    m[u] = mNew;
  }
  for (var c = 0u; c < chunksV(); c++) {
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

// Chunk c of state u's softmax-weighted values: acc / l (0 when every key was masked out
// with -inf, as PyTorch's scaled_dot_product_attention gives).
fn normalized(u: u32, c: u32) -> vec4<f32> {
  return acc[u * DVM + c] * select(0.0, 1.0 / l[u], l[u] > 0.0);
}
