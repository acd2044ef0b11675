// unary: out[i] = f(x[i]), f chosen by one define:
//   SCALE      x * s + bias
//   SILU       x * sigmoid(x)
//   GELU       0.5 x (1 + erf(x / sqrt 2))          (exact GELU, torch approximate='none')
//   GELU_TANH  0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))   (gelu_new / gelu_pytorch_tanh)
//   QUICK_GELU x * sigmoid(1.702 x)                 (CLIP quick_gelu)
//   RELU       max(x, 0)
//   TANH       tanh(x) from exp(-2|x|): finite for every input (no exp overflow)
//   CLAMP      min(max(x, -s), s)                   (torch clip; maps +-inf to +-s)
// VEC4: numel % 4 == 0, each invocation does one vec4 (p.n counts vec4s). Math in f32.
// Layout: contiguous x and out of the same shape. Linear workgroup id spans x and y (grid1d).

struct Params { n: u32, s: f32, bias: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
#if VEC4
alias F = vec4<f32>;
@group(0) @binding(1) var<storage, read> x: array<V4>;
@group(0) @binding(2) var<storage, read_write> out: array<V4>;
#else
alias F = f32;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
#endif

override WG: u32 = 256;

#include "lib/grid"

#include "lib/erf"

fn f(v: F) -> F {
#if SCALE
  return v * p.s + p.bias;
#endif
#if SILU
  return v / (1.0 + exp(-v));
#endif
#if QUICK_GELU
  return v / (1.0 + exp(-1.702 * v));
#endif
#if GELU_TANH
  // 0.5 (1 + tanh(u)) = sigmoid(2u): no cancellation and no overflowing tanh.
  let u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  return v / (1.0 + exp(-2.0 * u));
#endif
#if GELU
  return gelu_erf(v);
#endif
#if RELU
  return max(v, F(0.0));
#endif
#if TANH
  let e = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - e) / (1.0 + e);
#endif
#if CLAMP
  return clamp(v, F(-p.s), F(p.s));
#endif
}

@compute @workgroup_size(WG)
fn main(g: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = invocationIndex(g, lid);
  if (i >= p.n) { return; }
#if VEC4
  out[i] = V4(f(vec4<f32>(x[i])));
#else
  out[i] = T(f(f32(x[i])));
#endif
}
