/**
 * Slide "Gradient descent: convergence conditions, decrease constant" (Training Neural Networks):
 * SGD converges if Σα_t = ∞ and Σα_t² < ∞; decreasing strategies α_t = α/(1 + δt) and
 * α_t = α/t^δ (0.5 < δ ≤ 1); "better to use a fixed learning rate for the first few updates".
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { constant, inverseDecay, powerDecay, warmup, type Schedule } from '../../optim/schedule';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.lrDecay: the experiment of this file's slides, run with `lrDecay.run(settings)`. */
export const lrDecay = defineExperiment({
  id: 'lrDecay',
  title: 'Learning-rate decay: α/(1+δt), α/t^δ, constant, warm-up',
  description:
    'Stochastic gradient descent converges when the learning rates satisfy Σα_t = ∞ (it can travel anywhere) and Σα_t² < ∞ (the ' +
    'noise of the mini-batch gradients dies out). A constant rate makes fast progress and then rattles around the minimum; the ' +
    'decays α/(1 + δt) and α/t^δ (0.5 < δ ≤ 1) settle down, at the price of slower progress later. Warm-up keeps the rate fixed ' +
    'for the first updates before decaying. Every run starts from the same weights and sees the same mini-batches.',
  defaults: {
    dataset: 'moons',
    n: 100,
    nTest: 100,
    noise: 0.2,
    hidden: 16,
    epochs: 30,
    batchSize: 10,
    /** α, plain SGD. */
    lr: 0.5,
    /** δ of α/(1 + δt), t counting updates. */
    inverseDelta: 0.02,
    /** δ of α/t^δ, in (0.5, 1]. */
    powerDelta: 0.6,
    /** Updates at the fixed rate α before α/(1 + δt) starts. */
    warmupSteps: 100,
    seed: 4,
  },
  check: (o) => {
    checkChoice('lrDecay', o, 'dataset', DATASETS);
    checkInt('lrDecay', o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize']);
    checkInt('lrDecay', o, ['warmupSteps'], 0);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.lrDecay: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.inverseDelta >= 0)) throw new WebtrainError(`lab.lrDecay: setting 'inverseDelta' must be >= 0, got ${o.inverseDelta}`);
    if (!(o.powerDelta > 0.5 && o.powerDelta <= 1)) throw new WebtrainError(`lab.lrDecay: setting 'powerDelta' must be in (0.5, 1], got ${o.powerDelta}`);
  },
  body: async (o, ctx) => {
    const schedules: [string, Schedule][] = [
      [`constant α = ${o.lr}`, constant(o.lr)],
      [`α/(1 + ${o.inverseDelta}t)`, inverseDecay(o.lr, o.inverseDelta)],
      [`α/t^${o.powerDelta}`, powerDecay(o.lr, o.powerDelta)],
      [`${o.warmupSteps} fixed, then α/(1 + ${o.inverseDelta}t)`, warmup(o.warmupSteps, inverseDecay(o.lr, o.inverseDelta))],
    ];
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const updates = o.epochs * Math.ceil(trainSet.size / o.batchSize);
    const steps = Array.from({ length: updates }, (_, i) => i + 1);
    const lrPlot: LabPlot = { title: 'Learning rate α_t', xLabel: 'update t', yLabel: 'α_t', logY: true, series: [] };
    const lossPlot: LabPlot = { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const testPlot: LabPlot = { title: 'Test loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = { updates };
    for (let k = 0; k < schedules.length; k++) {
      const [label, schedule] = schedules[k];
      const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const h = await train(ctx.progress.part(k, schedules.length), model, { train: trainSet, valid: test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'sgd', lr: schedule }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label,
      });
      const s = await score(model, test);
      lrPlot.series.push({ label, x: steps, y: steps.map(schedule) });
      lossPlot.series.push(epochSeries(label, h, 'trainLoss'));
      testPlot.series.push(epochSeries(label, h, 'validLoss'));
      const finalLoss = last(h.epochs.map((e) => e.trainLoss));
      rows.push([label, round(schedule(updates)), round(finalLoss), round(s.loss), round(s.accuracy)]);
      summary[`final training loss, ${label}`] = round(finalLoss);
    }
    return {
      plots: [lossPlot, testPlot, lrPlot],
      table: { columns: ['schedule', 'last α_t', 'final training loss', 'test loss', 'test accuracy'], rows },
      summary,
    };
  },
});
