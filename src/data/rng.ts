/**
 * The host-side random stream of wt.data: shuffles, splits, synthetic points and mixup weights are
 * drawn on the CPU (they are small), so the same seed gives the same numbers whatever backend holds
 * the tensors. Built on the library's Philox4x32-10 (src/random/philox.ts).
 */
import { rngState, setRngState } from '../create';
import { WebtrainError } from '../errors';
import { philox4x32, splitU53 } from '../random/philox';

/**
 * Counter word 3 of every data stream. wt.rand uses counters (i, offsetLo, offsetHi, 0), so a data
 * stream never replays the numbers of a tensor drawn with the same seed.
 */
const DATA_TAG = 0x64617461; // 'data'
const TWO_POW_M53 = 1 / 2 ** 53;

/** A seeded stream of u32 words: Philox blocks with counter (block, 0, stream, DATA_TAG). */
export class Rng {
  private readonly key: [number, number];
  private readonly stream: number;
  private block = 0;
  private words: Uint32Array = new Uint32Array(4);
  private used = 4;
  private spareNormal: number | null = null;

  /** `stream` separates independent uses of one seed (e.g. the x and y noise of a generator). */
  constructor(seed: number, stream = 0) {
    this.key = splitU53(seed);
    this.stream = stream >>> 0;
  }

  u32(): number {
    if (this.used === 4) {
      this.words = philox4x32([this.block >>> 0, Math.floor(this.block / 2 ** 32) >>> 0, this.stream, DATA_TAG], this.key);
      this.block++;
      this.used = 0;
    }
    return this.words[this.used++];
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) * TWO_POW_M53;
  }

  /** Uniform integer in [0, n) (n < 2^32; the bias of flooring a 53-bit uniform is below 2^-21). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal, Box–Muller (both outputs used: z0 = r cos θ, then z1 = r sin θ). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform())); // 1 - u ∈ (0, 1]: log is finite
    const t = 2 * Math.PI * this.uniform();
    this.spareNormal = r * Math.sin(t);
    return r * Math.cos(t);
  }

  /**
   * Gamma(shape, 1) by Marsaglia and Tsang, "A simple method for generating gamma variables" (2000):
   * d = shape - 1/3, c = 1/sqrt(9d); repeat z ~ N(0,1), v = (1 + cz)^3 until v > 0 and
   * ln u < z²/2 + d - dv + d ln v; return dv. For shape < 1: Gamma(shape + 1) · u^(1/shape).
   */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.uniform(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const z = this.normal();
      const v = (1 + c * z) ** 3;
      if (v <= 0) continue;
      const u = 1 - this.uniform();
      if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x + y > 0 ? x / (x + y) : 0.5; // both underflow only for tiny shapes; the limit is symmetric
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates, from the last position down). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Shuffles `a` in place (Fisher–Yates). */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/**
 * A seed for a draw the caller did not seed: the next value of the global generator (wt.seed), so
 * successive calls differ (each epoch gets a new order) and a run replays after wt.seed(s). It is the
 * word a one-element wt.rand would use, and it advances the generator by one element as that would.
 */
export function drawSeed(): number {
  const s = rngState();
  setRngState({ seed: s.seed, offset: s.offset + 1 });
  const [lo, hi] = splitU53(s.offset);
  return philox4x32([0, lo, hi, 0], splitU53(s.seed))[0];
}

/** The caller's seed (checked) or one drawn from the global generator. */
export function seedOrDraw(where: string, seed: number | undefined): number {
  if (seed === undefined) return drawSeed();
  if (!Number.isSafeInteger(seed) || seed < 0) throw new WebtrainError(`${where}: seed must be a non-negative integer, got ${seed}`);
  return seed;
}
