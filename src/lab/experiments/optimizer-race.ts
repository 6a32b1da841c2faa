/**
 * Slides "First-order optimization algorithms (SGD bells and whistles)" (Neural Network
 * Optimization): vanilla SGD, momentum, Nesterov, Adagrad, RMSprop and Adam on the same model,
 * initialization and data, and their paths on the two-weight tanh surface.
 */
import { tensor } from '../../create';
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import type { OptimizerSpec } from '../../train/optimizers';
import { lossSurface2d } from '../surface';
import { tanhPaths, tanhToy } from '../tanh-toy';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.optimizerRace: the experiment of this file's slides, run with `optimizerRace.run(settings)`. */
export const optimizerRace = defineExperiment({
  id: 'optimizerRace',
  title: 'Optimizer race: SGD, momentum, Nesterov, Adagrad, RMSprop, Adam',
  description:
    'Six optimizers train the same MLP from the same initialization on the same mini-batches, and walk the two-weight tanh surface ' +
    'from the same start. Momentum keeps an exponentially decaying sum of past gradients (v ← γv + α∇L, θ ← θ − v) and gains speed ' +
    'on plateaus; Nesterov evaluates the gradient where momentum is about to take it; Adagrad divides by the root of the sum of all ' +
    'past squared gradients (its steps shrink over time), RMSprop by a decaying average of them, and Adam combines momentum with ' +
    "RMSprop's scaling. On the surface, starting near the saddle, the adaptive methods take steps of about α whatever the gradient's " +
    'size, so they leave the flat region at once, while plain SGD crawls.',
  defaults: {
    dataset: 'spirals',
    n: 100,
    nTest: 100,
    noise: 0.05,
    hidden: 32,
    epochs: 50,
    batchSize: 16,
    /** Learning rate of SGD, momentum, Nesterov (momentum 0.9) and Adagrad. */
    lr: 0.05,
    /** Learning rate of RMSprop and Adam. */
    lrAdaptive: 0.02,
    /** Start of the paths on the tanh surface. */
    pathW1: 0.05,
    pathW2: -0.05,
    pathSteps: 60,
    /** Multiplies the learning rates used on the surface (SGD 0.5, momentum and Nesterov 0.1, Adagrad 0.5, RMSprop 0.05, Adam 0.1). */
    pathLrScale: 1,
    gridSteps: 25,
    seed: 3,
  },
  check: (o) => {
    checkChoice('optimizerRace', o, 'dataset', DATASETS);
    checkInt('optimizerRace', o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize', 'gridSteps']);
    checkInt('optimizerRace', o, ['pathSteps'], 0);
    for (const k of ['lr', 'lrAdaptive', 'pathLrScale'] as const) {
      if (!(o[k] > 0)) throw new WebtrainError(`lab.optimizerRace: setting '${k}' must be > 0, got ${o[k]}`);
    }
  },
  body: async (o, ctx) => {
    const racers: [string, OptimizerSpec, OptimizerSpec][] = [
      // [label, spec on the MLP, spec on the tanh surface]
      ['SGD', { name: 'sgd', lr: o.lr }, { name: 'sgd', lr: 0.5 * o.pathLrScale }],
      ['momentum', { name: 'momentum', lr: o.lr }, { name: 'momentum', lr: 0.1 * o.pathLrScale }],
      ['Nesterov', { name: 'nesterov', lr: o.lr }, { name: 'nesterov', lr: 0.1 * o.pathLrScale }],
      ['Adagrad', { name: 'adagrad', lr: o.lr }, { name: 'adagrad', lr: 0.5 * o.pathLrScale }],
      ['RMSprop', { name: 'rmsprop', lr: o.lrAdaptive }, { name: 'rmsprop', lr: 0.05 * o.pathLrScale }],
      ['Adam', { name: 'adam', lr: o.lrAdaptive }, { name: 'adam', lr: 0.1 * o.pathLrScale }],
    ];
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const trainPlot: LabPlot = { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const testPlot: LabPlot = { title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy', series: [] };
    const pathPlot: LabPlot = { title: 'Loss along the paths on the tanh surface', xLabel: 'step', yLabel: 'loss', logY: true, series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    const paths: { label: string; points: [number, number][] }[] = [];
    const n = racers.length;
    for (let k = 0; k < n; k++) {
      const [label, spec, pathSpec] = racers[k];
      // Same seed, same initialization; same shuffling seed, same mini-batches.
      const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const part = ctx.progress.part(k, n);
      const h = await train(part.sub(0, 0.8), model, { train: trainSet, valid: test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: spec, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label,
      });
      const s = await score(model, test);
      const [path] = await tanhPaths({ starts: [[o.pathW1, o.pathW2]], method: 'gd', optimizer: pathSpec, steps: o.pathSteps, backend: ctx.backend, ...part.sub(0.8, 1).options() });
      trainPlot.series.push(epochSeries(label, h, 'trainLoss'));
      testPlot.series.push(epochSeries(label, h, 'validAccuracy'));
      // Losses reach 0 in a ravine; a log axis needs them positive.
      pathPlot.series.push({ label, x: path.losses.map((_, i) => i), y: path.losses.map((l) => Math.max(l, 1e-12)) });
      paths.push({ label, points: path.points });
      const finalLoss = last(h.epochs.map((e) => e.trainLoss));
      rows.push([label, spec.lr as number, round(finalLoss), round(s.accuracy), round(last(path.losses))]);
      summary[`final training loss, ${label}`] = round(finalLoss);
      summary[`test accuracy, ${label}`] = round(s.accuracy);
    }
    const w = ctx.own(tensor([0, 0], [2], { backend: ctx.backend, requiresGrad: true }));
    const e1 = ctx.own(tensor([1, 0], [2], { backend: ctx.backend }));
    const e2 = ctx.own(tensor([0, 1], [2], { backend: ctx.backend }));
    const extent = Math.max(2, ...paths.flatMap((p) => p.points.flat().map(Math.abs).filter(Number.isFinite))) * 1.1;
    const surface = await lossSurface2d(() => tanhToy.lossTensor(w), [w], { dirs: [[e1], [e2]], range: Math.min(extent, 6), steps: o.gridSteps, signal: ctx.progress.signal });
    return {
      plots: [trainPlot, testPlot, pathPlot],
      heatmaps: [{ title: 'Paths on the tanh surface L(w1, w2)', xLabel: 'w1', yLabel: 'w2', xs: surface.alphas, ys: surface.betas, values: surface.loss, paths }],
      table: { columns: ['optimizer', 'learning rate', 'final training loss', 'test accuracy', 'final loss on the surface'], rows },
      summary,
    };
  },
});
