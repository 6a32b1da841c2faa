/**
 * Digits for the lab's image experiments (adversarial examples, memorization, double descent):
 * 28×28 grey images in [0, 1], 10 classes, from (in order of preference) arrays the caller passes
 * (a browser page bundles a subset of MNIST), the real MNIST digits of wt.data.mnist (Node, Deno),
 * or a synthetic fallback: seven-segment digits drawn with random position, size, stroke width and
 * pixel noise, so every experiment also runs where no digits are available. Results say which.
 */
import { WebtrainError } from '../errors';
import { Dataset } from '../data/dataset';
import { mnistArrays } from '../data/mnist';
import { Rng } from '../data/rng';
import type { BackendName } from '../backend/backend';

/** Images [N, 784] row-major in [0, 1] and their labels 0..9. */
export interface DigitArrays {
  images: Float32Array;
  labels: Int32Array;
}

/** Where digits come from: 'auto' (the arrays given, else MNIST when it loads, else synthetic), or one of them. */
export const DIGIT_SOURCES = ['auto', 'mnist', 'synthetic'] as const;
export type DigitSource = (typeof DIGIT_SOURCES)[number];

export const DIGIT_SIDE = 28;
export const DIGIT_PIXELS = DIGIT_SIDE * DIGIT_SIDE;

/** Train and test sets drawn without overlap from the chosen source, and a note of which source it was. */
export interface Digits {
  train: { images: Float32Array; labels: Int32Array };
  test: { images: Float32Array; labels: Int32Array };
  /** 'given arrays', 'MNIST' or 'synthetic seven-segment digits (...)'. */
  source: string;
}

/**
 * `n` training and `nTest` test digits (host arrays), a seeded draw without overlap. With
 * source 'mnist' a failed load is an error; 'auto' falls back to synthetic digits and says why.
 */
export async function loadDigits(source: string, o: { n: number; nTest: number; seed: number; given?: DigitArrays }): Promise<Digits> {
  if (!(DIGIT_SOURCES as readonly string[]).includes(source)) throw new WebtrainError(`lab: unknown digit source '${source}' (expected ${DIGIT_SOURCES.join(', ')})`);
  let pool: DigitArrays | null = null;
  let name = '';
  if (o.given && source !== 'synthetic') {
    checkArrays(o.given);
    pool = o.given;
    name = 'given arrays';
  } else if (source !== 'synthetic') {
    try {
      pool = await mnistArrays();
      name = 'MNIST';
    } catch (e) {
      if (source === 'mnist') throw e;
      name = `synthetic seven-segment digits (MNIST not available here: ${(e as Error).message.split('\n')[0].slice(0, 120)})`;
    }
  } else {
    name = 'synthetic seven-segment digits';
  }
  const total = o.n + o.nTest;
  const rng = new Rng(o.seed, 0xd161);
  if (!pool) pool = syntheticDigits(total, rng);
  const count = pool.labels.length;
  if (count < total) throw new WebtrainError(`lab: asked for ${o.n} + ${o.nTest} digits, the source has ${count}`);
  // A seeded partial Fisher–Yates shuffle: the first `total` positions are a uniform draw without repeats.
  const idx = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = 0; i < total; i++) {
    const j = i + rng.int(count - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const take = (from: number, to: number) => {
    const images = new Float32Array((to - from) * DIGIT_PIXELS);
    const labels = new Int32Array(to - from);
    for (let r = from; r < to; r++) {
      images.set(pool!.images.subarray(idx[r] * DIGIT_PIXELS, (idx[r] + 1) * DIGIT_PIXELS), (r - from) * DIGIT_PIXELS);
      labels[r - from] = pool!.labels[idx[r]];
    }
    return { images, labels };
  };
  return { train: take(0, o.n), test: take(o.n, total), source: name };
}

/** A Dataset of digits (x f32 [N, 784], y i32 [N]) on a backend. */
export function digitDataset(d: { images: Float32Array; labels: Int32Array }, backend: BackendName): Dataset {
  return Dataset.fromArrays({ x: d.images, xShape: [d.labels.length, DIGIT_PIXELS], y: d.labels, backend });
}

// Segments a (top), b (top right), c (bottom right), d (bottom), e (bottom left), f (top left), g (middle).
const SEGMENTS = ['abcdef', 'bc', 'abged', 'abgcd', 'fgbc', 'afgcd', 'afgedc', 'abc', 'abcdefg', 'abcdfg'];

/** `n` seven-segment digits (classes in turn), each drawn at a random place, size and stroke, with noise. */
export function syntheticDigits(n: number, rng: Rng): DigitArrays {
  const images = new Float32Array(n * DIGIT_PIXELS);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const digit = k % 10;
    labels[k] = digit;
    const w = 9 + rng.int(5); // box width 9..13
    const h = 15 + rng.int(5); // box height 15..19
    const x0 = 4 + rng.int(DIGIT_SIDE - 8 - w);
    const y0 = 3 + rng.int(DIGIT_SIDE - 6 - h);
    const t = 2 + rng.int(2); // stroke 2..3
    const slant = (rng.uniform() - 0.5) * 0.3;
    const ym = y0 + Math.floor(h / 2);
    const rects: Record<string, [number, number, number, number]> = { // [x, y, width, height]
      a: [x0, y0, w, t], g: [x0, ym - (t >> 1), w, t], d: [x0, y0 + h - t, w, t],
      f: [x0, y0, t, ym - y0 + 1], b: [x0 + w - t, y0, t, ym - y0 + 1],
      e: [x0, ym, t, y0 + h - ym], c: [x0 + w - t, ym, t, y0 + h - ym],
    };
    const img = images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS);
    for (const s of SEGMENTS[digit]) {
      const [rx, ry, rw, rh] = rects[s];
      for (let yy = ry; yy < ry + rh; yy++) {
        const shift = Math.round(slant * (ym - yy));
        for (let xx = rx; xx < rx + rw; xx++) {
          const px = xx + shift;
          if (px >= 0 && px < DIGIT_SIDE && yy >= 0 && yy < DIGIT_SIDE) img[yy * DIGIT_SIDE + px] = 0.7 + 0.3 * rng.uniform();
        }
      }
    }
    for (let i = 0; i < DIGIT_PIXELS; i++) img[i] = Math.min(1, Math.max(0, img[i] + 0.08 * rng.normal()));
  }
  return { images, labels };
}

function checkArrays(d: DigitArrays): void {
  if (!(d.images instanceof Float32Array) || !(d.labels instanceof Int32Array) || d.images.length !== d.labels.length * DIGIT_PIXELS) {
    throw new WebtrainError(`lab: digits must be {images: Float32Array of N·784 values in [0, 1], labels: Int32Array of N}, got ${d.images?.length} values for ${d.labels?.length} labels`);
  }
}
