/**
 * Slide "Capacity of deep learning model is excessive!" (Over-parametrization and Sparsity; Zhang,
 * Bengio, Hardt, Recht, Vinyals, "Understanding deep learning requires rethinking generalization",
 * ICLR 2017): the same network fits the true labels and random labels alike (training accuracy →
 * 100%) while on random labels test accuracy stays at chance; explicit regularization (weight decay,
 * dropout) slows the memorization but does not prevent it.
 */
import { WebtrainError } from '../../errors';
import { l2Penalty } from '../../nn/functional';
import { mlp } from '../../nn/mlp';
import { Rng } from '../../data/rng';
import { DIGIT_SOURCES } from '../digits';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, epochSeries, round, subSeed, train } from './common';
import { defineDigitExperiment, digitSets } from './digit-data';

/** wt.lab.experiments.memorization: the experiment of this file's slides, run with `memorization.run(settings)` (or `run({digits})`). */
export const memorization = defineDigitExperiment({
  id: 'memorization',
  title: 'Memorization: fitting random labels',
  description:
    'Zhang et al. trained networks on images whose labels were replaced by random ones: the network reaches 100% training ' +
    'accuracy all the same, it just takes longer, and test accuracy stays at chance (10% for ten classes) since there is nothing to ' +
    'generalize. Capacity measures that only count parameters cannot tell the two runs apart. Here one network trains on a small ' +
    'set of digits with their true labels and with random labels, each with and without regularization (weight decay and ' +
    'dropout), which slows memorization but does not stop it.',
  defaults: {
    /** 'auto': digits passed to run(), else MNIST, else synthetic; 'mnist'; 'synthetic'. */
    source: 'auto',
    // 300 digits, 256 hidden units, 40 epochs: random labels reach 100% training accuracy on MNIST
    // (measured on the CPU backend in 26 s; 500/512/60 took 116 s for the same picture).
    n: 300,
    nTest: 500,
    hidden: 256,
    epochs: 40,
    batchSize: 50,
    /** Adam. */
    lr: 0.003,
    /** λ of the L2 penalty λ·Σw² in the regularized runs. */
    weightDecay: 0.0005,
    /** Dropout after the hidden layer in the regularized runs. */
    dropout: 0.2,
    /** Also train the regularized runs. */
    regularized: true,
    seed: 31,
  },
  check: (o) => {
    const id = 'memorization';
    checkChoice(id, o, 'source', DIGIT_SOURCES);
    checkInt(id, o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.weightDecay >= 0)) throw new WebtrainError(`lab.${id}: setting 'weightDecay' must be >= 0, got ${o.weightDecay}`);
    if (!(o.dropout >= 0 && o.dropout < 1)) throw new WebtrainError(`lab.${id}: setting 'dropout' must be in [0, 1), got ${o.dropout}`);
  },
  body: async (o, ctx, given) => {
    const sets = { n: o.n, nTest: o.nTest, seed: o.seed };
    const rng = new Rng(subSeed(o.seed, 3));
    const real = await digitSets(ctx, o.source, sets, given);
    const random = await digitSets(ctx, o.source, sets, given, (labels) => Int32Array.from(labels, () => rng.int(10)));
    const runs = [
      { label: 'true labels', data: real, reg: false },
      { label: 'random labels', data: random, reg: false },
      ...(o.regularized ? [{ label: 'true labels, regularized', data: real, reg: true }, { label: 'random labels, regularized', data: random, reg: true }] : []),
    ];
    const trainPlot: LabPlot = { title: 'Training accuracy', xLabel: 'epoch', yLabel: 'training accuracy', series: [] };
    const testPlot: LabPlot = { title: 'Test accuracy (true test labels)', xLabel: 'epoch', yLabel: 'test accuracy', series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = { data: real.digits.source };
    for (const [i, run] of runs.entries()) {
      const model = mlp({ sizes: [784, o.hidden, 10], dropout: run.reg ? o.dropout : 0, seed: subSeed(o.seed, 1), backend: ctx.backend });
      const h = await train(ctx.progress.part(i, runs.length), model, { train: run.data.train, valid: run.data.test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label: run.label,
        regularizer: run.reg && o.weightDecay > 0 ? (m) => l2Penalty(m, o.weightDecay) : undefined,
      }).finally(() => model.dispose());
      trainPlot.series.push(epochSeries(run.label, h, 'trainAccuracy'));
      testPlot.series.push(epochSeries(run.label, h, 'validAccuracy'));
      const end = h.epochs[h.epochs.length - 1];
      const first100 = h.epochs.findIndex((e) => (e.trainAccuracy ?? 0) >= 1);
      rows.push([run.label, round(end.trainAccuracy ?? NaN), round(end.validAccuracy ?? NaN), first100 >= 0 ? first100 + 1 : '–']);
      summary[`training accuracy, ${run.label}`] = round(end.trainAccuracy ?? NaN);
      summary[`test accuracy, ${run.label}`] = round(end.validAccuracy ?? NaN);
    }
    return {
      plots: [trainPlot, testPlot],
      table: { columns: ['labels', 'final training accuracy', 'final test accuracy', 'first epoch at 100% training accuracy'], rows },
      summary,
    };
  },
});
