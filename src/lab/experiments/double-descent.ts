/**
 * Slides "Double Descent" and "Deep double descent" (Over-parametrization and Sparsity; Belkin, Hsu,
 * Ma, Mandal, PNAS 2019; Nakkiran et al., ICLR 2020): test error against model width falls, rises
 * to a peak at the interpolation threshold (as many parameters per output as training examples),
 * and falls again beyond it; label noise makes the peak pronounced. Plus the epoch-wise curve of
 * one wide network trained on the same noisy labels.
 */
import { WebtrainError } from '../../errors';
import { tensor } from '../../create';
import { tidy } from '../../runtime';
import { noGrad } from '../../session';
import { Rng } from '../../data/rng';
import { Linear } from '../../nn/layers';
import { mlp } from '../../nn/mlp';
import { DIGIT_PIXELS, DIGIT_SOURCES } from '../digits';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, epochSeries, round, subSeed, train } from './common';
import { defineDigitExperiment, digitSets } from './digit-data';

/** wt.lab.experiments.doubleDescent: the experiment of this file's slides, run with `doubleDescent.run(settings)` (or `run({digits})`). */
export const doubleDescent = defineDigitExperiment({
  id: 'doubleDescent',
  title: 'Double descent across the interpolation threshold',
  description:
    'A two-layer network whose hidden layer is a fixed random ReLU layer of width p (random features, as in Belkin et al.) and ' +
    'whose output layer is fitted by least squares to one-hot labels, a fraction of them replaced by random labels. For each ' +
    'width the output layer is the minimum-norm least-squares solution (the one gradient descent from zero converges to). Below ' +
    'the interpolation threshold (p = n training examples) more width fits better, the classical U begins; at p = n the network ' +
    'can just fit every noisy label and the fit is wild: test error peaks; beyond it, among the many interpolating solutions the ' +
    'minimum-norm one gets smoother as p grows and test error falls again. The second plot trains one wide network (both layers, ' +
    'Adam, cross-entropy) on the same noisy labels and follows train and test error over epochs.',
  defaults: {
    /** 'auto': digits passed to run(), else MNIST, else synthetic; 'mnist'; 'synthetic'. */
    source: 'auto',
    n: 200,
    nTest: 500,
    /** Fraction of the training labels replaced by uniformly random ones. */
    labelNoise: 0.2,
    /** Comma-separated hidden widths of the sweep. */
    widths: '20,50,100,150,180,200,220,250,300,400,600,1000,2000',
    /** Width of the network trained epoch by epoch. */
    wideWidth: 1000,
    epochs: 100,
    batchSize: 50,
    /** Adam, for the epoch-wise run. */
    lr: 0.001,
    seed: 41,
  },
  check: (o) => {
    const id = 'doubleDescent';
    checkChoice(id, o, 'source', DIGIT_SOURCES);
    checkInt(id, o, ['n', 'nTest', 'wideWidth', 'batchSize']);
    checkInt(id, o, ['epochs'], 0);
    if (!(o.labelNoise >= 0 && o.labelNoise <= 1)) throw new WebtrainError(`lab.${id}: setting 'labelNoise' must be in [0, 1], got ${o.labelNoise}`);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    parseWidths(o.widths);
  },
  body: async (o, ctx, given) => {
    const widths = parseWidths(o.widths);
    const rng = new Rng(subSeed(o.seed, 3));
    let flipped = 0;
    const { train: trainSet, test, digits } = await digitSets(ctx, o.source, { n: o.n, nTest: o.nTest, seed: o.seed }, given, (labels) => Int32Array.from(labels, (l) => {
      if (rng.uniform() >= o.labelNoise) return l;
      const r = rng.int(10);
      if (r !== l) flipped++;
      return r;
    }));
    const yTrain = Int32Array.from(await trainSet.y.data());
    const yTest = digits.test.labels;
    const trainErr: number[] = [];
    const testErr: number[] = [];
    const trainMse: number[] = [];
    const testMse: number[] = [];
    const sweep = ctx.progress.sub(0, o.epochs > 0 ? 0.5 : 1);
    for (const [i, p] of widths.entries()) {
      // Random ReLU features relu(x·Wᵀ + b), W ~ N(0, 2/784) (He), b ~ N(0, 0.01), on the device; the fit is on the host in float64.
      const layer = new Linear(DIGIT_PIXELS, p, { init: 'heNormal', seed: subSeed(o.seed, 1000 + i), backend: ctx.backend });
      const [phiTrain, phiTest] = await (async () => {
        try {
          noGrad(() => tidy(() => { layer.bias!.assign(tensor(Float32Array.from({ length: p }, () => 0.1 * rng.normal()), [p], { backend: ctx.backend })); }));
          const feats = (x: typeof trainSet.x) => noGrad(() => tidy(() => layer.forward(x).relu()));
          const a = feats(trainSet.x);
          const b = feats(test.x);
          try {
            return [await a.data(), await b.data()];
          } finally {
            a.dispose();
            b.dispose();
          }
        } finally {
          layer.dispose();
        }
      })();
      const w = minNormLeastSquares(phiTrain, oneHot(yTrain), o.n, p, 10);
      const tr = evaluateLinear(phiTrain, w, yTrain, p);
      const te = evaluateLinear(phiTest, w, yTest, p);
      trainErr.push(tr.error); testErr.push(te.error); trainMse.push(tr.mse); testMse.push(te.mse);
      await sweep.report((i + 1) / widths.length, `width ${p}`);
    }
    const plots: LabPlot[] = [
      {
        title: 'Error against hidden width (min-norm least squares on random ReLU features)', xLabel: 'hidden width p', yLabel: 'classification error',
        series: [{ label: 'training error', x: widths, y: trainErr }, { label: 'test error', x: widths, y: testErr }],
        markers: [{ label: `interpolation threshold p = n = ${o.n}`, x: o.n, y: Math.max(...testErr) }],
      },
      {
        title: 'Squared loss against hidden width', xLabel: 'hidden width p', yLabel: 'mean squared error (one-hot)', logY: true,
        series: [{ label: 'training loss', x: widths, y: trainMse.map((v) => Math.max(v, 1e-12)) }, { label: 'test loss', x: widths, y: testMse }],
        markers: [{ label: `p = n = ${o.n}`, x: o.n, y: Math.max(...testMse) }],
      },
    ];
    const summary: Record<string, number | string> = {
      data: digits.source,
      'noisy training labels (changed)': flipped,
      'width with the highest test loss': widths[testMse.indexOf(Math.max(...testMse))],
      'test error at the threshold width': round(testErr[nearest(widths, o.n)]),
      'test error, widest': round(testErr[testErr.length - 1]),
      'test error, narrowest': round(testErr[0]),
    };
    if (o.epochs > 0) {
      const model = ctx.own(mlp({ sizes: [DIGIT_PIXELS, o.wideWidth, 10], seed: subSeed(o.seed, 2), backend: ctx.backend }));
      const h = await train(ctx.progress.sub(0.5, 1), model, { train: trainSet, valid: test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 4), readsPerEpoch: 1, label: `width ${o.wideWidth}`,
      });
      const err = (s: { label: string; x: number[]; y: number[] }) => ({ ...s, y: s.y.map((a) => 1 - a) });
      plots.push({
        title: `Epoch-wise: a network of width ${o.wideWidth}, both layers trained, noisy labels`, xLabel: 'epoch', yLabel: 'classification error',
        series: [err(epochSeries('training error', h, 'trainAccuracy')), err(epochSeries('test error', h, 'validAccuracy'))],
      });
      const testCurve = h.epochs.map((e) => 1 - (e.validAccuracy ?? NaN));
      summary['epoch-wise: lowest test error'] = round(Math.min(...testCurve));
      summary['epoch-wise: final test error'] = round(testCurve[testCurve.length - 1]);
    }
    return {
      plots,
      table: { columns: ['width', 'training error', 'test error', 'training loss', 'test loss'], rows: widths.map((p, i) => [p, round(trainErr[i]), round(testErr[i]), round(trainMse[i]), round(testMse[i])]) },
      summary,
    };
  },
});

/** Labels as one-hot rows [n, k]. */
function oneHot(labels: Int32Array, k = 10): Float64Array {
  const out = new Float64Array(labels.length * k);
  labels.forEach((l, i) => { out[i * k + l] = 1; });
  return out;
}

/**
 * The minimum-norm least-squares W [p, k] of Φ W ≈ Y (Φ [n, p] row-major), in float64: Φᵀ(ΦΦᵀ)⁻¹Y
 * when p ≥ n, (ΦᵀΦ)⁻¹ΦᵀY when p < n, each with a ridge of 1e-10 times the Gram matrix's mean
 * diagonal so the solve stays finite exactly at the threshold.
 */
export function minNormLeastSquares(phi: ArrayLike<number>, Y: Float64Array, n: number, p: number, k: number): Float64Array {
  const wide = p >= n;
  const m = wide ? n : p;
  const G = new Float64Array(m * m);
  if (wide) {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += phi[i * p + c] * phi[j * p + c];
      G[i * m + j] = G[j * m + i] = s;
    }
  } else {
    for (let r = 0; r < n; r++) {
      const row = r * p;
      for (let i = 0; i < p; i++) {
        const a = phi[row + i];
        if (a === 0) continue;
        for (let j = 0; j <= i; j++) G[i * m + j] += a * phi[row + j];
      }
    }
    for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) G[j * m + i] = G[i * m + j];
  }
  let trace = 0;
  for (let i = 0; i < m; i++) trace += G[i * m + i];
  const ridge = 1e-10 * (trace / m || 1);
  for (let i = 0; i < m; i++) G[i * m + i] += ridge;
  const L = cholesky(G, m);
  const W = new Float64Array(p * k);
  if (wide) {
    const A = cholSolve(L, m, Y, k); // (ΦΦᵀ)⁻¹Y [n, k]
    for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) {
      const f = phi[r * p + c];
      if (f !== 0) for (let j = 0; j < k; j++) W[c * k + j] += f * A[r * k + j];
    }
  } else {
    const B = new Float64Array(p * k); // ΦᵀY
    for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) {
      const f = phi[r * p + c];
      if (f !== 0) for (let j = 0; j < k; j++) B[c * k + j] += f * Y[r * k + j];
    }
    W.set(cholSolve(L, m, B, k));
  }
  return W;
}

function cholesky(A: Float64Array, m: number): Float64Array {
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * m + j];
      for (let t = 0; t < j; t++) s -= L[i * m + t] * L[j * m + t];
      if (i === j) L[i * m + i] = Math.sqrt(Math.max(s, 1e-300));
      else L[i * m + j] = s / L[j * m + j];
    }
  }
  return L;
}

/** Solves (L Lᵀ) X = B for X [m, k]. */
function cholSolve(L: Float64Array, m: number, B: Float64Array, k: number): Float64Array {
  const X = Float64Array.from(B);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m; i++) {
      let s = X[i * k + j];
      for (let t = 0; t < i; t++) s -= L[i * m + t] * X[t * k + j];
      X[i * k + j] = s / L[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = X[i * k + j];
      for (let t = i + 1; t < m; t++) s -= L[t * m + i] * X[t * k + j];
      X[i * k + j] = s / L[i * m + i];
    }
  }
  return X;
}

/** Classification error (argmax of Φ W against the labels) and mean squared error against one-hot targets. */
function evaluateLinear(phi: ArrayLike<number>, W: Float64Array, labels: Int32Array, p: number, k = 10): { error: number; mse: number } {
  const n = labels.length;
  let wrong = 0;
  let se = 0;
  const out = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    out.fill(0);
    for (let c = 0; c < p; c++) {
      const f = phi[r * p + c];
      if (f !== 0) for (let j = 0; j < k; j++) out[j] += f * W[c * k + j];
    }
    let best = 0;
    for (let j = 0; j < k; j++) {
      if (out[j] > out[best]) best = j;
      se += (out[j] - (j === labels[r] ? 1 : 0)) ** 2;
    }
    if (best !== labels[r]) wrong++;
  }
  return { error: wrong / n, mse: se / (n * k) };
}

function nearest(xs: number[], v: number): number {
  let b = 0;
  xs.forEach((x, i) => { if (Math.abs(x - v) < Math.abs(xs[b] - v)) b = i; });
  return b;
}

function parseWidths(s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length === 0 || !v.every((w) => Number.isInteger(w) && w >= 1)) {
    throw new WebtrainError(`lab.doubleDescent: setting 'widths' must be comma-separated positive integers, got ${JSON.stringify(s)}`);
  }
  return v;
}
