// Special functions in f32, twins of src/backend/cpu/special.ts and Math.* (tested against them in
// test/philox.test.ts). No bindings: a shader that uses these prepends this file.

// erf(x) to ~1e-7 absolute (8.3e-8 measured in emulated f32 against the f64 reference, on a
// 2e6-point grid of [0, 5]; the two pieces below meet within that at |x| = 0.9).
// Coefficients: our own weighted minimax fits (Lawson-iterated least squares on Chebyshev nodes,
// rounded to f32), using the split of N. Juffa's erff: for |x| <= 0.9, erf x = x + x p(x^2) with
// p(s) ~ erf(sqrt s)/sqrt s - 1; for 0.9 < |x| < 3.95, erf |x| = 1 - exp(q(|x|)) with
// q(t) ~ ln erfc(t), fitted for absolute error in erf; beyond 3.95, erf rounds to +-1 in f32.
fn erfApprox(x: f32) -> f32 {
  let t = abs(x);
  if (t <= 0.9) {
    let s = x * x;
    let p = 0.128379151 + s * (-0.376125246 + s * (0.112821408 + s * (-0.0267789084
          + s * (0.00501196226 + s * -0.000609035720))));
    return x + x * p;
  }
  if (t >= 3.95) {
    return sign(x);
  }
  let q = 0.000376908429 + t * (-1.13065016 + t * (-0.630614877 + t * (-0.111957572
        + t * (0.0281452835 + t * (-0.00572818564 + t * (0.000923523272 + t * (-0.000106757594
        + t * 0.00000640364215)))))));
  return sign(x) * (1.0 - exp(q));
}

// tanh without NaN: NOTE: builtin tanh returns NaN for |x| > ~44 on some drivers (exp overflow in
// (e^2x - 1)/(e^2x + 1)), and may lose relative precision near 0.
// |x| < 0.5: Taylor series tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - 1382x^11/155925
//   + 21844x^13/6081075 - 929569x^15/638512875 (truncation ~1e-8 relative at 0.5);
// else sign(x) (1 - e)/(1 + e) with e = exp(-2|x|) in (0, 0.37], which cannot overflow.
fn tanhSafe(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let z = x * x;
    let p = -1.0 / 3.0 + z * (2.0 / 15.0 + z * (-17.0 / 315.0 + z * (62.0 / 2835.0
          + z * (-1382.0 / 155925.0 + z * (21844.0 / 6081075.0 + z * (-929569.0 / 638512875.0))))));
    return x + x * (z * p);
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}

// ln(x) with relative precision near x = 1. NOTE: WGSL only promises log to 2^-21 absolute on
// [0.5, 2]; there use ln x = 2 atanh(s) = 2 s (1 + z/3 + ... + z^7/15), s = (x-1)/(x+1), z = s^2 <= 1/9
// (x - 1 exact by Sterbenz, truncation ~1e-9 relative); elsewhere builtin log (3 ulp).
fn logAccurate(x: f32) -> f32 {
  if (x < 0.5 || x > 2.0) {
    return log(x);
  }
  let s = (x - 1.0) / (x + 1.0);
  let z = s * s;
  let p = 1.0 + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0
        + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0)))))));
  return 2.0 * s * p;
}

// log(1 + u) accurate for tiny u (Goldberg, "What every computer scientist should know about
// floating-point arithmetic", 1991, Theorem 4): w = 1 + u; log(w) * u / (w - 1) cancels the
// rounding of 1 + u. ln(w) comes from logAccurate, as the trick needs log(w) accurate near 1.
fn log1pSafe(u: f32) -> f32 {
  let w = 1.0 + u;
  if (w == 1.0 || isNanOrInf(w)) {
    return select(w, u, w == 1.0); // u when 1 + u rounds to 1; w for u = +inf or NaN
  }
  return logAccurate(w) * u / (w - 1.0);
}

// NaN/Inf tests on the bits: WGSL may assume no NaN, so x != x can be optimized away.
fn isNanOrInf(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u;
}

fn isNan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
