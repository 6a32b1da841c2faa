/**
 * Slides "Batch normalization", "Beyond batch norm: group normalization" and "Small batches and
 * batch norm" (Neural Network Optimization): no normalization vs batch, layer, group and instance
 * norm in one MLP; batch norm vs group norm as the batch shrinks to 2 (Wu & He, "Group
 * Normalization", ECCV 2018).
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { Module } from '../../nn/module';
import { BatchNorm1d, GroupNorm, InstanceNorm, LayerNorm } from '../../nn/norm';
import type { BackendName } from '../../backend/backend';
import type { Tensor } from '../../tensor';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, epochSeries, last, round, score, subSeed, train, twoClassData, type Context } from './common';

type NormName = 'none' | 'batch' | 'layer' | 'group' | 'instance';
const NORMS: NormName[] = ['none', 'batch', 'layer', 'group', 'instance'];

/** wt.lab.experiments.normalization: the experiment of this file's slides, run with `normalization.run(settings)`. */
export const normalization = defineExperiment({
  id: 'normalization',
  title: 'Normalization: none, batch, layer, group, instance; batch vs group norm at small batches',
  description:
    'Each hidden layer of width C·L is viewed as C channels of L positions, as the [N, C, H·W] picture of the group-norm paper, ' +
    'and normalized after its Linear: batch norm over the batch and positions of each channel, layer norm over all channels and ' +
    'positions of each example, group norm over groups of channels of each example, instance norm over the positions of each ' +
    'channel of each example; all with a learned scale and shift. Normalizing keeps pre-activations in the range where the ' +
    "nonlinearity has a slope and usually allows larger learning rates. Batch norm's statistics come from the mini-batch, and in " +
    'evaluation from running averages: with tiny batches they are noisy and the two disagree, so batch norm degrades as the batch ' +
    'shrinks, while group norm, computed per example, does not depend on the batch at all.',
  defaults: {
    dataset: 'circles',
    n: 100,
    nTest: 100,
    noise: 0.1,
    /** Channels of each hidden layer (width = channels × positions). */
    channels: 4,
    positions: 4,
    /** Groups of group norm (divides channels). */
    groups: 2,
    /** Hidden layers. */
    depth: 4,
    epochs: 20,
    batchSize: 32,
    /** Adam. */
    lr: 0.01,
    /** Batch sizes of the batch-norm vs group-norm sweep, comma separated. */
    sweepBatchSizes: '32,8,2',
    sweepEpochs: 5,
    seed: 5,
  },
  check: (o) => {
    checkChoice('normalization', o, 'dataset', DATASETS);
    checkInt('normalization', o, ['n', 'nTest', 'channels', 'positions', 'groups', 'depth', 'epochs', 'batchSize', 'sweepEpochs']);
    if (o.positions < 2) throw new WebtrainError(`lab.normalization: 'positions' must be >= 2 (instance norm normalizes over them), got ${o.positions}`);
    if (o.channels % o.groups !== 0) throw new WebtrainError(`lab.normalization: 'groups' (${o.groups}) must divide 'channels' (${o.channels})`);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.normalization: setting 'lr' must be > 0, got ${o.lr}`);
    batchSizes(o.sweepBatchSizes);
  },
  body: async (o, ctx) => {
    const { train: trainSet, test } = twoClassData(ctx, o.dataset, o);
    const sweep = batchSizes(o.sweepBatchSizes);
    const lossPlot: LabPlot = { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [] };
    const testPlot: LabPlot = { title: 'Test accuracy (evaluation mode)', xLabel: 'epoch', yLabel: 'accuracy', series: [] };
    const sweepPlot: LabPlot = { title: `Test accuracy after ${o.sweepEpochs} epochs vs batch size`, xLabel: 'batch size', yLabel: 'test accuracy', series: [] };
    const rows: (string | number)[][] = [];
    const summary: Record<string, number | string> = {};
    const runs = NORMS.length + 2 * sweep.length;
    let done = 0;
    for (const norm of NORMS) {
      const model = ctx.own(normModel(o, ctx, norm));
      const h = await train(ctx.progress.part(done++, runs), model, { train: trainSet, valid: test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label: norm,
      });
      const s = await score(model, test);
      lossPlot.series.push(epochSeries(norm, h, 'trainLoss'));
      testPlot.series.push(epochSeries(norm, h, 'validAccuracy'));
      const finalLoss = last(h.epochs.map((e) => e.trainLoss));
      rows.push([norm, round(finalLoss), round(s.loss), round(s.accuracy)]);
      summary[`test accuracy, ${norm}`] = round(s.accuracy);
    }
    for (const norm of ['batch', 'group'] as const) {
      const accuracy: number[] = [];
      for (const bs of sweep) {
        const model = ctx.own(normModel(o, ctx, norm));
        await train(ctx.progress.part(done++, runs), model, trainSet, {
          epochs: o.sweepEpochs, batchSize: bs, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 3), readsPerEpoch: 1,
          label: `${norm} norm, batch size ${bs}`,
        });
        accuracy.push((await score(model, test)).accuracy);
        summary[`test accuracy, ${norm} norm, batch size ${bs}`] = round(last(accuracy));
      }
      sweepPlot.series.push({ label: `${norm} norm`, x: sweep, y: accuracy });
    }
    return {
      plots: [lossPlot, testPlot, sweepPlot],
      table: { columns: ['normalization', 'final training loss', 'test loss', 'test accuracy'], rows },
      summary,
    };
  },
});

/** The MLP with `norm` after each hidden Linear (before its ReLU); one seed for every variant, so the Linear weights start equal. */
function normModel(o: { channels: number; positions: number; groups: number; depth: number; seed: number }, ctx: Context, norm: NormName) {
  const width = o.channels * o.positions;
  const at = { backend: ctx.backend as BackendName };
  const layer = (): Module => {
    switch (norm) {
      case 'batch': return new ChannelView(o.channels, new BatchNorm1d(o.channels, at));
      case 'layer': return new LayerNorm(width, at);
      case 'group': return new ChannelView(o.channels, new GroupNorm(o.groups, o.channels, at));
      case 'instance': return new ChannelView(o.channels, new InstanceNorm(o.channels, { ...at, affine: true }));
      default: throw new WebtrainError(`lab.normalization: unknown norm '${norm}'`);
    }
  };
  return mlp({ sizes: [2, ...Array(o.depth).fill(width), 2], norm: norm === 'none' ? 'none' : layer, seed: subSeed(o.seed, 1), backend: ctx.backend });
}

/**
 * A norm layer applied to features [N, C·L] viewed as [N, C, L]: C channels of L positions, the
 * layout channel norms expect. Its state dict keys are the inner layer's under 'norm.'.
 */
class ChannelView extends Module {
  constructor(private readonly channels: number, private readonly norm: Module) {
    super();
    this.addModule('norm', norm);
  }

  forward(x: Tensor): Tensor {
    const [n, width] = x.shape;
    return this.norm.forward(x.reshape([n, this.channels, width / this.channels])).reshape([n, width]);
  }
}

function batchSizes(list: string): number[] {
  const sizes = list.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || !sizes.every((b) => Number.isInteger(b) && b >= 2)) {
    throw new WebtrainError(`lab.normalization: 'sweepBatchSizes' must list integers >= 2 separated by commas (batch norm needs 2 examples), got '${list}'`);
  }
  return sizes;
}
