// The output binding of an op whose values may get a residual added as they are stored
// (conv2d's `residual`: every variant stores through put()). The host sets OUT_BINDING and,
// with RES, RES_BINDING (the residual: a tensor of the output's shape and type).
#if RES
@group(0) @binding(RES_BINDING) var<storage, read> res: array<T>;
#endif
@group(0) @binding(OUT_BINDING) var<storage, read_write> out: array<T>;

// Stores v (+ the residual at the same index) at out[i].
fn put(i: u32, v: f32) {
#if RES
  out[i] = T(v + f32(res[i]));
#else
  out[i] = T(v);
#endif
}
