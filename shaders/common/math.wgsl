// Real power with PyTorch's results where WGSL's pow is undefined: pow(x, y) = exp2(y * log2(x))
// is NaN for x < 0 and for 0^0. Negative bases with integer exponents get the sign of (-1)^y.
fn powReal(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    return 1.0;
  }
  if (x >= 0.0) {
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
