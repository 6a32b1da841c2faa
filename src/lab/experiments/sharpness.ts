/**
 * Slides "Fancy optimizers and large batch sizes" (Neural Network Optimization) and "They work best
 * when badly trained: sharp vs. flat minima" (Training Neural Networks): small- vs large-batch SGD
 * and Adam, compared by the top eigenvalue of the Hessian of the training loss at the end of
 * training (Keskar et al., ICLR 2017) and by test accuracy.
 */
import { WebtrainError } from '../../errors';
import { mlp, type ActivationName } from '../../nn/mlp';
import { noGrad } from '../../session';
import { keep, tidy } from '../../runtime';
import type { OptimizerSpec } from '../../train/optimizers';
import { hessianTopEigen } from '../hessian';
import { interpolate } from '../interpolate';
import { copyValues, disposeAll } from '../params';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, datasetLoss, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.sharpness: the experiment of this file's slides, run with `sharpness.run(settings)`. */
export const sharpness = defineExperiment({
  id: 'sharpness',
  title: 'Sharpness: small vs large batches, SGD vs Adam',
  description:
    'The same MLP trained four ways, SGD or Adam with small or large mini-batches, for the same number of epochs. At the end, the ' +
    'sharpness of the minimum is the largest eigenvalue of the Hessian of the training loss, found by power iteration on ' +
    'Hessian-vector products (the Hessian itself is never formed); the loss along the corresponding eigenvector shows how fast the ' +
    'loss rises in the sharpest direction. Keskar et al. found that large batches converge to sharper minima that generalize worse, ' +
    'and Wilson et al. that adaptive methods can generalize worse than SGD; Dinh et al. showed sharpness can be changed by ' +
    'reparametrization without changing the function, so the jury is still out. Compare the top eigenvalues with the test accuracy, ' +
    'and with the training loss: at an equal number of epochs large batches take fewer steps and may stop short of a minimum.',
  defaults: {
    dataset: 'moons',
    n: 100,
    nTest: 100,
    noise: 0.2,
    hidden: 16,
    /** A smooth activation keeps the Hessian meaningful (ReLU's kinks are invisible to it but not to the loss along a line). */
    activation: 'tanh',
    epochs: 30,
    smallBatch: 8,
    /** At least the training set size: full-batch gradient descent. */
    largeBatch: 200,
    lrSgd: 0.1,
    lrAdam: 0.01,
    /** Power iterations for the top eigenvalue. */
    iters: 20,
    /** The loss profile along the top eigenvector covers θ + t·v, |t| ≤ radius. */
    profileRadius: 1,
    profileSteps: 21,
    seed: 6,
  },
  check: (o) => {
    checkChoice('sharpness', o, 'dataset', DATASETS);
    checkChoice('sharpness', o, 'activation', ['tanh', 'relu', 'gelu', 'sigmoid']);
    checkInt('sharpness', o, ['n', 'nTest', 'hidden', 'epochs', 'smallBatch', 'largeBatch', 'iters', 'profileSteps']);
    for (const k of ['lrSgd', 'lrAdam', 'profileRadius'] as const) {
      if (!(o[k] > 0)) throw new WebtrainError(`lab.sharpness: setting '${k}' must be > 0, got ${o[k]}`);
    }
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const configs: [string, OptimizerSpec, number][] = [
      ['SGD small batch', { name: 'sgd', lr: o.lrSgd }, o.smallBatch],
      ['SGD large batch', { name: 'sgd', lr: o.lrSgd }, o.largeBatch],
      ['Adam small batch', { name: 'adam', lr: o.lrAdam }, o.smallBatch],
      ['Adam large batch', { name: 'adam', lr: o.lrAdam }, o.largeBatch],
    ];
    const lossPlot: LabPlot = { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const profilePlot: LabPlot = { title: 'Training loss along the top Hessian eigenvector, L(θ + t·v)', xLabel: 't', yLabel: 'cross-entropy', series: [] };
    const powerPlot: LabPlot = { title: 'Power iteration: estimate of the top eigenvalue', xLabel: 'iteration', yLabel: 'λ estimate', series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    for (let k = 0; k < configs.length; k++) {
      const [label, spec, batchSize] = configs[k];
      const part = ctx.progress.part(k, configs.length);
      const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], activation: o.activation as ActivationName, seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const h = await train(part.sub(0, 0.6), model, trainSet, {
        epochs: o.epochs, batchSize, optimizer: spec, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label,
      });
      model.eval();
      const lossFn = datasetLoss(model, trainSet);
      const params = model.parameters();
      const eig = await hessianTopEigen(lossFn, params, { iters: o.iters, seed: subSeed(o.seed, 3), ...part.sub(0.6, 0.9).options() });
      // The segment θ − r·v → θ + r·v, as interpolate's θ0 → θ1.
      const theta = copyValues(params);
      const ends = [-o.profileRadius, o.profileRadius].map((t) => noGrad(() => theta.map((p, i) => keep(tidy(() => p.add(eig.vector[i].mul(t)))))));
      let profile: { alphas: number[]; loss: number[] };
      try {
        profile = await interpolate(lossFn, params, ends[0], ends[1], { steps: o.profileSteps, ...part.sub(0.9, 1).options() });
      } finally {
        [theta, eig.vector, ...ends].forEach(disposeAll);
      }
      const s = await score(model, test);
      const finalLoss = last(h.epochs.map((e) => e.trainLoss));
      lossPlot.series.push(epochSeries(label, h, 'trainLoss'));
      profilePlot.series.push({ label, x: profile.alphas.map((a) => -o.profileRadius + 2 * o.profileRadius * a), y: profile.loss });
      powerPlot.series.push({ label, x: eig.history.map((_, i) => i + 1), y: eig.history });
      rows.push([label, Math.min(batchSize, trainSet.size), round(eig.eigenvalue), round(finalLoss), round(s.accuracy)]);
      summary[`top eigenvalue, ${label}`] = round(eig.eigenvalue);
      summary[`test accuracy, ${label}`] = round(s.accuracy);
    }
    return {
      plots: [lossPlot, profilePlot, powerPlot],
      table: { columns: ['training', 'batch size', 'top Hessian eigenvalue', 'final training loss', 'test accuracy'], rows },
      summary,
    };
  },
});
