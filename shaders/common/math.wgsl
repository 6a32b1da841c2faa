// Real power with PyTorch's results where WGSL's pow is undefined: pow(x, y) = exp2(y * log2(x))
// is NaN for x < 0 and for 0^0. Negative bases with integer exponents get the sign of (-1)^y.
fn powReal(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    return 1.0;
  }
  if (x == 0.0) {
    // exp2(y * log2(0)) is not exactly 0 on every adapter (SwiftShader: 7.7e-20 for 0^0.5).
    var infBits = 0x7f800000u;
    return select(0.0, bitcast<f32>(infBits), y < 0.0);
  }
  if (x > 0.0) {
    return pow(x, y);
  }
  if (y != floor(y)) {
    // NaN, as in PyTorch. A var, not a literal: constant NaN is a WGSL compile error.
    var nanBits = 0x7fc00000u;
    return bitcast<f32>(nanBits);
  }
  let m = pow(-x, y);
  let odd = (i32(abs(y)) & 1) == 1;
  return select(m, -m, odd);
}

// ln x with IEEE results where WGSL's log is undefined: -Inf at 0 and NaN below 0 (SwiftShader's
// log returns log|x| for x < 0, and -88 at 0, where the CPU gives NaN and -Inf).
fn logReal(x: f32) -> f32 {
  if (x > 0.0) {
    return log(x);
  }
  // Vars, not literals: a constant NaN or Inf is a WGSL compile error.
  var negInfBits = 0xff800000u;
  var nanBits = 0x7fc00000u;
  return select(bitcast<f32>(nanBits), bitcast<f32>(negInfBits), x == 0.0);
}
