/**
 * Normalization layers with PyTorch's semantics, parameter and buffer names: BatchNorm1d,
 * BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm, and their functional forms (also exported from
 * wt.nn.functional). Each runs the fused kernels of src/ops/norm.ts: ONE dispatch forward, one for
 * the input gradient, plus (train mode with running statistics) one for the batch statistics and one
 * for the in-place running-statistics update.
 *
 * Statistics: mean and biased variance over the normalized elements, y = (x - mean) / sqrt(var + eps)
 * · weight + bias (eps 1e-5). Train mode updates the running statistics with momentum m (0.1):
 * running = (1 - m) running + m · batch statistic, the variance unbiased (· n / (n - 1)); with
 * momentum null, a cumulative average (m = 1 / numBatchesTracked), as PyTorch.
 */
import type { BackendName } from '../backend/backend';
import type { DType } from '../dtype';
import { fmtShape, WebtrainError } from '../errors';
import { full, ones, zeros } from '../create';
import { norm, normEval, normStats, updateRunningStats, type NormAttrs } from '../ops/norm';
import { apply } from '../runtime';
import { noGrad } from '../session';
import { numel, shapesEqual } from '../shape';
import type { Tensor } from '../tensor';
import { Module } from './module';
import { checkOptions, checkPositiveInt } from './options';

// ---------------------------------------------------------------------------------------------
// Functional forms

/** Options of the functional batchNorm (PyTorch's keyword arguments). */
export interface BatchNormOptions {
  /** Per-channel scale γ ([C]); none by default. */
  weight?: Tensor | null;
  /** Per-channel shift β ([C]). */
  bias?: Tensor | null;
  /** Batch statistics (and, when running statistics are given, their update) vs running statistics. Default false, as PyTorch. */
  training?: boolean;
  /** Running-average factor (default 0.1); null: cumulative average, which needs `numBatchesTracked`. */
  momentum?: number | null;
  eps?: number;
  /** webtrain addition: an i32 scalar incremented with each running update (the modules' num_batches_tracked). */
  numBatchesTracked?: Tensor | null;
}

/**
 * PyTorch's `F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)`:
 * x is [N, C, ...]; statistics per channel over N and the spatial dims. In training the batch
 * statistics normalize x and, if given, the running statistics are updated in place (outside the
 * tape); otherwise the running statistics normalize x (they must be given).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  checkOptions('batchNorm', opts, ['weight', 'bias', 'training', 'momentum', 'eps', 'numBatchesTracked']);
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5, numBatchesTracked = null } = opts;
  return channelNorm('batchNorm', 'batch', x, runningMean, runningVar, weight, bias, training, momentum, eps, numBatchesTracked);
}

/** Options of the functional instanceNorm. */
export interface InstanceNormOptions extends Omit<BatchNormOptions, 'training'> {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Normalize with each instance's own statistics (default true); false: with the running ones. */
  useInputStats?: boolean;
}

/**
 * PyTorch's `F.instance_norm`: x [N, C, *spatial], statistics per (sample, channel) over the
 * spatial dims. With running statistics and `useInputStats`, they are updated with the instance
 * statistics averaged over the batch.
 */
export function instanceNorm(x: Tensor, opts: InstanceNormOptions = {}): Tensor {
  checkOptions('instanceNorm', opts, ['runningMean', 'runningVar', 'weight', 'bias', 'useInputStats', 'momentum', 'eps', 'numBatchesTracked']);
  const { runningMean = null, runningVar = null, weight = null, bias = null, useInputStats = true, momentum = 0.1, eps = 1e-5,
    numBatchesTracked = null } = opts;
  return channelNorm('instanceNorm', 'instance', x, runningMean, runningVar, weight, bias, useInputStats, momentum, eps, numBatchesTracked);
}

/** Options of the functional layerNorm and groupNorm. */
export interface AffineNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/**
 * PyTorch's `F.layer_norm(x, normalized_shape, weight, bias, eps)`: statistics per sample over the
 * trailing dims `normalizedShape`; weight and bias have that shape.
 */
export function layerNorm(x: Tensor, normalizedShape: number | number[], opts: AffineNormOptions = {}): Tensor {
  checkOptions('layerNorm', opts, ['weight', 'bias', 'eps']);
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  const k = shape.length;
  if (k === 0 || x.rank < k || !shapesEqual(x.shape.slice(x.rank - k), shape)) {
    throw new WebtrainError(`layerNorm: normalizedShape ${fmtShape(shape)} must be the trailing dims of the input, got ${fmtShape(x.shape)}`);
  }
  const { weight = null, bias = null, eps = 1e-5 } = opts;
  return affineNorm({ kind: 'layer', normalizedRank: k, eps }, x, weight, bias);
}

/**
 * PyTorch's `F.group_norm(x, num_groups, weight, bias, eps)`: x [N, C, ...], statistics per
 * (sample, group of C / numGroups consecutive channels); weight and bias are per channel.
 */
export function groupNorm(x: Tensor, numGroups: number, opts: AffineNormOptions = {}): Tensor {
  checkOptions('groupNorm', opts, ['weight', 'bias', 'eps']);
  const { weight = null, bias = null, eps = 1e-5 } = opts;
  return affineNorm({ kind: 'group', groups: numGroups, eps }, x, weight, bias);
}

function affineNorm(attrs: NormAttrs, x: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const params = [weight, bias].filter((t): t is Tensor => t !== null);
  return apply(norm, [x, ...params], { ...attrs, weight: weight !== null, bias: bias !== null });
}

/** BatchNorm and InstanceNorm: per-channel weight/bias and optional per-channel running statistics. */
function channelNorm(op: string, kind: 'batch' | 'instance', x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null,
  weight: Tensor | null, bias: Tensor | null, useBatchStats: boolean, momentum: number | null, eps: number,
  numBatchesTracked: Tensor | null): Tensor {
  if ((runningMean === null) !== (runningVar === null)) throw new WebtrainError(`${op}: give both runningMean and runningVar, or neither`);
  if (x.rank < 2) throw new WebtrainError(`${op}: expects input [N, C, ...], got ${fmtShape(x.shape)}`);
  const [N, C] = x.shape;
  const spatial = numel(x.shape.slice(2));
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && !shapesEqual(t.shape, [C])) throw new WebtrainError(`${op}: ${name} must be [${C}] for input ${fmtShape(x.shape)} (channels in dim 1), got ${fmtShape(t.shape)}`);
  }
  checkMomentum(op, momentum);
  const attrs: NormAttrs = kind === 'batch' ? { kind: 'batch', eps } : { kind: 'group', groups: C, eps };
  if (!useBatchStats) {
    if (!runningMean || !runningVar) throw new WebtrainError(`${op}: running statistics are needed when not using batch statistics`);
    const params = [weight, bias].filter((t): t is Tensor => t !== null);
    return apply(normEval, [x, runningMean, runningVar, ...params], { eps, weight: weight !== null, bias: bias !== null });
  }
  const perStat = kind === 'batch' ? N * spatial : spatial;
  if (perStat <= 1) {
    throw new WebtrainError(kind === 'batch'
      ? `${op}: expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`
      : `${op}: expected more than 1 spatial element when training, got input of shape ${fmtShape(x.shape)}`);
  }
  if (runningMean && runningVar) {
    if (momentum === null && !numBatchesTracked) throw new WebtrainError(`${op}: momentum null (a cumulative average) needs numBatchesTracked`);
    noGrad(() => {
      const stats = apply(normStats, [x], attrs);
      try {
        updateRunningStats({ runningMean, runningVar, numBatchesTracked, stats, rowsPerChannel: kind === 'batch' ? 1 : N, momentum, n: perStat });
      } finally {
        stats.dispose();
      }
    });
  } else if (numBatchesTracked) {
    noGrad(() => numBatchesTracked.assign(numBatchesTracked.add(1)));
  }
  return affineNorm(attrs, x, weight, bias);
}

function checkMomentum(where: string, momentum: number | null): void {
  if (momentum !== null && !(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) {
    throw new WebtrainError(`${where}: momentum must be a number in [0, 1] or null (cumulative average), got ${momentum}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Modules

/** Where parameters and buffers are made. */
export interface PlacementOptions {
  backend?: BackendName;
  /** 'f32' (default) or 'f64' (CPU backend). */
  dtype?: DType;
}

/** Options of BatchNorm1d, BatchNorm2d and InstanceNorm (defaults differ for InstanceNorm, see there). */
export interface BatchNormModuleOptions extends PlacementOptions {
  eps?: number;
  /** Running-average factor (default 0.1), or null for a cumulative average. */
  momentum?: number | null;
  /** Learn `weight` (ones) and `bias` (zeros) per channel. */
  affine?: boolean;
  /** Keep `running_mean`, `running_var`, `num_batches_tracked` buffers and use them in eval mode. */
  trackRunningStats?: boolean;
}

/** The base of every normalization layer (optimizers and penalties can tell them apart). */
export abstract class NormLayer extends Module {
  readonly eps: number;
  /** Per-channel (per-element for LayerNorm) scale γ, or null without affine parameters. */
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  protected constructor(eps: number, weight: Tensor | null, bias: Tensor | null) {
    super();
    if (!(typeof eps === 'number' && eps > 0)) throw new WebtrainError(`${this.constructor.name}: eps must be a positive number, got ${eps}`);
    this.eps = eps;
    this.weight = weight && this.addParameter('weight', weight);
    this.bias = bias && this.addParameter('bias', bias);
  }
}

/** BatchNorm and InstanceNorm: per-channel parameters and running statistics. */
abstract class ChannelNorm extends NormLayer {
  readonly numFeatures: number;
  /** Running-statistics momentum; null for a cumulative average. Mutable, as in PyTorch (SWA's updateBatchNorm sets it). */
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  private readonly running: { mean: Tensor; var: Tensor; count: Tensor } | null;
  private readonly perInstance: boolean;

  protected constructor(numFeatures: number, opts: BatchNormModuleOptions,
    defaults: { affine: boolean; trackRunningStats: boolean; perInstance: boolean }) {
    const where = new.target.name;
    checkOptions(where, opts, ['eps', 'momentum', 'affine', 'trackRunningStats', 'backend', 'dtype']);
    checkPositiveInt(where, 'numFeatures', numFeatures);
    const { eps = 1e-5, momentum = 0.1, affine = defaults.affine, trackRunningStats = defaults.trackRunningStats, backend, dtype } = opts;
    checkMomentum(where, momentum);
    const at = { backend, dtype };
    super(eps, affine ? ones([numFeatures], at) : null, affine ? zeros([numFeatures], at) : null);
    this.numFeatures = numFeatures;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.perInstance = defaults.perInstance;
    this.running = trackRunningStats ? {
      mean: this.addBuffer('running_mean', zeros([numFeatures], at)),
      var: this.addBuffer('running_var', ones([numFeatures], at)),
      count: this.addBuffer('num_batches_tracked', full([], 0, { dtype: 'i32', backend })),
    } : null;
  }

  /** The running mean ('running_mean'), or null without trackRunningStats. Updated in place in train mode. */
  get runningMean(): Tensor | null { return this.running?.mean ?? null; }
  /** The running unbiased variance ('running_var'), or null without trackRunningStats. */
  get runningVar(): Tensor | null { return this.running?.var ?? null; }
  /** Train-mode forward passes so far ('num_batches_tracked', i32), or null without trackRunningStats. */
  get numBatchesTracked(): Tensor | null { return this.running?.count ?? null; }

  /** Running statistics back to mean 0, variance 1, count 0 (PyTorch's reset_running_stats). */
  resetRunningStats(): void {
    if (!this.running) return;
    this.running.mean.assign(0);
    this.running.var.assign(1);
    this.running.count.assign(0);
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const r = this.running;
    // Batch statistics in train mode (and always without running ones), which then update the
    // running ones in place; eval mode normalizes with the running ones (PyTorch's rule).
    const useBatchStats = this.training || !r;
    const opts = { weight: this.weight, bias: this.bias, momentum: this.momentum, eps: this.eps, numBatchesTracked: r?.count ?? null };
    const [mean, variance] = [r?.mean ?? null, r?.var ?? null];
    try {
      return this.perInstance
        ? instanceNorm(x, { ...opts, runningMean: mean, runningVar: variance, useInputStats: useBatchStats })
        : batchNorm(x, mean, variance, { ...opts, training: useBatchStats });
    } catch (e) {
      // Name the layer rather than the functional form.
      if (e instanceof WebtrainError) throw new WebtrainError(e.message.replace(/^(batchNorm|instanceNorm):/, `${this.constructor.name}:`));
      throw e;
    }
  }

  toString(): string {
    return `${this.constructor.name}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, ` +
      `track_running_stats=${this.trackRunningStats})`;
  }

  /** The channel-count error: the layer, its features, the shape received and a hint. */
  protected channelError(expected: string, x: Tensor, hint: string): never {
    throw new WebtrainError(`${this.constructor.name}(${this.numFeatures}): expected input ${expected} with ${this.numFeatures} ` +
      `features (channels) in dimension 1, got shape ${fmtShape(x.shape)}${hint ? `; ${hint}` : ''}`);
  }
}

/** A hint when x looks like one sample without its batch dimension, or channels-last. */
function batchHint(x: Tensor, features: number, unbatchedRank: number): string {
  if (x.rank === unbatchedRank && x.shape[0] === features) {
    return `a single sample? add a batch dimension first: x.unsqueeze(0) gives ${fmtShape([1, ...x.shape])}`;
  }
  if (x.rank >= 2 && x.shape[x.rank - 1] === features && x.shape[1] !== features) {
    return `the features seem to be in the last dimension: PyTorch's layout puts channels in dimension 1 (transpose the input?)`;
  }
  return '';
}

/**
 * PyTorch's `nn.BatchNorm1d(numFeatures)`: input [N, C] or [N, C, L]; statistics per channel over
 * the batch (and length). Parameters `weight` (ones), `bias` (zeros); buffers `running_mean`
 * (zeros), `running_var` (ones), `num_batches_tracked` (i32 0). Train mode normalizes with batch
 * statistics and updates the running ones; eval mode normalizes with the running ones.
 */
export class BatchNorm1d extends ChannelNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts, { affine: true, trackRunningStats: true, perInstance: false });
  }

  protected checkInput(x: Tensor): void {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      this.channelError(`[N, ${this.numFeatures}] or [N, ${this.numFeatures}, L]`, x, batchHint(x, this.numFeatures, 1) ||
        (x.rank === 4 ? 'for [N, C, H, W] images use BatchNorm2d' : ''));
    }
  }
}

/** PyTorch's `nn.BatchNorm2d(numFeatures)`: input [N, C, H, W]; otherwise as BatchNorm1d. */
export class BatchNorm2d extends ChannelNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts, { affine: true, trackRunningStats: true, perInstance: false });
  }

  protected checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      this.channelError(`[N, ${this.numFeatures}, H, W]`, x, batchHint(x, this.numFeatures, 3) ||
        (x.rank === 2 || x.rank === 3 ? 'for [N, C] or [N, C, L] use BatchNorm1d' : ''));
    }
  }
}

/**
 * PyTorch's `nn.InstanceNorm1d/2d/3d(numFeatures)` in one class: input [N, C, *spatial] (at least
 * one spatial dim); statistics per (sample, channel) over the spatial dims.
 *
 * Defaults are PyTorch's: `affine: false` and `trackRunningStats: false`, so by default the layer
 * has no parameters and no buffers and normalizes each instance in eval mode too. We keep them
 * (rather than giving every norm weight/bias and running buffers) because a state dict must load in
 * PyTorch and back, and an InstanceNorm2d there has no entries; and because eval mode with running
 * statistics changes the outputs, which would silently differ from PyTorch. Pass
 * `{affine: true, trackRunningStats: true}` for learned weight/bias and running statistics (the
 * running ones then take the instance statistics averaged over the batch, and eval mode uses them).
 */
export class InstanceNorm extends ChannelNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts, { affine: false, trackRunningStats: false, perInstance: true });
  }

  protected checkInput(x: Tensor): void {
    if (x.rank < 3 || x.shape[1] !== this.numFeatures) {
      const hint = x.rank === 2 && x.shape[0] === this.numFeatures
        ? `an unbatched [C, L] input? add a batch dimension first: x.unsqueeze(0) gives ${fmtShape([1, ...x.shape])}`
        : x.rank === 2 ? 'InstanceNorm needs at least one spatial dimension after the channels' : batchHint(x, this.numFeatures, 2);
      this.channelError(`[N, ${this.numFeatures}, *spatial]`, x, hint);
    }
  }
}

/** Options of LayerNorm (PyTorch's names). */
export interface LayerNormOptions extends PlacementOptions {
  eps?: number;
  /** Learn `weight` (ones) and `bias` (zeros) of normalizedShape (default true; PyTorch's elementwise_affine). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn `bias` (default true). */
  bias?: boolean;
}

/**
 * PyTorch's `nn.LayerNorm(normalizedShape)`: statistics per sample over the trailing dims
 * `normalizedShape` (a number is one trailing dim); `weight` (ones) and `bias` (zeros) have that
 * shape. No running statistics: train and eval mode are the same.
 */
export class LayerNorm extends NormLayer {
  readonly normalizedShape: number[];

  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    checkOptions('LayerNorm', opts, ['eps', 'elementwiseAffine', 'bias', 'backend', 'dtype']);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0) throw new WebtrainError('LayerNorm: normalizedShape must name at least one dimension');
    shape.forEach((d) => checkPositiveInt('LayerNorm', 'normalizedShape', d));
    const { eps = 1e-5, elementwiseAffine = true, bias = true, backend, dtype } = opts;
    const at = { backend, dtype };
    super(eps, elementwiseAffine ? ones(shape, at) : null, elementwiseAffine && bias ? zeros(shape, at) : null);
    this.normalizedShape = shape;
  }

  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    if (x.rank < k || !shapesEqual(x.shape.slice(x.rank - k), this.normalizedShape)) {
      const want = fmtShape(this.normalizedShape);
      throw new WebtrainError(`LayerNorm(${want}): expected an input whose last ${k === 1 ? 'dimension is' : `${k} dimensions are`} ` +
        `${k === 1 ? this.normalizedShape[0] : want} (the normalized features), got shape ${fmtShape(x.shape)}; ` +
        `leading dimensions are batch dimensions, e.g. [batch, ...${want}]` +
        (x.rank >= 2 && x.shape[1] === this.normalizedShape[0] && k === 1 ? ' (channels in dimension 1? LayerNorm normalizes the last dimension)' : ''));
    }
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  toString(): string {
    return `LayerNorm(${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwise_affine=${this.weight !== null})`;
  }
}

/** Options of GroupNorm. */
export interface GroupNormOptions extends PlacementOptions {
  eps?: number;
  /** Learn per-channel `weight` (ones) and `bias` (zeros) (default true). */
  affine?: boolean;
}

/**
 * PyTorch's `nn.GroupNorm(numGroups, numChannels)`: input [N, C, ...]; statistics per (sample,
 * group of C / numGroups consecutive channels); per-channel `weight` and `bias`. No running
 * statistics (as PyTorch): train and eval mode are the same.
 */
export class GroupNorm extends NormLayer {
  readonly numGroups: number;
  readonly numChannels: number;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    checkOptions('GroupNorm', opts, ['eps', 'affine', 'backend', 'dtype']);
    checkPositiveInt('GroupNorm', 'numGroups', numGroups);
    checkPositiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new WebtrainError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    }
    const { eps = 1e-5, affine = true, backend, dtype } = opts;
    const at = { backend, dtype };
    super(eps, affine ? ones([numChannels], at) : null, affine ? zeros([numChannels], at) : null);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      const hint = batchHint(x, this.numChannels, 1) || (x.rank >= 2 ? '' : 'GroupNorm needs a batch dimension: [N, C, ...]');
      throw new WebtrainError(`GroupNorm(${this.numGroups}, ${this.numChannels}): expected input [N, ${this.numChannels}, ...] with ` +
        `${this.numChannels} channels in dimension 1, got shape ${fmtShape(x.shape)}${hint ? `; ${hint}` : ''}`);
    }
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  toString(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null})`;
  }
}
