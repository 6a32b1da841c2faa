/**
 * Slide "Mixup" (Neural Network Optimization; Zhang, Cisse, Dauphin, Lopez-Paz, "mixup: Beyond
 * Empirical Risk Minimization", ICLR 2018): training on x = λx₁ + (1 − λ)x₂, y = λy₁ + (1 − λ)y₂
 * with λ ~ Beta(α, α), against plain empirical risk minimization (ERM) on the same data.
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { mixup as mixBatch } from '../../data/mixup';
import type { Dataset } from '../../data/dataset';
import type { DatasetLike } from '../../train/fit';
import type { LabHeatmap, LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, decisionMap, defineExperiment, epochSeries, round, score, subSeed, train, twoClassData } from './common';

/** wt.lab.experiments.mixup: the experiment of this file's slides, run with `mixup.run(settings)`. */
export const mixup = defineExperiment({
  id: 'mixup',
  title: 'Mixup vs empirical risk minimization',
  description:
    'Two copies of the same network train on a small, noisy training set: one on the examples as they are (ERM), one on mixup ' +
    'batches, convex combinations of pairs of examples and of their one-hot labels with λ ~ Beta(α, α). Mixup asks the network to ' +
    'behave linearly between training examples; it acts as a data augmentation and a regularizer. ERM fits the noise with sharp, ' +
    'convoluted decision boundaries and grows overconfident (the test loss climbs); mixup gives smoother boundaries and ' +
    'transitions of the class probability between the classes (compare the decision maps).',
  defaults: {
    dataset: 'moons',
    /** A small training set, per class. */
    n: 30,
    nTest: 200,
    noise: 0.3,
    hidden: 64,
    epochs: 60,
    batchSize: 10,
    /** Adam. */
    lr: 0.01,
    /** λ ~ Beta(alpha, alpha). */
    alpha: 0.4,
    mapSteps: 40,
    seed: 9,
  },
  check: (o) => {
    checkChoice('mixup', o, 'dataset', DATASETS);
    checkInt('mixup', o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize', 'mapSteps']);
    for (const k of ['lr', 'alpha'] as const) if (!(o[k] > 0)) throw new WebtrainError(`lab.mixup: setting '${k}' must be > 0, got ${o[k]}`);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const testLoss: LabPlot = { title: 'Test loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const testAcc: LabPlot = { title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy', series: [] };
    const heatmaps: LabHeatmap[] = [];
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    const variants: [string, DatasetLike][] = [['ERM', trainSet], [`mixup α=${o.alpha}`, mixed(trainSet, o.alpha, subSeed(o.seed, 4))]];
    for (let k = 0; k < variants.length; k++) {
      const [label, data] = variants[k];
      const model = ctx.own(mlp({ sizes: [2, o.hidden, o.hidden, 2], seed: subSeed(o.seed, 1), backend: ctx.backend }));
      const h = await train(ctx.progress.part(k, variants.length), model, { train: data, valid: test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label,
      });
      const clean = await score(model, trainSet);
      const s = await score(model, test);
      testLoss.series.push(epochSeries(label, h, 'validLoss'));
      testAcc.series.push(epochSeries(label, h, 'validAccuracy'));
      heatmaps.push(await decisionMap(model, ctx, { ...mapArea(o.dataset), steps: o.mapSteps, title: `P(class 1), ${label}` }));
      rows.push([label, round(clean.loss), round(clean.accuracy), round(s.loss), round(s.accuracy)]);
      summary[`test loss, ${label}`] = round(s.loss);
      summary[`test accuracy, ${label}`] = round(s.accuracy);
    }
    return {
      plots: [testLoss, testAcc],
      heatmaps,
      table: { columns: ['training', 'training loss (clean examples)', 'training accuracy', 'test loss', 'test accuracy'], rows },
      summary,
    };
  },
});

/**
 * The training set seen through mixup: each batch fit draws is mixed with its own seed (a counter
 * over the batches), so runs repeat exactly. Labels become soft [B, 2], which fit's cross-entropy
 * and accuracy accept.
 */
function mixed(ds: Dataset, alpha: number, seed: number): DatasetLike {
  let batch = 0;
  return {
    x: ds.x,
    y: ds.y,
    size: ds.size,
    *batches(opts) {
      for (const b of ds.batches(opts)) {
        try {
          const m = mixBatch(b.x, b.y, alpha, { numClasses: 2, seed: subSeed(seed, batch++) });
          yield { x: m.x, y: m.y };
        } finally {
          b.x.dispose();
          b.y.dispose();
        }
      }
    },
  };
}

/** Where the decision map looks: the square around each data set's points. */
function mapArea(dataset: string): { range: number; center: [number, number] } {
  return dataset === 'moons' ? { range: 1.9, center: [0.5, 0.25] } : { range: 1.5, center: [0, 0] };
}
