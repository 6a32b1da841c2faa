/**
 * Slides "Regularization: bias-variance trade-off" (Training neural networks) and "U-shaped
 * generalization curve: Bias-Variance Tradeoff" (Over-parametrization and Sparsity): the squared
 * error of a trained network split into bias² (how far the average model is from the truth) and
 * variance (how much the model changes with the training set), measured over bootstrap resamples at
 * several widths.
 */
import { WebtrainError } from '../../errors';
import { biasVariance } from '../bias-variance';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, round } from './common';
import { defineExperiment } from './common';
import { parseWidthList } from './lists';

/** wt.lab.experiments.biasVariance: the experiment of this file's slides, run with `biasVariance.run(settings)`. */
export const biasVarianceExperiment = defineExperiment({
  id: 'biasVariance',
  title: 'Bias–variance decomposition against capacity',
  description:
    'A small training set of y = sin(x) + noise is resampled with replacement (bootstrap) and a one-hidden-layer network of ' +
    'width w is trained on every resample. At each test point, the average of the models is compared with the noise-free ' +
    'target sin(x): its squared distance is the bias², the spread of the models around their average is the variance, and ' +
    'their mean squared error against sin(x) is exactly bias² + variance (the test error on noisy labels adds the noise ' +
    'variance σ²). Narrow networks cannot bend enough (high bias, low variance); wide ones trained long enough chase the ' +
    'noise of their own resample (low bias, high variance); the test error is the sum, often U-shaped in width. The lower ' +
    'plots show the individual fits of the narrowest and the widest network. Bootstrap resamples share the noise of the one ' +
    'original sample, so part of it shows up as bias; sampling: \'fresh\' draws independent training sets instead.',
  defaults: {
    /** Comma-separated hidden widths (the capacities). */
    widths: '1,2,4,8,16,64',
    /** Training examples. */
    n: 30,
    /** B: bootstrap resamples (models per width). */
    resamples: 20,
    /** σ of the label noise. */
    noise: 0.3,
    /** 'bootstrap' (resample one training set) or 'fresh' (B independent training sets). */
    sampling: 'bootstrap',
    testPoints: 60,
    /** Full-batch Adam steps per width. */
    steps: 1000,
    lr: 0.02,
    /** 'tanh' or 'relu'. */
    activation: 'tanh',
    /** Individual fits drawn in the lower plots. */
    showModels: 8,
    seed: 23,
  },
  check: (o) => {
    const id = 'biasVariance';
    checkInt(id, o, ['n', 'resamples', 'testPoints']);
    checkInt(id, o, ['steps', 'showModels'], 0);
    checkChoice(id, o, 'sampling', ['bootstrap', 'fresh']);
    checkChoice(id, o, 'activation', ['tanh', 'relu']);
    if (!(o.noise >= 0)) throw new WebtrainError(`lab.${id}: setting 'noise' must be >= 0, got ${o.noise}`);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    parseWidthList(id, 'widths', o.widths);
  },
  body: async (o, ctx) => {
    const widths = parseWidthList('biasVariance', 'widths', o.widths);
    const r = await biasVariance({
      widths, n: o.n, resamples: o.resamples, noise: o.noise, sampling: o.sampling as 'bootstrap' | 'fresh', testPoints: o.testPoints,
      steps: o.steps, lr: o.lr, activation: o.activation as 'tanh' | 'relu', seed: o.seed, backend: ctx.backend, ...ctx.progress.options(),
    });
    const caps = r.capacities;
    const col = (f: (c: (typeof caps)[number]) => number) => caps.map(f);
    const sigma2 = r.noiseVariance;
    const decomposition: LabPlot = {
      title: 'Bias², variance and test error against width', xLabel: 'hidden width', yLabel: 'squared error',
      series: [
        { label: 'bias²', x: widths, y: col((c) => c.bias2) },
        { label: 'variance', x: widths, y: col((c) => c.variance) },
        { label: 'bias² + variance + σ² (expected test error)', x: widths, y: col((c) => c.bias2 + c.variance + sigma2) },
        { label: 'test MSE (noisy test labels)', x: widths, y: col((c) => c.testMse) },
        { label: 'training MSE', x: widths, y: col((c) => c.trainMse) },
        { label: 'noise σ²', x: widths, y: widths.map(() => sigma2) },
      ],
    };
    const fits = [caps[0], caps[caps.length - 1]].filter((c, i, a) => a.indexOf(c) === i).map((c): LabPlot => {
      const mean = r.xTest.map((_, t) => c.predictions.reduce((s, p) => s + p[t], 0) / c.predictions.length);
      return {
        title: `Fits of width ${c.width}: ${c.predictions.length} bootstrap models`, xLabel: 'x', yLabel: 'y',
        series: [
          { label: 'sin(x) (target)', x: r.xTest, y: r.target },
          { label: 'average model', x: r.xTest, y: mean },
          ...c.predictions.slice(0, o.showModels).map((p, b) => ({ label: `model ${b + 1}`, x: r.xTest, y: p })),
        ],
      };
    });
    const best = caps.reduce((a, c) => (c.testMse < a.testMse ? c : a));
    return {
      plots: [decomposition, ...fits],
      table: {
        columns: ['width', 'parameters', 'bias²', 'variance', 'bias² + variance', 'mean (f̂ − f)²', 'test MSE', 'training MSE'],
        rows: caps.map((c) => [c.width, c.parameters, round(c.bias2), round(c.variance), round(c.bias2 + c.variance), round(c.error), round(c.testMse), round(c.trainMse)]),
      },
      summary: {
        'noise variance σ²': round(sigma2),
        'width with the lowest test MSE': best.width,
        'bias², narrowest': round(caps[0].bias2),
        'bias², widest': round(caps[caps.length - 1].bias2),
        'variance, narrowest': round(caps[0].variance),
        'variance, widest': round(caps[caps.length - 1].variance),
      },
    };
  },
});
