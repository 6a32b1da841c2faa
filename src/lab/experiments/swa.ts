/**
 * Slide "Stochastic weight averaging (SWA)" (Neural Network Optimization; Izmailov, Podoprikhin,
 * Garipov, Vetrov, Wilson, "Averaging Weights Leads to Wider Optima and Better Generalization",
 * UAI 2018): w_SWA ← (w_SWA·n + w)/(n + 1) over the SGD iterates, and the loss on the line through
 * the SGD and SWA weights.
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { SGD } from '../../optim/sgd';
import { SWA } from '../../optim/swa';
import { interpolate } from '../interpolate';
import { copyValues, disposeAll, writeValues } from '../params';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, datasetLoss, defineExperiment, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.swa: the experiment of this file's slides, run with `swa.run(settings)`. */
export const swa = defineExperiment({
  id: 'swa',
  title: 'Stochastic weight averaging vs SGD',
  description:
    'Train with SGD (momentum 0.9), then keep training at a constant learning rate and average the weights at the end of every ' +
    'epoch: w_SWA ← (w_SWA·n + w)/(n + 1). The SGD iterates bounce around the edges of a wide basin; their average lands nearer its ' +
    'centre, where the training loss is as low or lower and the surface is flatter, which tends to generalize better. The line ' +
    'plot evaluates the loss on the straight line through the SGD weights (α = 0) and the SWA weights (α = 1), beyond both.',
  defaults: {
    dataset: 'moons',
    n: 100,
    nTest: 200,
    noise: 0.3,
    hidden: 32,
    /** Epochs of SGD before averaging starts. */
    epochs: 20,
    /** Epochs averaged (one snapshot at the end of each). */
    swaEpochs: 10,
    batchSize: 10,
    lr: 0.05,
    /** Constant learning rate while averaging. */
    swaLr: 0.05,
    /** The line covers α in [lineMin, lineMax]. */
    lineMin: -1,
    lineMax: 2,
    lineSteps: 31,
    seed: 8,
  },
  check: (o) => {
    checkChoice('swa', o, 'dataset', DATASETS);
    checkInt('swa', o, ['n', 'nTest', 'hidden', 'swaEpochs', 'batchSize', 'lineSteps']);
    checkInt('swa', o, ['epochs'], 0);
    for (const k of ['lr', 'swaLr'] as const) if (!(o[k] > 0)) throw new WebtrainError(`lab.swa: setting '${k}' must be > 0, got ${o[k]}`);
    if (!(o.lineMin < o.lineMax)) throw new WebtrainError(`lab.swa: 'lineMin' (${o.lineMin}) must be below 'lineMax' (${o.lineMax})`);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
    const params = model.parameters();
    const optimizer = ctx.own(new SGD(params, { lr: o.lr, momentum: 0.9 }));
    const fitOpts = { batchSize: o.batchSize, optimizer, readsPerEpoch: 1 };
    const h1 = o.epochs > 0
      ? await train(ctx.progress.sub(0, 0.4), model, { train: trainSet, valid: test }, { ...fitOpts, epochs: o.epochs, seed: subSeed(o.seed, 2), label: 'SGD' })
      : null;
    const averager = new SWA(params);
    ctx.own({ dispose: () => disposeAll(averager.averaged) });
    optimizer.paramGroups.forEach((g) => { g.hp.lr = o.swaLr; });
    let snapshots = 0;
    const h2 = await train(ctx.progress.sub(0.4, 0.8), model, { train: trainSet, valid: test }, {
      ...fitOpts, epochs: o.swaEpochs, seed: subSeed(o.seed, 3), label: 'SWA phase',
      callbacks: { onEpochEnd: () => { averager.update(++snapshots); } },
    });
    const sgdWeights = ctx.own({ ts: copyValues(params), dispose() { disposeAll(this.ts); } }).ts;
    model.eval();
    const sgd = { train: await score(model, trainSet), test: await score(model, test) };
    writeValues(params, averager.averaged);
    const avg = { train: await score(model, trainSet), test: await score(model, test) };
    writeValues(params, sgdWeights);
    const range: [number, number] = [o.lineMin, o.lineMax];
    const onTrain = await interpolate(datasetLoss(model, trainSet), params, sgdWeights, averager.averaged, { steps: o.lineSteps, range, ...ctx.progress.sub(0.8, 0.9).options() });
    const onTest = await interpolate(datasetLoss(model, test), params, sgdWeights, averager.averaged, { steps: o.lineSteps, range, ...ctx.progress.sub(0.9, 1).options() });
    const epochs = [...(h1?.epochs ?? []), ...h2.epochs];
    const linePlot: LabPlot = {
      title: 'Loss on the line through the SGD (α = 0) and SWA (α = 1) weights', xLabel: 'α', yLabel: 'cross-entropy',
      series: [{ label: 'training loss', x: onTrain.alphas, y: onTrain.loss }, { label: 'test loss', x: onTest.alphas, y: onTest.loss }],
      markers: [
        { label: 'SGD', x: 0, y: sgd.train.loss }, { label: 'SWA', x: 1, y: avg.train.loss },
        { label: 'SGD (test)', x: 0, y: sgd.test.loss }, { label: 'SWA (test)', x: 1, y: avg.test.loss },
      ],
    };
    const curvePlot: LabPlot = {
      title: 'Training (averaging starts after the marker)', xLabel: 'epoch', yLabel: 'cross-entropy',
      series: [
        { label: 'training loss', x: epochs.map((_, i) => i + 1), y: epochs.map((e) => e.trainLoss) },
        { label: 'test loss', x: epochs.map((_, i) => i + 1), y: epochs.map((e) => e.validLoss ?? NaN) },
      ],
      markers: [{ label: 'averaging starts', x: o.epochs, y: h1?.epochs.at(-1)?.trainLoss ?? h2.epochs[0]?.trainLoss ?? NaN }],
    };
    return {
      plots: [linePlot, curvePlot],
      table: {
        columns: ['weights', 'training loss', 'test loss', 'test accuracy'],
        rows: [['SGD', round(sgd.train.loss), round(sgd.test.loss), round(sgd.test.accuracy)], [`SWA (${averager.count} snapshots)`, round(avg.train.loss), round(avg.test.loss), round(avg.test.accuracy)]],
      },
      summary: {
        'training loss, SGD': sgd.train.loss,
        'training loss, SWA': avg.train.loss,
        'test accuracy, SGD': round(sgd.test.accuracy),
        'test accuracy, SWA': round(avg.test.accuracy),
        'SWA snapshots': averager.count,
      },
    };
  },
});
