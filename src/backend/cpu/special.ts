/**
 * Special functions for the float64 CPU reference backend.
 *
 * The GPU counterparts live in shaders/common/special.wgsl (f32, ~1e-7); this file is the reference
 * they are tested against, so it aims at ~1e-16 absolute.
 */

/** Switch point between the power series and the continued fraction (see {@link erf}). */
const SERIES_LIMIT = 3;
const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π

/**
 * The error function erf(x) = 2/√π ∫₀ˣ e^{-t²} dt, to ~1e-16 absolute for every float64 x.
 *
 * - |x| < 3: the series without cancellation (Abramowitz–Stegun 7.1.6)
 *     erf(x) = 2/√π · e^{-x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1)),
 *   all terms positive, so the relative error stays a few ulps (the alternating Taylor series
 *   would lose ~2 digits to cancellation at |x| = 3).
 * - |x| ≥ 3: erfc from its continued fraction (A&S 7.1.14, evaluated with the modified Lentz method)
 *     erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 *   which converges fast there; erfc(3) ≈ 2e-5, so its relative error barely shows in erf = 1 - erfc.
 * Both pieces are accurate to a few 1e-17 near the switch, so finite differences across it stay smooth.
 * erf(±∞) = ±1, erf(NaN) = NaN, erf(-0) = -0.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < SERIES_LIMIT) return x * TWO_OVER_SQRT_PI * Math.exp(-x * x) * seriesSum(x * x);
  if (a > 6) return Math.sign(x); // erfc(6) ≈ 2e-17 < ulp(1)/2: 1 - erfc rounds to 1
  const r = 1 - ONE_OVER_SQRT_PI * Math.exp(-a * a) * erfcFraction(a);
  return x < 0 ? -r : r;
}

/** Σ 2ⁿ x^{2n} / (1·3···(2n+1)) for s = x²: term_{n} = term_{n-1} · 2s / (2n+1). */
function seriesSum(s: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 200; n++) {
    term *= (2 * s) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** 1/(x + a₁/(x + a₂/(x + ...))) with aₙ = n/2, by the modified Lentz method (Numerical Recipes §5.2). */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = x + an * d;
    d = 1 / (d === 0 ? tiny : d);
    c = x + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}
