// Philox4x32-10 counter-based RNG (Salmon et al., SC'11; Random123 philox.h) and webtrain's
// rand/randn streams. Twin of src/random/philox.ts: the words and uniforms are bit-identical,
// the normals agree to ~1e-6 (f32 here, f64 there).
//
// Stream layout: element i of a tensor drawn with (seed, offset), each split into (lo, hi) u32 words:
//   counter = (i, offset.x, offset.y, 0), key = (seed.x, seed.y)
//   uniformAt = (w.x >> 8) * 2^-24                     in [0, 1), exact in f32
//   normalAt  = sqrt(-2 ln u1) * cos(2 pi u2)          Box-Muller, first output
//               u1 = ((w.x >> 8) + 1) * 2^-24 in (0, 1],  u2 = (w.y >> 8) * 2^-24 in [0, 1)
// No bindings here: a shader that uses these prepends this file.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
const PHILOX_TWO_POW_M24: f32 = 5.9604644775390625e-8; // 2^-24, exact

// Exact 32x32 -> 64-bit product, returned as (hi, lo). WGSL has no u64, so split into 16-bit halves:
// a*b = ah*bh*2^32 + (ah*bl + al*bh)*2^16 + al*bl; each partial sum below stays < 2^32.
fn mulhilo32(a: u32, b: u32) -> vec2<u32> {
  let ah = a >> 16u;
  let al = a & 0xffffu;
  let bh = b >> 16u;
  let bl = b & 0xffffu;
  let m1 = ah * bl + ((al * bl) >> 16u);
  let m2 = al * bh + (m1 & 0xffffu);
  return vec2<u32>(ah * bh + (m1 >> 16u) + (m2 >> 16u), a * b); // u32 multiply wraps: low word
}

// 10 rounds of (c0, c1, c2, c3) -> (hi1^c1^k0, lo1, hi0^c3^k1, lo0), hi0:lo0 = M0*c0, hi1:lo1 = M1*c2,
// with the key bumped by the Weyl constants (W0, W1) between rounds.
fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) {
      k += vec2<u32>(PHILOX_W0, PHILOX_W1);
    }
    let p0 = mulhilo32(PHILOX_M0, c.x);
    let p1 = mulhilo32(PHILOX_M1, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

fn uniformAt(i: u32, seed: vec2<u32>, offset: vec2<u32>) -> f32 {
  let w = philox4x32(vec4<u32>(i, offset.x, offset.y, 0u), seed);
  return f32(w.x >> 8u) * PHILOX_TWO_POW_M24;
}

fn normalAt(i: u32, seed: vec2<u32>, offset: vec2<u32>) -> f32 {
  let w = philox4x32(vec4<u32>(i, offset.x, offset.y, 0u), seed);
  let u1 = f32((w.x >> 8u) + 1u) * PHILOX_TWO_POW_M24; // exact: the integer is at most 2^24
  return sqrt(-2.0 * philoxLogUnit(u1)) * philoxCos2Pi(w.y >> 8u);
}

// ln(u) for u in (0, 1]. NOTE: WGSL only promises log to 2^-21 ABSOLUTE on [0.5, 2], which near
// u = 1 would swamp sqrt(-2 ln u) (ln u ~ 6e-8 there). So on [0.5, 1] use the series
// ln u = 2 atanh(s) = 2 s (1 + z/3 + z^2/5 + ... + z^7/15), s = (u-1)/(u+1), z = s^2 <= 1/9
// (u - 1 is exact; truncation ~1e-9 relative); below 0.5 builtin log is 3 ulp relative.
fn philoxLogUnit(u: f32) -> f32 {
  if (u < 0.5) {
    return log(u);
  }
  let s = (u - 1.0) / (u + 1.0);
  let z = s * s;
  let p = 1.0 + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0
        + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0)))))));
  return 2.0 * s * p;
}

// cos(2 pi k 2^-24) for k < 2^24, with exact range reduction (WGSL only promises cos to 2^-11
// absolute): n = nearest quarter turn, t = k 2^-24 - n/4 in [-1/8, 1/8] exactly, x = 2 pi t in
// [-pi/4, pi/4], then cos(x + n pi/2) from the Taylor series of cos x (to x^10) and sin x (to x^9),
// truncation < 2e-9.
fn philoxCos2Pi(k: u32) -> f32 {
  let n = (k + 0x200000u) >> 22u;
  let x = f32(i32(k) - i32(n << 22u)) * PHILOX_TWO_POW_M24 * 6.283185307179586;
  let z = x * x;
  let c = 1.0 + z * (-1.0 / 2.0 + z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0
        + z * (-1.0 / 3628800.0)))));
  let s = x * (1.0 + z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0)))));
  switch (n & 3u) {
    case 1u: { return -s; }
    case 2u: { return -c; }
    case 3u: { return s; }
    default: { return c; }
  }
}
