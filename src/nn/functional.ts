/**
 * wt.nn.functional: losses, penalties, normalization, dropout, convolution and pooling as functions,
 * with the semantics of torch.nn.functional (reductions, ignore_index, log clamping, class axis 1, NCHW).
 */
export { dropout } from './dropout';
export { batchNorm, layerNorm, groupNorm, instanceNorm } from './norm';
export type { BatchNormOptions, InstanceNormOptions, AffineNormOptions } from './norm';
export { conv2d, maxPool2d, avgPool2d } from './conv';
export type { Conv2dOptions, Pool2dOptions, Size2d } from './conv';

import { WebtrainError, fmtShape } from '../errors';
import { crossEntropy as crossEntropyOp, IGNORE_INDEX, labelRangeError, lossShape, classLayout, validMean } from '../ops/cross-entropy';
import { binaryCrossEntropy } from '../ops/binary-cross-entropy';
import { apply, tidy } from '../runtime';
import { sub } from '../ops/functional';
import { tensor, zeros } from '../create';
import { numel, shapesEqual } from '../shape';
import { Tensor } from '../tensor';
import { Module } from './module';
import { NormLayer } from './norm';
import { checkOptions } from './options';

/** How per-element losses are combined: their mean (default), their sum, or none (one per sample). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Class labels: an i32 tensor, or a JS array / Int32Array of class indices (checked at once, then uploaded). */
export type Labels = Tensor | readonly number[] | Int32Array;

/** Options of crossEntropy and nll (PyTorch's reduction and ignore_index). */
export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** Labels equal to this are skipped: loss 0, no gradient, not counted by 'mean' (default -100, as PyTorch). */
  ignoreIndex?: number;
}

/**
 * Softmax cross-entropy, PyTorch's `F.cross_entropy(logits, labels, reduction, ignore_index)`, as
 * ONE fused kernel (log-sum-exp and the loss per row; backward another, softmax − onehot).
 *  - logits [N, C] (or [N, C, d1, ...], class axis 1, or one sample [C]);
 *  - labels: i32 class indices [N] ([N, d1, ...]), or probabilities [N, C] with the logits' shape
 *    and dtype (soft labels, e.g. mixup): loss = Σ_c -p_c log softmax(x)_c.
 * 'mean' divides by the number of non-ignored labels (soft labels: by N·d1·...), as PyTorch.
 * A label outside [0, C) is an error on the CPU and for labels given as a JS array; on the GPU its
 * row's loss is NaN (a kernel cannot throw), which shows in the loss when it is read.
 */
export function crossEntropy(logits: Tensor, labels: Labels, opts: CrossEntropyOptions = {}): Tensor {
  return classLoss('crossEntropy', logits, labels, opts, false);
}

/**
 * Negative log-likelihood of log-probabilities, PyTorch's `F.nll_loss(logProbs, labels, reduction,
 * ignore_index)`: loss = -logProbs[n, label_n] (class axis 1). Labels are i32 class indices; the
 * same checks as crossEntropy. `nll(x.logSoftmax(1), y)` equals `crossEntropy(x, y)`.
 */
export function nll(logProbs: Tensor, labels: Labels, opts: CrossEntropyOptions = {}): Tensor {
  if (labels instanceof Tensor && labels.dtype !== 'i32') {
    throw new WebtrainError(`nll: labels must be i32 class indices of shape ${fmtShape(lossShape(logProbs.shape))}, got ` +
      `${labels.dtype} ${fmtShape(labels.shape)} (for probability targets use crossEntropy)`);
  }
  return classLoss('nll', logProbs, labels, opts, true);
}

function classLoss(op: string, x: Tensor, labels: Labels, opts: CrossEntropyOptions, logProbs: boolean): Tensor {
  checkOptions(op, opts, ['reduction', 'ignoreIndex']);
  const { reduction = 'mean', ignoreIndex = IGNORE_INDEX } = opts;
  checkReduction(op, reduction);
  if (!Number.isInteger(ignoreIndex)) throw new WebtrainError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (!(x instanceof Tensor)) throw new WebtrainError(`${op}: the input must be a Tensor, got ${typeof x}`);
  return tidy(() => {
    const y = labels instanceof Tensor ? labels : uploadLabels(op, x, labels, ignoreIndex);
    const loss = renamed(op, () => apply(crossEntropyOp, [x, y], { ignoreIndex, logProbs }));
    if (reduction !== 'mean' || y.dtype !== 'i32') return reduce(loss, reduction);
    // Mean over the labels that count (PyTorch divides by the number of non-ignored ones): one dispatch.
    return apply(validMean, [loss, y], { ignoreIndex });
  });
}

/** Host labels: checked here (synchronously, with a clear error), then uploaded as i32. */
function uploadLabels(op: string, x: Tensor, labels: readonly number[] | Int32Array, ignoreIndex: number) {
  if (!Array.isArray(labels) && !(labels instanceof Int32Array)) {
    throw new WebtrainError(`${op}: labels must be a Tensor, an array of class indices or an Int32Array, got ${String(labels)}`);
  }
  if (x.rank === 0) throw new WebtrainError(`${op}: logits must be [N, C], [N, C, d1, ...] or [C], got a scalar`);
  const shape = lossShape(x.shape);
  const { n } = classLayout(x.shape);
  if (labels.length !== numel(shape)) {
    throw new WebtrainError(`${op}: ${labels.length} labels for logits ${fmtShape(x.shape)}; expected ${numel(shape)} (shape ${fmtShape(shape)})`);
  }
  labels.forEach((label, row) => {
    if (label === ignoreIndex) return;
    if (!Number.isInteger(label)) throw new WebtrainError(`${op}: labels must be integer class indices, got ${label} (sample ${row})`);
    if (label < 0 || label >= n) labelRangeError(op, label, n, row, ignoreIndex);
  });
  return tensor(Int32Array.from(labels), shape, { dtype: 'i32', backend: x.backend.name });
}

/** Runs fn, naming `op` in place of the kernel's name in its errors (nll shares crossEntropy's kernel). */
function renamed<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WebtrainError && op !== 'crossEntropy') throw new WebtrainError(e.message.replace(/^crossEntropy:/, `${op}:`));
    throw e;
  }
}

/** Options of mse (and the base of bce's). */
export interface LossOptions {
  reduction?: Reduction;
}

/**
 * Mean squared error, PyTorch's `F.mse_loss(pred, target, reduction)`: (pred - target)², reduced.
 * Like PyTorch, shapes that differ are broadcast, with a warning: it is usually a mistake
 * ([N, 1] against [N] gives [N, N]).
 */
export function mse(pred: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  checkOptions('mse', opts, ['reduction']);
  const { reduction = 'mean' } = opts;
  checkReduction('mse', reduction);
  warnShapes('mse', pred, target);
  return tidy(() => reduce(pred.sub(target).square(), reduction));
}

/** Options of bce. */
export interface BceOptions extends LossOptions {
  /** Rescales each element's loss (broadcast against it), as PyTorch's `weight`. */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy of probabilities, PyTorch's `F.binary_cross_entropy(probs, target, weight,
 * reduction)`: -(y log p + (1 - y) log(1 - p)), each log clamped at -100 (so p = 0 or 1 stay
 * finite), gradient (p - y) / max(p (1 - p), 1e-12). probs and target must have the same shape;
 * probs outside [0, 1] are an error on the CPU and give NaN on the GPU.
 * For logits prefer bceWithLogits (stable, and exact where the sigmoid saturates).
 */
export function bce(probs: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  checkOptions('bce', opts, ['reduction', 'weight']);
  const { reduction = 'mean', weight = null } = opts;
  checkReduction('bce', reduction);
  if (!shapesEqual(probs.shape, target.shape)) {
    throw new WebtrainError(`bce: target ${fmtShape(target.shape)} must have the input's shape ${fmtShape(probs.shape)} (as PyTorch)`);
  }
  return tidy(() => {
    const loss = apply(binaryCrossEntropy, [probs, target], {});
    return reduce(weight ? loss.mul(weight) : loss, reduction);
  });
}

/** Options of bceWithLogits. */
export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of the positive term per class (broadcast over the last dims), as PyTorch's `pos_weight`. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy of logits, PyTorch's `F.binary_cross_entropy_with_logits(x, y, weight,
 * reduction, pos_weight)`, in the stable form (1 - y) x + softplus(-x)
 * = max(x, 0) - x y + log(1 + e^(-|x|)); with posWeight w: (1 - y) x + (1 + (w - 1) y) softplus(-x).
 * Its gradient is sigmoid(x) - y exactly, also at x = 0 (zero-initialized output layers).
 */
export function bceWithLogits(logits: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  checkOptions('bceWithLogits', opts, ['reduction', 'weight', 'posWeight']);
  const { reduction = 'mean', weight = null, posWeight = null } = opts;
  checkReduction('bceWithLogits', reduction);
  if (!shapesEqual(logits.shape, target.shape)) {
    throw new WebtrainError(`bceWithLogits: target ${fmtShape(target.shape)} must have the input's shape ${fmtShape(logits.shape)} (as PyTorch)`);
  }
  return tidy(() => {
    const sp = logits.neg().softplus();
    const logWeight = posWeight ? target.mul(posWeight.sub(1)).add(1) : null;
    const loss = sub(1, target).mul(logits).add(logWeight ? sp.mul(logWeight) : sp);
    return reduce(weight ? loss.mul(weight) : loss, reduction);
  });
}

// ---------------------------------------------------------------------------------------------
// Penalties

/** What a penalty sums over: a module's parameters, a list of tensors, or [name, tensor] pairs. */
export type PenaltyParams = Module | readonly Tensor[] | Iterable<readonly [string, Tensor]>;

/** Options of l1Penalty and l2Penalty. */
export interface PenaltyOptions {
  /**
   * Which parameters are penalized (replaces the default rule). Tensors in a plain list are named
   * by their index ('0', '1', ...).
   */
  include?: (name: string, tensor: Tensor) => boolean;
}

/**
 * λ Σ_k ||W^(k)||_F² = λ Σ w² over the weights (L2 regularization, "weight decay" in the loss);
 * differentiable: `loss.add(l2Penalty(model, 1e-4))` trains through autodiff (gradient 2λW).
 *
 * By default only weights are penalized, not biases: for a Module or [name, tensor] pairs, names
 * ending in 'bias' are left out, and so are the parameters of normalization layers (BatchNorm,
 * LayerNorm, ... weight is a per-channel scale γ, not a connection weight, and shrinking it toward
 * 0 only fights the normalization); a plain list of tensors is taken whole. `include` overrides
 * this. NOTE: optimizers' `weightDecay` adds λw to the gradient, i.e. the gradient of (λ/2)Σw².
 */
export function l2Penalty(params: PenaltyParams, lambda: number, opts: PenaltyOptions = {}): Tensor {
  return penalty('l2Penalty', params, lambda, opts, (w) => w.square().sum());
}

/**
 * λ Σ |w| over the weights (L1 regularization, which drives weights to exactly 0); gradient
 * λ sign(w) (0 at w = 0). Which parameters count: as l2Penalty (biases and normalization layers
 * excluded by default).
 */
export function l1Penalty(params: PenaltyParams, lambda: number, opts: PenaltyOptions = {}): Tensor {
  return penalty('l1Penalty', params, lambda, opts, (w) => w.abs().sum());
}

function penalty(op: string, params: PenaltyParams, lambda: number, opts: PenaltyOptions, term: (w: Tensor) => Tensor): Tensor {
  checkOptions(op, opts, ['include']);
  if (!(typeof lambda === 'number' && Number.isFinite(lambda) && lambda >= 0)) {
    throw new WebtrainError(`${op}: lambda must be a non-negative number, got ${lambda}`);
  }
  const { chosen, all } = selectParams(op, params, opts.include);
  // Nothing to penalize: a zero that adds to any loss (on the parameters' backend when there are some).
  if (chosen.length === 0) return zeros([], all[0] ? { backend: all[0].backend.name, dtype: all[0].dtype } : {});
  return tidy(() => chosen.map(term).reduce((a, b) => a.add(b)).mul(lambda));
}

function selectParams(op: string, params: PenaltyParams, include?: PenaltyOptions['include']): { chosen: Tensor[]; all: Tensor[] } {
  let named: [string, Tensor][];
  let excluded = new Set<Tensor>();
  let byDefault: (name: string, t: Tensor) => boolean = (name) => !name.endsWith('bias');
  if (params instanceof Module) {
    named = params.namedParameters();
    for (const m of params.modules()) if (m instanceof NormLayer) for (const p of m.parameters()) excluded.add(p);
  } else if (Array.isArray(params) && params.every((p) => p instanceof Tensor)) {
    named = (params as Tensor[]).map((t, i) => [String(i), t]);
    byDefault = () => true;
  } else if (params !== null && typeof params === 'object' && Symbol.iterator in params) {
    named = [...(params as Iterable<readonly [string, Tensor]>)].map((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Tensor)) {
        throw new WebtrainError(`${op}: entry ${i} is not a [name, tensor] pair`);
      }
      return [e[0], e[1]] as [string, Tensor];
    });
  } else {
    throw new WebtrainError(`${op}: expected a Module, an array of tensors or [name, tensor] pairs, got ${String(params)}`);
  }
  if (include) excluded = new Set();
  const keep = include ?? byDefault;
  const seen = new Set<Tensor>();
  const chosen = named.filter(([name, t]) => {
    if (seen.has(t) || excluded.has(t) || !keep(name, t)) return false;
    seen.add(t);
    return true;
  }).map(([, t]) => t);
  return { chosen, all: named.map(([, t]) => t) };
}

// ---------------------------------------------------------------------------------------------

function checkReduction(op: string, reduction: string): void {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new WebtrainError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? loss.mean() : reduction === 'sum' ? loss.sum() : loss;
}

const warned = new Set<string>();
function warnShapes(op: string, a: Tensor, b: Tensor): void {
  if (shapesEqual(a.shape, b.shape)) return;
  const key = `${op}:${a.shape}:${b.shape}`;
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(`webtrain ${op}: target ${fmtShape(b.shape)} differs from input ${fmtShape(a.shape)}; they are broadcast together ` +
    '(as PyTorch does, with the same warning), which is likely a mistake');
}
