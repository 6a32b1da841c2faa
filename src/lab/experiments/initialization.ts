/**
 * Slides "Weight initialization" (Neural Network Optimization) and "Parameter initialization"
 * (Training Neural Networks): zeros, a constant, small and large normal draws, and Glorot's
 * U[-b, b], b = sqrt(6 / (fan_in + fan_out)), on the same tanh network and data.
 */
import { WebtrainError } from '../../errors';
import { constant, normal, type Initializer, type InitName } from '../../nn/init';
import { mlp } from '../../nn/mlp';
import { Linear, type Sequential } from '../../nn/layers';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.initialization: the experiment of this file's slides, run with `initialization.run(settings)`. */
export const initialization = defineExperiment({
  id: 'initialization',
  title: 'Initialization: zeros, constant, small, large, Glorot',
  description:
    'The same tanh network trained from five initializations. Zero is a critical point: the error signal does not propagate and ' +
    'the hidden layers never learn (only the output bias does). A constant breaks nothing either: every hidden unit of a layer ' +
    'computes the same function and gets the same update, so the units stay identical forever (count the distinct units). ' +
    'Small random values break the symmetry but start near the saddle at zero, which slows the start; large values saturate tanh ' +
    "and start on a plateau with small gradients. Glorot's U[-b, b], b = sqrt(6 / (fan_in + fan_out)), keeps the pre-activations " +
    'in the linear range of tanh and trains fastest.',
  defaults: {
    dataset: 'circles',
    /** Training examples per class. */
    n: 100,
    nTest: 100,
    noise: 0.15,
    hidden: 16,
    epochs: 30,
    batchSize: 20,
    /** SGD with momentum 0.9. */
    lr: 0.05,
    constantValue: 0.5,
    smallStd: 0.01,
    largeStd: 10,
    seed: 1,
  },
  check: (o) => {
    checkChoice('initialization', o, 'dataset', DATASETS);
    checkInt('initialization', o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.initialization: setting 'lr' must be > 0, got ${o.lr}`);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const inits: [string, InitName | Initializer][] = [
      ['zeros', 'zeros'],
      [`constant ${o.constantValue}`, (shape, opts) => constant(shape, o.constantValue, opts)],
      [`normal σ=${o.smallStd}`, (shape, opts) => normal(shape, 0, o.smallStd, opts)],
      [`normal σ=${o.largeStd}`, (shape, opts) => normal(shape, 0, o.largeStd, opts)],
      ['Glorot uniform', 'glorotUniform'],
    ];
    const series = [];
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    for (let k = 0; k < inits.length; k++) {
      const [label, init] = inits[k];
      const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], activation: 'tanh', init, seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const h = await train(ctx.progress.part(k, inits.length), model, trainSet, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'momentum', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label,
      });
      const s = await score(model, test);
      const units = await distinctUnits(model);
      series.push(epochSeries(label, h, 'trainLoss'));
      rows.push([label, round(last(h.epochs.map((e) => e.trainLoss))), round(s.accuracy), units.join(' / ')]);
      summary[`final training loss, ${label}`] = round(last(h.epochs.map((e) => e.trainLoss)));
      summary[`distinct hidden units, ${label}`] = units.join(' / ');
    }
    return {
      plots: [{ title: 'Training loss by initialization', xLabel: 'epoch', yLabel: 'cross-entropy', series }],
      table: { columns: ['initialization', 'final training loss', 'test accuracy', `distinct units (layer 1 / layer 2, of ${o.hidden})`], rows },
      summary,
    };
  },
});

/**
 * How many different units each hidden layer has after training: units (rows of the weight
 * matrix, with their bias) that are equal to within 1e-6 count once. Symmetric initializations
 * leave 1.
 */
async function distinctUnits(model: Sequential): Promise<number[]> {
  const linears = model.modules().filter((m): m is Linear => m instanceof Linear).slice(0, -1);
  const counts: number[] = [];
  for (const lin of linears) {
    const w = await lin.weight.data();
    const b = lin.bias ? await lin.bias.data() : new Float32Array(lin.outFeatures);
    const rows: number[][] = Array.from({ length: lin.outFeatures }, (_, i) => [...Array.from(w.subarray(i * lin.inFeatures, (i + 1) * lin.inFeatures)), b[i]]);
    const distinct: number[][] = [];
    for (const r of rows) {
      if (!distinct.some((d) => d.every((v, j) => Math.abs(v - r[j]) <= 1e-6 * (1 + Math.abs(v))))) distinct.push(r);
    }
    counts.push(distinct.length);
  }
  return counts;
}
