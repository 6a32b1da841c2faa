/**
 * Slide "They are strangely non-convex: Qualitatively Characterizing Neural Network Optimization
 * Problems" (Goodfellow, Vinyals, Saxe, ICLR 2015; Training Neural Networks): the loss along the
 * straight line from the initialization θ0 to the trained weights θ, L((1 − α)θ0 + αθ).
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { interpolate } from '../interpolate';
import { copyValues, writeValues } from '../params';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, datasetLoss, defineExperiment, epochSeries, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.interpolation: the experiment of this file's slides, run with `interpolation.run(settings)`. */
export const interpolation = defineExperiment({
  id: 'interpolation',
  title: 'Linear interpolation from the initialization to the trained weights',
  description:
    'Train an MLP from θ0 to θ, then evaluate the loss on the straight line (1 − α)·θ0 + α·θ, beyond both ends too. Goodfellow, ' +
    'Vinyals and Saxe found that for many networks this one-dimensional slice is simple: the loss falls monotonically from the ' +
    'initialization to the solution with no barrier, although the path training actually took was long and curved; the ' +
    'difficulty of training is not in local minima along the way. Past α = 1 the loss rises again: θ is a minimum along the line.',
  defaults: {
    dataset: 'spirals',
    n: 100,
    nTest: 100,
    noise: 0.1,
    hidden: 32,
    epochs: 40,
    batchSize: 16,
    /** Adam. */
    lr: 0.01,
    steps: 41,
    alphaMin: -0.5,
    alphaMax: 1.5,
    seed: 7,
  },
  check: (o) => {
    checkChoice('interpolation', o, 'dataset', DATASETS);
    checkInt('interpolation', o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize', 'steps']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.interpolation: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.alphaMin < o.alphaMax)) throw new WebtrainError(`lab.interpolation: 'alphaMin' (${o.alphaMin}) must be below 'alphaMax' (${o.alphaMax})`);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
    const params = model.parameters();
    const theta0 = copyValues(params);
    theta0.forEach(ctx.own);
    const h = await train(ctx.progress.sub(0, 0.7), model, { train: trainSet, valid: test }, {
      epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label: 'training',
    });
    const theta1 = copyValues(params);
    theta1.forEach(ctx.own);
    model.eval();
    // The ends, evaluated on their own (wt.train.evaluate), to mark them on the curves.
    writeValues(params, theta0);
    const [start, startTest] = [await score(model, trainSet), await score(model, test)];
    writeValues(params, theta1);
    const [end, endTest] = [await score(model, trainSet), await score(model, test)];
    const range: [number, number] = [o.alphaMin, o.alphaMax];
    const onTrain = await interpolate(datasetLoss(model, trainSet), params, theta0, theta1, { steps: o.steps, range, ...ctx.progress.sub(0.7, 0.85).options() });
    const onTest = await interpolate(datasetLoss(model, test), params, theta0, theta1, { steps: o.steps, range, ...ctx.progress.sub(0.85, 1).options() });
    // Largest rise of the training loss between neighbouring points of the segment [0, 1]: 0 when it falls monotonically.
    const inside = onTrain.alphas.map((a, i) => [a, onTrain.loss[i]]).filter(([a]) => a >= 0 && a <= 1).map(([, l]) => l);
    const rise = inside.slice(1).reduce((m, l, i) => Math.max(m, l - inside[i]), 0);
    const linePlot: LabPlot = {
      title: 'Loss along (1 − α)·θ0 + α·θ', xLabel: 'α', yLabel: 'cross-entropy',
      series: [{ label: 'training loss', x: onTrain.alphas, y: onTrain.loss }, { label: 'test loss', x: onTest.alphas, y: onTest.loss }],
      markers: [{ label: 'θ0 (initialization)', x: 0, y: start.loss }, { label: 'θ (trained)', x: 1, y: end.loss }],
    };
    return {
      plots: [linePlot, { title: 'Training', xLabel: 'epoch', yLabel: 'cross-entropy', series: [epochSeries('training loss', h, 'trainLoss'), epochSeries('test loss', h, 'validLoss')] }],
      table: {
        columns: ['weights', 'training loss', 'test loss', 'test accuracy'],
        rows: [['θ0 (initialization)', round(start.loss), round(startTest.loss), round(startTest.accuracy)], ['θ (trained)', round(end.loss), round(endTest.loss), round(endTest.accuracy)]],
      },
      summary: {
        'training loss at θ0': start.loss,
        'training loss at θ': end.loss,
        'largest rise of the training loss on [θ0, θ]': round(rise),
        'monotone decrease from θ0 to θ': rise <= 1e-6 ? 'yes' : 'no',
      },
    };
  },
});
