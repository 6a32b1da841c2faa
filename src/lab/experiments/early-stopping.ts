/**
 * Slide "Knowing when to stop: early stopping" (Training Neural Networks): "stop training when
 * validation set error increases (with some look ahead)", with wt.train.fit's earlyStopping
 * (patience = the look ahead) and the best weights restored.
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, round, score, subSeed, train, twoClassSet } from './common';

/** wt.lab.experiments.earlyStopping: the experiment of this file's slides, run with `earlyStopping.run(settings)`. */
export const earlyStopping = defineExperiment({
  id: 'earlyStopping',
  title: 'Early stopping on the validation curve',
  description:
    'A large network on a small, noisy training set: the training loss keeps falling while the validation loss reaches a minimum ' +
    'and then rises as the network starts to fit the noise. Early stopping watches the validation loss and stops once it has not ' +
    'improved for `patience` epochs (the look ahead), then restores the weights of the best epoch. The markers show the best epoch ' +
    'and where training stopped; with compareFull, the same run continued to the last epoch shows what stopping avoided.',
  defaults: {
    dataset: 'circles',
    /** A small training set, per class. */
    n: 20,
    /** Validation examples per class (the test set is another draw of the same size). */
    nValid: 100,
    noise: 0.2,
    hidden: 64,
    epochs: 100,
    batchSize: 8,
    /** Adam. */
    lr: 0.01,
    patience: 10,
    /** Also train the same model for all epochs, without stopping, to compare. */
    compareFull: true,
    seed: 10,
  },
  check: (o) => {
    checkChoice('earlyStopping', o, 'dataset', DATASETS);
    checkInt('earlyStopping', o, ['n', 'nValid', 'hidden', 'epochs', 'batchSize']);
    checkInt('earlyStopping', o, ['patience'], 0);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.earlyStopping: setting 'lr' must be > 0, got ${o.lr}`);
  },
  body: async (o, ctx) => {
    const trainSet = twoClassSet(ctx, o.dataset, o.n, o.noise, o.seed);
    const valid = twoClassSet(ctx, o.dataset, o.nValid, o.noise, subSeed(o.seed, 4));
    const test = twoClassSet(ctx, o.dataset, o.nValid, o.noise, subSeed(o.seed, 5));
    const runs = o.compareFull ? 2 : 1;
    const fitOpts = { epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam' as const, lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1 };
    const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
    const h = await train(ctx.progress.part(0, runs), model, { train: trainSet, valid }, {
      ...fitOpts, earlyStopping: { patience: o.patience, restoreBest: true }, label: 'early stopping',
    });
    const stopped = await score(model, test);
    const best = h.epochs[h.bestEpoch];
    const stop = h.epochs.at(-1)!;
    const plot: LabPlot = {
      title: 'Training and validation loss', xLabel: 'epoch', yLabel: 'cross-entropy',
      series: [epochSeries('training loss', h, 'trainLoss'), epochSeries('validation loss', h, 'validLoss')],
      markers: [
        { label: `best epoch (${best.epoch + 1}), weights restored`, x: best.epoch + 1, y: best.validLoss! },
        { label: h.stoppedEarly ? `stopped (epoch ${stop.epoch + 1})` : `last epoch (${stop.epoch + 1})`, x: stop.epoch + 1, y: stop.validLoss! },
      ],
    };
    const rows: (string | number)[][] = [['early stopping (best weights)', best.epoch + 1, round(best.trainLoss), round(best.validLoss!), round(stopped.accuracy)]];
    const summary: Record<string, number | string> = {
      'best epoch': best.epoch + 1,
      'stopped after epoch': stop.epoch + 1,
      'stopped early': h.stoppedEarly ? 'yes' : 'no',
      'test accuracy, early stopping': round(stopped.accuracy),
    };
    if (o.compareFull) {
      const full = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const hf = await train(ctx.progress.part(1, runs), full, { train: trainSet, valid }, { ...fitOpts, label: 'no early stopping' });
      const s = await score(full, test);
      const end = hf.epochs.at(-1)!;
      plot.series.push(epochSeries('training loss, no early stopping', hf, 'trainLoss'), epochSeries('validation loss, no early stopping', hf, 'validLoss'));
      rows.push(['all epochs', end.epoch + 1, round(end.trainLoss), round(end.validLoss!), round(s.accuracy)]);
      summary['test accuracy, all epochs'] = round(s.accuracy);
    }
    return {
      plots: [plot],
      table: { columns: ['training', 'epochs', 'training loss', 'validation loss', 'test accuracy'], rows },
      summary,
    };
  },
});
