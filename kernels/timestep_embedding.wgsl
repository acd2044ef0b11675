// timestep_embedding: out[n, :] = diffusers get_timestep_embedding(t)[n]:
//   arg_k = t[n] * scale * exp(-ln(max_period) k / (half - shift)),  k < half = dim / 2
//   out = [sin(arg), cos(arg)] (FLIP: [cos, sin]), plus one zero column when dim is odd.
// Accuracy: arguments reach ~1000 rad, where an f32 product alone is off by ~1e-4 rad. The
// frequencies come precomputed in float64 as cycles per unit t, c_k = scale*freq_k/(2 pi),
// split hi + lo (hi with 12 significant bits); t is split the same way, so t_hi*c_hi is exact
// and its fractional part loses nothing. sin/cos then see an angle in [-pi, pi].
// Layout: t [N] (f32 when TF32, else T), tab [half, 2] u32 = f32 bits of (c_hi, c_lo), out [N, dim].

struct Params { total: u32, dim: u32, half: u32, flip: u32 }

@group(0) @binding(0) var<uniform> p: Params;
#if TF32
@group(0) @binding(1) var<storage, read> t: array<f32>;
#else
@group(0) @binding(1) var<storage, read> t: array<T>;
#endif
@group(0) @binding(2) var<storage, read> tab: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

override WG: u32 = 256;

#include "lib/grid"

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.total) { return; }
  let n = i / p.dim;
  let j = i % p.dim;
  if (j >= 2u * p.half) { out[i] = T(0.0); return; }
  let first = j < p.half;
  let k = select(j - p.half, j, first);
  let ch = bitcast<f32>(tab[2u * k]);
  let cl = bitcast<f32>(tab[2u * k + 1u]);
  let tv = f32(t[n]);
  let th = bitcast<f32>(bitcast<u32>(tv) & 0xfffff000u);
  let tl = tv - th;
  var r = fract(th * ch) + (th * cl + tl * ch + tl * cl);
  r -= round(r);
  let ang = r * 6.283185307179586;
  let use_sin = first != (p.flip != 0u);
  out[i] = T(select(cos(ang), sin(ang), use_sin));
}
