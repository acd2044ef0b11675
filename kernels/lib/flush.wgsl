// The softmax weights' shared rules (lib/flash, scores): a finite floor for scores, so -inf
// ones give weight exp(-inf) = 0 and never NaN, and exp flushed to 0 below -60: weights under
// e^-60 of the row maximum change nothing in f32, and the denormals they would make run ~100x
// slower on CPU adapters.
const NEG = -3.4028234e38;

// exp(x) for x <= 0, but 0 below -60.
fn flushExp(x: f32) -> f32 { return select(0.0, exp(x), x > -60.0); }
fn flushExp4(x: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), exp(x), x > vec4<f32>(-60.0)); }
