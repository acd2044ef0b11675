// Shared by unary.wgsl and geglu.wgsl (#include "lib/erf"); the includer defines
// `alias F` (f32 or vec4<f32>).
// erfc(z) for z >= 0 with relative error < 1.2e-7 (Chebyshev fit, Numerical Recipes' erfcc).
// Relative accuracy in the tail keeps gelu(x) accurate for large negative x.
fn erfc_pos(z: F) -> F {
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(r);
}

// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), through erfc so negative x keeps its precision.
fn gelu_erf(v: F) -> F {
  let q = erfc_pos(abs(v) * 0.7071067811865476);
  return 0.5 * v * select(2.0 - q, q, v < F(0.0));
}
