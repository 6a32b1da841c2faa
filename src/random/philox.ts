/**
 * Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror, Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11; reference code: Random123, philox.h). The WGSL twin is
 * shaders/common/philox.wgsl; both must produce the same bits, so everything here is exact integer
 * arithmetic on u32 words.
 *
 * Stream layout used by webtrain's rand / randn (and any op that draws random numbers):
 *   element i of a tensor drawn with (seed, offset), where seed and offset are integers in [0, 2^53),
 *   uses one Philox block:
 *       counter = (i, offsetLo, offsetHi, 0)      key = (seedLo, seedHi)
 *   with xLo = x mod 2^32 and xHi = floor(x / 2^32). So a tensor is one contiguous run of counters,
 *   and draws with consecutive offsets never overlap (each offset owns 2^32 counters).
 *   uniformAt(i) = (word0 >>> 8) * 2^-24                        in [0, 1), exact in f32
 *   normalAt(i)  = sqrt(-2 ln u1) * cos(2π u2)                  (Box–Muller, first output only)
 *                  u1 = ((word0 >>> 8) + 1) * 2^-24 in (0, 1]  (never 0, so ln is finite)
 *                  u2 = (word1 >>> 8) * 2^-24 in [0, 1)
 * Here the formulas run in float64; the GPU evaluates them in f32 (within ~1e-6 of these values).
 */

// Multipliers and Weyl key increments from Random123 (PHILOX_M4x32_0/1, PHILOX_W32_0/1).
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const TWO_POW_M24 = 1 / 16777216;

/**
 * One Philox4x32 block with 10 rounds: a bijection of the 128-bit counter keyed by the 64-bit key.
 * Counter and key words are taken mod 2^32. Returns the 4 output words.
 */
export function philox4x32(
  counter: readonly [number, number, number, number] | Uint32Array,
  key: readonly [number, number] | Uint32Array,
): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      // Key schedule (philox4x32bumpkey): Weyl sequence, between rounds.
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    // Round (philox4x32round): (c0, c1, c2, c3) -> (hi1^c1^k0, lo1, hi0^c3^k1, lo0)
    // with hi0:lo0 = M0 * c0 and hi1:lo1 = M1 * c2.
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** Uniform in [0, 1) for element i of the stream (seed, offset); see the layout at the top. */
export function uniformAt(i: number, seed: number, offset: number): number {
  return uniformOf(stream(seed, offset)(i));
}

/** Standard normal for element i of the stream (seed, offset), by Box–Muller; see the top. */
export function normalAt(i: number, seed: number, offset: number): number {
  return normalOf(stream(seed, offset)(i));
}

/** out[i] = low + (high - low) * uniformAt(i, seed, offset). */
export function fillUniform<T extends Float32Array | Float64Array>(
  out: T,
  seed: number,
  offset: number,
  low = 0,
  high = 1,
): T {
  const words = stream(seed, offset);
  for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * uniformOf(words(i));
  return out;
}

/** out[i] = mean + std * normalAt(i, seed, offset). */
export function fillNormal<T extends Float32Array | Float64Array>(
  out: T,
  seed: number,
  offset: number,
  mean = 0,
  std = 1,
): T {
  const words = stream(seed, offset);
  for (let i = 0; i < out.length; i++) out[i] = mean + std * normalOf(words(i));
  return out;
}

/** Splits an integer in [0, 2^53) into its low and high u32 words. */
export function splitU53(x: number): [number, number] {
  if (!Number.isSafeInteger(x) || x < 0) {
    throw new RangeError(`philox: seed/offset must be an integer in [0, 2^53), got ${x}`);
  }
  return [x >>> 0, Math.floor(x / TWO_POW_32) >>> 0];
}

/** The Philox block of element i of the stream (seed, offset): counter (i, offLo, offHi, 0). */
function stream(seed: number, offset: number): (i: number) => Uint32Array {
  const key = splitU53(seed);
  const [oLo, oHi] = splitU53(offset);
  return (i) => philox4x32([i, oLo, oHi, 0], key);
}

function uniformOf(w: Uint32Array): number {
  return (w[0] >>> 8) * TWO_POW_M24;
}

function normalOf(w: Uint32Array): number {
  const u1 = ((w[0] >>> 8) + 1) * TWO_POW_M24;
  const u2 = (w[1] >>> 8) * TWO_POW_M24;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * High 32 bits of the 64-bit product a*b of two u32, exactly: a*b itself can reach 2^64, beyond the
 * 2^53 a float64 holds, so split into 16-bit halves (a = ah*2^16 + al) like the WGSL version:
 *   a*b = ah*bh*2^32 + (ah*bl + al*bh)*2^16 + al*bl.
 * Every partial sum below stays < 2^32 (e.g. ah*bl + (al*bl >>> 16) <= (2^16-1)^2 + 2^16-1 < 2^32).
 */
function mulhi32(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const bh = b >>> 16;
  const bl = b & 0xffff;
  const m1 = ah * bl + ((al * bl) >>> 16);
  const m2 = al * bh + (m1 & 0xffff);
  return (ah * bh + Math.floor(m1 / 65536) + Math.floor(m2 / 65536)) >>> 0;
}
