/**
 * Slides "Activation functions", "Problems with sigmoids" and "Plateaus" (Neural Network
 * Optimization): sigmoid, tanh and ReLU in the same deep MLP. Backpropagation multiplies the
 * error signal by g'(a) at every layer (∇_a = ∇_h ⊙ g'(a), slide "Gradient computation"); with
 * sigmoid g' ≤ 1/4, so the gradient of the first layers vanishes geometrically with depth.
 */
import { WebtrainError } from '../../errors';
import { gradients } from '../../autograd/backward';
import { concat } from '../../ops/functional';
import { tidy } from '../../runtime';
import { noGrad } from '../../session';
import type { Tensor } from '../../tensor';
import { mlp, type ActivationName } from '../../nn/mlp';
import { Linear, type Sequential } from '../../nn/layers';
import { crossEntropy } from '../../nn/functional';
import type { Dataset } from '../../data/dataset';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData } from './common';

const ACTIVATIONS: ActivationName[] = ['sigmoid', 'tanh', 'relu'];

/** wt.lab.experiments.activations: the experiment of this file's slides, run with `activations.run(settings)`. */
export const activations = defineExperiment({
  id: 'activations',
  title: 'Activations: sigmoid vs tanh vs ReLU in a deep MLP',
  description:
    'The same deep MLP (Glorot initialization) with sigmoid, tanh or ReLU hidden units. Backpropagation multiplies the error signal ' +
    "by the activation's derivative g'(a) at every layer. The sigmoid's derivative is at most 1/4 (and its outputs are not " +
    'zero-centred), so the gradient reaching the first layers shrinks geometrically with depth: they barely learn, and training ' +
    "sits on a plateau. tanh's derivative is 1 at zero but saturates for large |a|; ReLU passes the gradient unchanged where a unit " +
    'is active. Compare the gradient norm of each layer at initialization, the mean derivative per layer, and the training curves.',
  defaults: {
    dataset: 'moons',
    n: 100,
    nTest: 100,
    noise: 0.15,
    /** Hidden layers. */
    depth: 6,
    width: 16,
    epochs: 20,
    batchSize: 20,
    /** SGD with momentum 0.9. */
    lr: 0.05,
    seed: 2,
  },
  check: (o) => {
    checkChoice('activations', o, 'dataset', DATASETS);
    checkInt('activations', o, ['n', 'nTest', 'depth', 'width', 'epochs', 'batchSize']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.activations: setting 'lr' must be > 0, got ${o.lr}`);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const layers = Array.from({ length: o.depth + 1 }, (_, i) => i + 1);
    const gradPlot: LabPlot = { title: 'Gradient norm ‖∂L/∂Wₖ‖ per layer at initialization', xLabel: 'layer k (1 = input side)', yLabel: '‖∂L/∂Wₖ‖', logY: true, series: [] };
    const derivPlot: LabPlot = { title: "Mean derivative g'(a) per hidden layer at initialization", xLabel: 'hidden layer', yLabel: "mean g'(a)", series: [] };
    const afterPlot: LabPlot = { title: 'Gradient norm per layer after training', xLabel: 'layer k (1 = input side)', yLabel: '‖∂L/∂Wₖ‖', logY: true, series: [] };
    const lossPlot: LabPlot = { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    for (let k = 0; k < ACTIVATIONS.length; k++) {
      const act = ACTIVATIONS[k];
      const model = ctx.own(mlp({ sizes: [2, ...Array(o.depth).fill(o.width), 2], activation: act, seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const before = await layerStats(model, trainSet, act);
      const h = await train(ctx.progress.part(k, ACTIVATIONS.length), model, trainSet, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'momentum', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label: act,
      });
      const after = await layerStats(model, trainSet, act);
      const s = await score(model, test);
      // Clamped above 0 for the log axis: a layer whose units are all dead has an exactly zero gradient.
      gradPlot.series.push({ label: act, x: layers, y: before.gradNorms.map(positive) });
      derivPlot.series.push({ label: act, x: layers.slice(0, -1), y: before.meanDerivative });
      afterPlot.series.push({ label: act, x: layers, y: after.gradNorms.map(positive) });
      lossPlot.series.push(epochSeries(act, h, 'trainLoss'));
      const [first, lastLayer] = [before.gradNorms[0], last(before.gradNorms)];
      rows.push([act, round(first), round(lastLayer), round(first / lastLayer), round(last(h.epochs.map((e) => e.trainLoss))), round(s.accuracy)]);
      summary[`first-layer gradient norm, ${act}`] = round(first);
      summary[`first / last layer gradient norm, ${act}`] = round(first / lastLayer);
      summary[`test accuracy, ${act}`] = round(s.accuracy);
    }
    return {
      plots: [gradPlot, derivPlot, lossPlot, afterPlot],
      table: { columns: ['activation', '‖∂L/∂W₁‖ at init', '‖∂L/∂W_last‖ at init', 'first / last', 'final training loss', 'test accuracy'], rows },
      summary,
    };
  },
});

/**
 * On the whole data set: the norm of the loss gradient of each Linear weight, and the mean of g'(a)
 * over the pre-activations of each hidden layer (the layers are run one by one, unfused, to see a).
 * One read back.
 */
async function layerStats(model: Sequential, ds: Dataset, act: ActivationName): Promise<{ gradNorms: number[]; meanDerivative: number[] }> {
  const linears = model.modules().filter((m): m is Linear => m instanceof Linear);
  const stats = tidy(() => {
    const pre: Tensor[] = [];
    let h = ds.x;
    for (let i = 0; i < model.length; i++) {
      const m = model.at(i);
      h = m.forward(h);
      if (m instanceof Linear && m !== linears.at(-1)) pre.push(h);
    }
    const loss = crossEntropy(h, ds.y);
    const grads = gradients(loss, linears.map((l) => l.weight), undefined, {});
    return noGrad(() => concat([
      ...grads.map((g) => g.square().sum().sqrt().reshape([1])),
      ...pre.map((a) => derivative(act, a).mean().reshape([1])),
    ]));
  });
  try {
    const v = Array.from(await stats.data());
    return { gradNorms: v.slice(0, linears.length), meanDerivative: v.slice(linears.length) };
  } finally {
    stats.dispose();
  }
}

const positive = (v: number) => Math.max(v, 1e-30);

/** g'(a): σ(a)(1 − σ(a)), 1 − tanh²(a), or 1[a > 0]. */
function derivative(act: ActivationName, a: Tensor): Tensor {
  switch (act) {
    case 'sigmoid': { const s = a.sigmoid(); return s.mul(s.neg().add(1)); }
    case 'tanh': return a.tanh().square().neg().add(1);
    case 'relu': return a.gt(0).cast(a.dtype);
    default: throw new WebtrainError(`lab.activations: no derivative for '${act}'`);
  }
}
