/**
 * Supermasks: sub-networks of an UNTRAINED network that already perform (Zhou et al., NeurIPS 2019;
 * Ramanujan, Wortsman, Kembhavi, Farhadi, Rastegari, "What's Hidden in a Randomly Weighted Neural
 * Network?", CVPR 2020, "edge-popup"). The weights stay frozen at their random initial values; what
 * is trained is one score per weight. In the forward pass each weight matrix is multiplied by the
 * mask keeping the top (1 − sparsity) fraction of its layer's scores; the top-k indicator has no
 * useful gradient, so the straight-through estimator passes the gradient to the scores as if the
 * mask were the scores themselves:
 *   W_eff = W · (M + s − stop_gradient(s))     (value W · M;  ∂L/∂s = ∂L/∂W_eff · W)
 * NOTE: the top-k is chosen on the host from the scores read back after every optimizer step (one
 * small read back per step): there is no sort or top-k op on the device.
 */
import { WebtrainError } from '../errors';
import { ones, rand, tensor } from '../create';
import { noGrad } from '../session';
import { tidy } from '../runtime';
import type { Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Linear, Sequential } from '../nn/layers';
import { linear } from '../nn/linear';
import { Rng } from '../data/rng';
import type { DatasetLike } from '../train/fit';
import { Progress, type ProgressOptions } from './progress';
import { score, train } from './experiments/common';
import { pruneLowest, randomMask } from './prune';

/**
 * A Sequential network (e.g. wt.nn.mlp) with frozen weights and a trainable score per weight of every
 * Linear layer: forward() uses W · M with M the top-k mask of the scores (straight-through to the
 * scores). parameters() are the scores only; the masks are buffers '<key>_mask', the scores
 * parameters '<key>_scores'. dispose() frees scores and masks, never the wrapped network.
 */
export class SupermaskModel extends Module {
  /** [key, frozen weight, scores, mask] per Linear layer. */
  readonly layers: { key: string; weight: Tensor; scores: Tensor; mask: Tensor }[] = [];

  constructor(readonly model: Sequential, readonly sparsity: number, opts: { seed?: number } = {}) {
    super();
    if (!(model instanceof Sequential)) throw new WebtrainError('SupermaskModel: the model must be a Sequential (e.g. wt.nn.mlp)');
    if (!(sparsity >= 0 && sparsity < 1)) throw new WebtrainError(`SupermaskModel: sparsity must be in [0, 1), got ${sparsity}`);
    for (let i = 0; i < model.length; i++) {
      const layer = model.at(i);
      if (!(layer instanceof Linear)) continue;
      const w = layer.weight;
      const key = `${i}.weight`;
      const scores = this.addParameter(`${key}_scores`, rand([...w.shape], { seed: ((opts.seed ?? 0) * 131 + i + 1) >>> 0, dtype: w.dtype, backend: w.backend.name }));
      const mask = this.addBuffer(`${key}_mask`, ones([...w.shape], { dtype: w.dtype, backend: w.backend.name }));
      this.layers.push({ key, weight: w, scores, mask });
    }
    if (this.layers.length === 0) throw new WebtrainError('SupermaskModel: the model has no Linear layer');
  }

  forward(x: Tensor): Tensor {
    let h = x;
    let k = 0;
    for (let i = 0; i < this.model.length; i++) {
      const layer = this.model.at(i);
      if (layer instanceof Linear) {
        const { weight, scores, mask } = this.layers[k++];
        // Straight-through: the value is mask exactly (s − s = 0), the gradient reaches the scores.
        const m = mask.add(scores.sub(scores.detach()));
        h = linear(h, weight.detach().mul(m), layer.bias?.detach(), { activation: layer.activation });
      } else {
        h = layer.forward(h);
      }
    }
    return h;
  }

  override train(mode = true): this {
    super.train(mode);
    this.model.train(mode);
    return this;
  }

  /** Each layer's mask ← its top (1 − sparsity) scores (pruneLowest: exactly round(sparsity · n) removed per layer). */
  async updateMasks(): Promise<void> {
    const values = await Promise.all(this.layers.map(async (l) => Float32Array.from(await l.scores.data())));
    this.setMasks(values.map((s) => pruneLowest(s, new Float32Array(s.length).fill(1), this.sparsity)));
  }

  /** Sets the masks' values directly (host arrays, one per layer). */
  setMasks(masks: Float32Array[]): void {
    noGrad(() => tidy(() => this.layers.forEach((l, i) => {
      l.mask.assign(tensor(masks[i], [...l.mask.shape], { dtype: l.mask.dtype, backend: l.mask.backend.name }));
    })));
  }

  async readMasks(): Promise<Float32Array[]> {
    return Promise.all(this.layers.map(async (l) => Float32Array.from(await l.mask.data())));
  }
}

/** Options of supermask. */
export interface SupermaskOptions extends ProgressOptions {
  /** A Sequential of Linear layers and activations (wt.nn.mlp); its weights are the frozen random weights (never changed). */
  model: Sequential;
  data: { train: DatasetLike; test: DatasetLike };
  /** Fraction of each layer's weights masked out, in [0, 1). */
  sparsity: number;
  epochs: number;
  batchSize: number;
  /** Adam's learning rate on the scores (default 0.05). */
  lr?: number;
  /** Seed of the scores, the batch order and the random-mask control. */
  seed?: number;
}

export interface SupermaskResult {
  /** Accuracy of the frozen weights under the trained supermask. */
  testAccuracy: number;
  trainAccuracy: number;
  /** The control: a random mask of the same size per layer over the same weights. */
  randomMaskTestAccuracy: number;
  /** The untrained network with all its weights. */
  denseTestAccuracy: number;
  /** Per epoch: training loss and test accuracy under the supermask. */
  curve: { epoch: number[]; trainLoss: number[]; testAccuracy: number[] };
  /** The final masks (host copies), and the weights kept per layer. */
  masks: Float32Array[];
  kept: number[];
}

/** Trains a supermask over the model's frozen weights; see the file comment. */
export async function supermask(opts: SupermaskOptions): Promise<SupermaskResult> {
  const { model, data, sparsity, epochs, batchSize, lr = 0.05, seed = 0 } = opts;
  const where = 'lab.supermask';
  if (!Number.isInteger(epochs) || epochs < 1) throw new WebtrainError(`${where}: epochs must be an integer >= 1, got ${epochs}`);
  if (!(lr > 0)) throw new WebtrainError(`${where}: lr must be > 0, got ${lr}`);
  if (!data?.train || !data?.test) throw new WebtrainError(`${where}: data must be {train, test}`);
  const progress = Progress.start(where, opts);
  const net = new SupermaskModel(model, sparsity, { seed });
  try {
    net.setMasks(net.layers.map((l) => new Float32Array(l.mask.size).fill(1)));
    const denseTestAccuracy = (await score(net, data.test)).accuracy;
    await net.updateMasks();
    const h = await train(progress.sub(0, 0.95), net, { train: data.train, valid: data.test }, {
      epochs, batchSize, optimizer: { name: 'adam', lr }, seed, readsPerEpoch: 1, label: 'supermask',
      callbacks: { onBatchEnd: () => net.updateMasks() },
    });
    const masks = await net.readMasks();
    const testAccuracy = (await score(net, data.test)).accuracy;
    const trainAccuracy = (await score(net, data.train)).accuracy;
    const kept = masks.map((m) => m.reduce((a, b) => a + b, 0));
    const rng = new Rng(seed, 0x5e3a);
    net.setMasks(masks.map((m, i) => randomMask(m.length, kept[i], rng)));
    const randomMaskTestAccuracy = (await score(net, data.test)).accuracy;
    await progress.report(1);
    return {
      testAccuracy, trainAccuracy, randomMaskTestAccuracy, denseTestAccuracy, masks, kept,
      curve: { epoch: h.epochs.map((e) => e.epoch + 1), trainLoss: h.epochs.map((e) => e.trainLoss), testAccuracy: h.epochs.map((e) => e.validAccuracy ?? NaN) },
    };
  } finally {
    net.dispose();
  }
}
