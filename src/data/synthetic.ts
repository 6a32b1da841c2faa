/**
 * The classic 2-D classification sets of the in-browser neural-network demos (ConvNetJS, the
 * TensorFlow Playground, CS231n) and scikit-learn's generators, seeded. Each returns a Dataset with
 * x f32 [N, 2] (blobs: [N, dim]) and y i32 [N], exactly `n` examples per class, stored class by class
 * (batches() shuffles). Noise is Gaussian: each coordinate gets noise · N(0, 1).
 * Without a seed, one is drawn from the global generator (wt.seed), like wt.randn.
 */
import type { BackendName } from '../backend/backend';
import { WebtrainError } from '../errors';
import { checkOptions } from '../nn/options';
import { Dataset } from './dataset';
import { Rng, seedOrDraw } from './rng';

/** Options shared by the 2-D generators. */
export interface SyntheticOptions {
  /** Examples per class (default 200; blobs 100). */
  n?: number;
  /** Standard deviation of the Gaussian noise added to each coordinate (default 0.1). */
  noise?: number;
  seed?: number;
  /** Which backend holds the tensors (default: the one wt.init chose). */
  backend?: BackendName;
}

/** Options of spirals. */
export interface SpiralsOptions extends SyntheticOptions {
  /** Number of arms, one class each (default 2). */
  classes?: number;
}

/**
 * Interleaved spiral arms (TensorFlow Playground / CS231n). Class c, point i of n:
 *   r = i / n,  θ = 2πc / classes + 1.75 · 2π · r,  x = r (sin θ, cos θ) + noise · ε.
 * Each arm winds 1.75 turns from the origin out to radius 1.
 */
export function spirals(opts: SpiralsOptions = {}): Dataset {
  checkOptions('spirals', opts, ['n', 'classes', 'noise', 'seed', 'backend']);
  const { n = 200, classes = 2, noise = 0.1 } = opts;
  checkCommon('spirals', n, noise, classes);
  const rng = new Rng(seedOrDraw('spirals', opts.seed));
  return build(opts, n, classes, 2, (c, i, out) => {
    const r = i / n;
    const t = (2 * Math.PI * c) / classes + 1.75 * 2 * Math.PI * r;
    out[0] = r * Math.sin(t) + noise * rng.normal();
    out[1] = r * Math.cos(t) + noise * rng.normal();
  });
}

/**
 * Two interleaving half circles, as scikit-learn's make_moons. Point i of n, t = π i / (n - 1):
 *   class 0: (cos t, sin t),   class 1: (1 - cos t, 1/2 - sin t),   plus noise · ε.
 */
export function moons(opts: SyntheticOptions = {}): Dataset {
  checkOptions('moons', opts, ['n', 'noise', 'seed', 'backend']);
  const { n = 200, noise = 0.1 } = opts;
  checkCommon('moons', n, noise, 2);
  const rng = new Rng(seedOrDraw('moons', opts.seed));
  return build(opts, n, 2, 2, (c, i, out) => {
    const t = n > 1 ? (Math.PI * i) / (n - 1) : 0;
    out[0] = (c === 0 ? Math.cos(t) : 1 - Math.cos(t)) + noise * rng.normal();
    out[1] = (c === 0 ? Math.sin(t) : 0.5 - Math.sin(t)) + noise * rng.normal();
  });
}

/** Options of circles. */
export interface CirclesOptions extends SyntheticOptions {
  /** Radius of the inner circle relative to the outer one (default 0.5). */
  factor?: number;
}

/**
 * Two concentric circles, as scikit-learn's make_circles. Point i of n, t = 2π i / n:
 *   class 0 (outer): (cos t, sin t),   class 1 (inner): factor · (cos t, sin t),   plus noise · ε.
 */
export function circles(opts: CirclesOptions = {}): Dataset {
  checkOptions('circles', opts, ['n', 'noise', 'factor', 'seed', 'backend']);
  const { n = 200, noise = 0.1, factor = 0.5 } = opts;
  checkCommon('circles', n, noise, 2);
  if (!(factor > 0 && factor < 1)) throw new WebtrainError(`circles: factor must be in (0, 1), got ${factor}`);
  const rng = new Rng(seedOrDraw('circles', opts.seed));
  return build(opts, n, 2, 2, (c, i, out) => {
    const t = (2 * Math.PI * i) / n;
    const r = c === 0 ? 1 : factor;
    out[0] = r * Math.cos(t) + noise * rng.normal();
    out[1] = r * Math.sin(t) + noise * rng.normal();
  });
}

/** Options of blobs. */
export interface BlobsOptions {
  /** Examples per class (default 100). */
  n?: number;
  /** Number of blobs, one class each (default 3). */
  classes?: number;
  /** Dimension of the points (default 2). */
  dim?: number;
  /** Standard deviation of each blob (default 1). */
  spread?: number;
  /** Centers are drawn uniformly in [-box, box]^dim (default 10, as scikit-learn's make_blobs). */
  box?: number;
  seed?: number;
  backend?: BackendName;
}

/**
 * Isotropic Gaussian blobs, as scikit-learn's make_blobs: center μ_c ~ U[-box, box]^dim per class,
 * then x = μ_c + spread · ε.
 */
export function blobs(opts: BlobsOptions = {}): Dataset {
  checkOptions('blobs', opts, ['n', 'classes', 'dim', 'spread', 'box', 'seed', 'backend']);
  const { n = 100, classes = 3, dim = 2, spread = 1, box = 10 } = opts;
  checkCommon('blobs', n, spread, classes, 'spread');
  if (!Number.isInteger(dim) || dim < 1) throw new WebtrainError(`blobs: dim must be a positive integer, got ${dim}`);
  if (!(box >= 0)) throw new WebtrainError(`blobs: box must be >= 0, got ${box}`);
  const rng = new Rng(seedOrDraw('blobs', opts.seed));
  const centers = Array.from({ length: classes }, () => Array.from({ length: dim }, () => box * (2 * rng.uniform() - 1)));
  return build(opts, n, classes, dim, (c, _i, out) => {
    for (let d = 0; d < dim; d++) out[d] = centers[c][d] + spread * rng.normal();
  });
}

/**
 * The XOR problem (TensorFlow Playground): points in the quadrants of [-1, 1]², the class the XOR of
 * the coordinates' signs. Class 0 (same signs) alternates between quadrants I and III,
 * class 1 between II and IV: x = (s₀ u₀, s₁ u₁) + noise · ε with u ~ U[0.05, 1)², so the classes
 * are separated by a margin before noise.
 */
export function xor(opts: SyntheticOptions = {}): Dataset {
  checkOptions('xor', opts, ['n', 'noise', 'seed', 'backend']);
  const { n = 200, noise = 0.1 } = opts;
  checkCommon('xor', n, noise, 2);
  const rng = new Rng(seedOrDraw('xor', opts.seed));
  return build(opts, n, 2, 2, (c, i, out) => {
    const s0 = i % 2 === 0 ? 1 : -1;
    const s1 = c === 0 ? s0 : -s0;
    out[0] = s0 * (0.05 + 0.95 * rng.uniform()) + noise * rng.normal();
    out[1] = s1 * (0.05 + 0.95 * rng.uniform()) + noise * rng.normal();
  });
}

/** n points per class from `point(class, i, out)`, class by class, uploaded as one Dataset. */
function build(opts: { backend?: BackendName }, n: number, classes: number, dim: number,
  point: (c: number, i: number, out: Float64Array) => void): Dataset {
  const x = new Float32Array(n * classes * dim);
  const y = new Int32Array(n * classes);
  const p = new Float64Array(dim);
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < n; i++) {
      const row = c * n + i;
      point(c, i, p);
      x.set(p, row * dim);
      y[row] = c;
    }
  }
  return Dataset.fromArrays({ x, xShape: [n * classes, dim], y, backend: opts.backend });
}

function checkCommon(where: string, n: number, noise: number, classes: number, noiseName = 'noise'): void {
  if (!Number.isInteger(n) || n < 1) throw new WebtrainError(`${where}: n (examples per class) must be a positive integer, got ${n}`);
  if (!Number.isInteger(classes) || classes < 2) throw new WebtrainError(`${where}: classes must be an integer >= 2, got ${classes}`);
  if (!(noise >= 0)) throw new WebtrainError(`${where}: ${noiseName} must be >= 0, got ${noise}`);
}
