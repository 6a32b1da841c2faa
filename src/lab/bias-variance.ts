/**
 * biasVariance: the bias–variance decomposition of a network's squared error, measured. A small
 * training set of the 1-D regression y = sin(x) + ε, ε ~ N(0, σ²), x uniform on [−π, π], is
 * resampled B times (bootstrap: n draws with replacement; or B fresh training sets); one network
 * architecture (a one-hidden-layer MLP of width w, input x/π) is trained on each resample, all B at
 * once as an MlpEnsemble (full-batch Adam on the sum of the members' mean squared errors). On a grid
 * of test points x_t, with f = sin the noise-free target, f̂_b the b-th model and f̄ = (1/B)Σ_b f̂_b:
 *   bias²    = (1/T) Σ_t (f̄(x_t) − f(x_t))²
 *   variance = (1/T) Σ_t (1/B) Σ_b (f̂_b(x_t) − f̄(x_t))²
 *   error    = (1/T) Σ_t (1/B) Σ_b (f̂_b(x_t) − f(x_t))²  =  bias² + variance   (exactly)
 * and the expected test error on noisy targets is error + σ². The predictions of every model at
 * every test point are returned, so the identity can be checked independently.
 */
import { WebtrainError } from '../errors';
import { tensor } from '../create';
import { getBackend, tidy } from '../runtime';
import { noGrad } from '../session';
import type { BackendName } from '../backend/backend';
import { Rng } from '../data/rng';
import { MlpEnsemble, trainEnsemble } from './ensemble';
import { linspace, Progress, type ProgressOptions } from './progress';

/** Options of biasVariance. */
export interface BiasVarianceOptions extends ProgressOptions {
  /** Hidden widths: the capacities compared. */
  widths: number[];
  /** Training examples. */
  n: number;
  /** B: models per width (resamples of the training set). */
  resamples: number;
  /** σ, the standard deviation of the label noise. */
  noise: number;
  /** 'bootstrap' (default): resample the one training set with replacement; 'fresh': draw B independent training sets. */
  sampling?: 'bootstrap' | 'fresh';
  /** Test points, evenly spaced on [−π, π]. */
  testPoints: number;
  /** Full-batch Adam steps per width, and its learning rate. */
  steps: number;
  lr: number;
  activation?: 'tanh' | 'relu';
  seed: number;
  backend?: BackendName;
}

/** One capacity's models and its decomposition. */
export interface BiasVarianceCapacity {
  width: number;
  /** Parameters of one model. */
  parameters: number;
  /** predictions[b][t]: model b at test point t. */
  predictions: number[][];
  bias2: number;
  variance: number;
  /** Mean over models and test points of (f̂ − f)², f the noise-free target: bias² + variance. */
  error: number;
  /** Mean over models and test points of (f̂ − y)², y the noisy test targets (≈ error + σ²). */
  testMse: number;
  /** Mean over models of each model's MSE on its own training resample. */
  trainMse: number;
}

export interface BiasVarianceResult {
  /** The test points and the noise-free target sin(x) there. */
  xTest: number[];
  target: number[];
  /** Noisy test targets sin(x_t) + ε_t. */
  yTest: number[];
  /** The base training set. */
  xTrain: number[];
  yTrain: number[];
  /** σ². */
  noiseVariance: number;
  capacities: BiasVarianceCapacity[];
}

/** The decomposition for each width; see the file comment. */
export async function biasVariance(opts: BiasVarianceOptions): Promise<BiasVarianceResult> {
  const { widths, n, resamples: B, noise, sampling = 'bootstrap', testPoints: T, steps, lr, activation = 'tanh', seed } = opts;
  const where = 'lab.biasVariance';
  if (!Array.isArray(widths) || widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w >= 1)) throw new WebtrainError(`${where}: widths must be positive integers, got [${widths}]`);
  for (const [k, v] of [['n', n], ['resamples', B], ['testPoints', T]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new WebtrainError(`${where}: ${k} must be an integer >= 1, got ${v}`);
  }
  if (!Number.isInteger(steps) || steps < 0) throw new WebtrainError(`${where}: steps must be an integer >= 0, got ${steps}`);
  if (!(noise >= 0)) throw new WebtrainError(`${where}: noise must be >= 0, got ${noise}`);
  if (!(lr > 0)) throw new WebtrainError(`${where}: lr must be > 0, got ${lr}`);
  if (sampling !== 'bootstrap' && sampling !== 'fresh') throw new WebtrainError(`${where}: sampling must be 'bootstrap' or 'fresh', got '${sampling as string}'`);
  const backend = opts.backend ?? getBackend().name;
  const progress = Progress.start(where, opts);

  const rng = new Rng(seed, 0xb1a5);
  const draw = () => {
    const x = -Math.PI + 2 * Math.PI * rng.uniform();
    return [x, Math.sin(x) + noise * rng.normal()];
  };
  const base = Array.from({ length: n }, draw);
  const sets: number[][][] = Array.from({ length: B }, () => (sampling === 'bootstrap'
    ? Array.from({ length: n }, () => base[rng.int(n)])
    : Array.from({ length: n }, draw)));
  const xTest = linspace(-Math.PI, Math.PI, T);
  const target = xTest.map(Math.sin);
  const yTest = target.map((f) => f + noise * rng.normal());
  // Inputs scaled to [−1, 1] for the network.
  const xs = Float32Array.from(sets.flatMap((s) => s.map(([x]) => x / Math.PI)));
  const ys = Float32Array.from(sets.flatMap((s) => s.map(([, y]) => y)));

  const X = tensor(xs, [B, n, 1], { backend });
  const Y = tensor(ys, [B, n, 1], { backend });
  const Xt = tensor(Float32Array.from(xTest, (x) => x / Math.PI), [T, 1], { backend });
  const capacities: BiasVarianceCapacity[] = [];
  try {
    for (const [i, width] of widths.entries()) {
      const ens = new MlpEnsemble(B, [1, width, 1], { activation, seed: seed + 1000 * (i + 1), backend });
      try {
        // Σ_b mean_i (f̂_b(x_bi) − y_bi)² = B · (the mean over all B·n residuals).
        await trainEnsemble(ens, () => ens.forward(X).sub(Y).square().mean().mul(B), { steps, lr, progress: progress.part(i, widths.length), label: `width ${width}` });
        const [pTest, pTrain] = noGrad(() => tidy(() => [ens.forward(Xt), ens.forward(X)]));
        let test: Float32Array;
        let trainPred: Float32Array;
        try {
          test = Float32Array.from(await pTest.data());
          trainPred = Float32Array.from(await pTrain.data());
        } finally {
          pTest.dispose();
          pTrain.dispose();
        }
        const predictions = Array.from({ length: B }, (_, b) => Array.from(test.subarray(b * T, (b + 1) * T)));
        let trainSe = 0;
        trainPred.forEach((p, k) => { trainSe += (p - ys[k]) ** 2; });
        capacities.push({ width, parameters: ens.memberParameters, predictions, ...decompose(predictions, target, yTest), trainMse: trainSe / (B * n) });
      } finally {
        ens.dispose();
      }
    }
  } finally {
    for (const t of [X, Y, Xt]) t.dispose();
  }
  return {
    xTest, target, yTest, xTrain: base.map(([x]) => x), yTrain: base.map(([, y]) => y), noiseVariance: noise * noise, capacities,
  };
}

/** bias², variance, error against the target, and MSE against the noisy targets, of predictions[b][t] (float64). */
export function decompose(predictions: number[][], target: number[], yTest: number[]): { bias2: number; variance: number; error: number; testMse: number } {
  const B = predictions.length;
  const T = target.length;
  let bias2 = 0;
  let variance = 0;
  let error = 0;
  let testMse = 0;
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let b = 0; b < B; b++) mean += predictions[b][t];
    mean /= B;
    bias2 += (mean - target[t]) ** 2;
    for (let b = 0; b < B; b++) {
      const p = predictions[b][t];
      variance += (p - mean) ** 2;
      error += (p - target[t]) ** 2;
      testMse += (p - yTest[t]) ** 2;
    }
  }
  return { bias2: bias2 / T, variance: variance / (B * T), error: error / (B * T), testMse: testMse / (B * T) };
}
