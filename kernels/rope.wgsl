// rope: rotary position embedding of packed heads, interleaved pairs (FLUX's
// apply_rotary_emb: use_real, unbind_dim -1), computed in f32 for every head of token n:
//   out[2j]   = x[2j]   * cos[n, 2j]   - x[2j+1] * sin[n, 2j]
//   out[2j+1] = x[2j+1] * cos[n, 2j+1] + x[2j]   * sin[n, 2j+1]
// Layout: x, out [B, N, H*D] contiguous (D even); cos, sin [N, D] f32 (one row per token,
// shared by the batch and the heads). One invocation per pair. No variants.

struct Params { pairs: u32, n: u32, hd: u32, d: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read> sin_t: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.pairs) { return; }
  let e = 2u * i;
  let tok = (e / p.hd) % p.n;
  let t = tok * p.d + (e % p.hd) % p.d;
  let a = f32(x[e]);
  let b = f32(x[e + 1u]);
  out[e] = T(a * cos_t[t] - b * sin_t[t]);
  out[e + 1u] = T(b * cos_t[t + 1u] + a * sin_t[t + 1u]);
}
