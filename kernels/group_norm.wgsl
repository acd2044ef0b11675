// group_norm: x [B, C, *spatial] (NCHW, contiguous), G groups of cg = C/G channels:
//   out[b, c, s] = (x - mean_bg) * rsqrt(var_bg + eps) * w[c] + bias[c], optionally followed by
//   SiLU (SILU), where mean/var (biased) run over the cg*S values of group (b, g) -- one
//   contiguous span of L = cg*S values per (b, g), bg = b*G + g.
// Statistics in f32 from shifted sums: sum(x - K) and sum((x - K)^2) with K one of the values
// being summed, so the variance keeps its digits when |mean| >> std without a second read.
// VEC4: S % 4 == 0, every unit is a vec4 inside one channel (p.su, p.lu, p.total count units).
// Stages (one per dispatch, chosen by define):
//   FUSED    one workgroup per (b, g): reduce in shared memory, then normalise the span.
//   STATS    split, pass 1: P invocations per group, each the shifted sums over a strided
//            subset (units j, j+P, ...), written as (count, mean, M2) partials. No barriers.
//   COMBINE  split, pass 2: one workgroup per group merges its P partials -> (mean, rstd).
//   NORM     split, pass 3: one invocation per unit over the whole tensor, normalise + affine.

struct Params {
  bg: u32, groups: u32, c: u32, cg: u32,   // B*G, G, C, C/G
  su: u32, lu: u32, parts: u32, total: u32, // units per channel, per group; partials per group; B*C*su
  eps: f32, nl: f32, _p0: u32, _p1: u32,    // eps; values per group (cg*S) as f32
}

@group(0) @binding(0) var<uniform> p: Params;

#if VEC4
alias F = vec4<f32>;
alias TU = V4;
fn hsum(v: F) -> f32 { return v.x + v.y + v.z + v.w; }
fn first(v: F) -> f32 { return v.x; }
const UNIT = 4.0;
#else
alias F = f32;
alias TU = T;
fn hsum(v: F) -> f32 { return v; }
fn first(v: F) -> f32 { return v; }
const UNIT = 1.0;
#endif

fn act(y: F) -> F {
#if SILU
  return y / (1.0 + exp(-y));
#else
  return y;
#endif
}

#if FUSED
@group(0) @binding(1) var<storage, read> x: array<TU>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<TU>;

var<workgroup> red: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let bg = wid.x + wid.y * nwg.x;
  if (bg >= p.bg) { return; } // uniform per workgroup: the barriers stay uniform
  let base = bg * p.lu;
  let k = first(F(x[base]));
  var acc = vec2<f32>(0.0);
  for (var i = lid; i < p.lu; i += WG) {
    let d = F(x[base + i]) - k;
    acc += vec2<f32>(hsum(d), hsum(d * d));
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off >>= 1u) {
    if (lid < off) { red[lid] += red[lid + off]; }
    workgroupBarrier();
  }
  let md = red[0].x / p.nl;
  let rstd = inverseSqrt(max(red[0].y / p.nl - md * md, 0.0) + p.eps);
  let mean = k + md;
  // Track (channel, unit in channel) of i incrementally: no integer division per element
  // (CPUs have no vector integer division).
  var c = (bg % p.groups) * p.cg + lid / p.su;
  var s = lid % p.su;
  let dc = WG / p.su;
  let ds = WG % p.su;
  for (var i = lid; i < p.lu; i += WG) {
    let sc = rstd * f32(w[c]);
    let sh = f32(b[c]) - mean * sc;
    out[base + i] = TU(act(F(x[base + i]) * sc + sh));
    s += ds;
    c += dc;
    if (s >= p.su) { s -= p.su; c++; }
  }
}
#endif

#if STATS
@group(0) @binding(1) var<storage, read> x: array<TU>;
@group(0) @binding(2) var<storage, read_write> part: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * WG + lid;
  let bg = wid.y + wid.z * 65535u;
  if (j >= p.parts || bg >= p.bg) { return; }
  let base = bg * p.lu;
  let k = first(F(x[base + j])); // parts <= lu, so unit j exists
  var s = 0.0;
  var q = 0.0;
  var n = 0u;
  for (var i = j; i < p.lu; i += p.parts) {
    let d = F(x[base + i]) - k;
    s += hsum(d);
    q += hsum(d * d);
    n++;
  }
  let cnt = f32(n) * UNIT;
  part[bg * p.parts + j] = vec4<f32>(cnt, k + s / cnt, max(q - s * s / cnt, 0.0), 0.0);
}
#endif

#if COMBINE
@group(0) @binding(1) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> stats: array<vec4<f32>>;

#include "lib/wg_sum"

// Parallel merge of (n_j, mean_j, M2_j): mean = sum n_j mean_j / N,
// M2 = sum M2_j + n_j (mean_j - mean)^2 (Chan et al.), two reductions.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let bg = wid.x + wid.y * nwg.x;
  if (bg >= p.bg) { return; }
  let base = bg * p.parts;
  var sm = 0.0;
  for (var j = lid; j < p.parts; j += WG) { let t = part[base + j]; sm += t.x * t.y; }
  let mean = wg_sum(sm, lid) / p.nl;
  var m2 = 0.0;
  for (var j = lid; j < p.parts; j += WG) { let t = part[base + j]; let d = t.y - mean; m2 += t.z + t.x * d * d; }
  let vr = wg_sum(m2, lid) / p.nl;
  if (lid == 0u) { stats[bg] = vec4<f32>(mean, inverseSqrt(vr + p.eps), 0.0, 0.0); }
}
#endif

#if NORM
@group(0) @binding(1) var<storage, read> x: array<TU>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<TU>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.total) { return; }
  let bc = i / p.su;
  let c = bc % p.c;
  let st = stats[(bc / p.c) * p.groups + c / p.cg];
  let sc = st.y * f32(w[c]);
  let sh = f32(b[c]) - st.x * sc;
  out[i] = TU(act(F(x[i]) * sc + sh));
}
#endif
