/**
 * fit(model, data, opts): the training loop. Epochs of shuffled mini-batches; each step is zeroGrad →
 * forward (in a tidy) → loss (+ λΩ) → backward → optimizer.step(). Metrics never cost a GPU→CPU sync
 * per step: the summed loss and the number of correct predictions accumulate ON THE DEVICE and are
 * read back asynchronously `readsPerEpoch` times per epoch (each read is started and left in flight
 * while the next steps are encoded; all are awaited at the epoch's end). Then the validation set is
 * evaluated, early stopping decides, and the callbacks run.
 */
import { WebtrainError } from '../errors';
import { clone, concat } from '../ops/functional';
import { keep, tidy } from '../runtime';
import { noGrad } from '../session';
import { zeros } from '../create';
import { captureStep, type CapturedStep } from '../capture';
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { checkOptions } from '../nn/options';
import { crossEntropy, mse } from '../nn/functional';
import { makeOptimizer, type OptimizerSpec } from './optimizers';

/**
 * What fit and evaluate need of a data set: `wt.data.Dataset` is one. Inputs `x` [N, ...] and
 * targets `y` [N] (i32 class indices) or [N, ...] (floats: soft labels or regression targets).
 */
export interface DatasetLike {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly size: number;
  /** Mini-batches in a seeded order; the caller disposes each batch's tensors. */
  batches(opts: { batchSize: number; shuffle?: boolean; seed?: number; dropLast?: boolean }): Iterable<{ x: Tensor; y: Tensor }>;
  /** The same data on another backend (a copy; fit disposes it). */
  to?(backend: 'cpu' | 'webgpu'): Promise<DatasetLike>;
  dispose?(): void;
}

/** A loss by name, or a function (outputs, targets) → scalar loss, the mean over the batch. */
export type LossSpec = 'crossEntropy' | 'mse' | ((output: Tensor, target: Tensor) => Tensor);

/** What a callback receives after each epoch: one row of the history. */
export interface EpochLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** Mean loss over the epoch's training examples (the data term, without the regularizer). */
  trainLoss: number;
  /** Fraction of the epoch's training examples classified correctly (absent for regression targets). */
  trainAccuracy?: number;
  validLoss?: number;
  validAccuracy?: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Learning rate of the epoch's last update (the first parameter group's). */
  lr: number;
}

/** What onBatchEnd receives. */
export interface BatchLogs {
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Optimizer steps done so far in this fit (all epochs). */
  step: number;
  /** Examples in this batch. */
  size: number;
  /**
   * Running mean training loss of this epoch as of the last completed metric read (undefined before
   * the first): NOT this batch's loss, which is never read back (that would sync every step).
   */
  trainLoss?: number;
  trainAccuracy?: number;
}

/** Hooks, called in this order: onTrainBegin, per epoch (onEpochBegin, onBatchEnd × batches, onEpochEnd), onTrainEnd. Each may be async. */
export interface Callbacks {
  onTrainBegin?: () => void | Promise<void>;
  /** Return false (or a promise of false) to stop training after this epoch. */
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | boolean | Promise<void | boolean>;
  onEpochBegin?: (epoch: number) => void | Promise<void>;
  /** Called after every step: keep it cheap (a promise it returns is awaited). */
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
  onTrainEnd?: (history: History) => void | Promise<void>;
}

export interface EarlyStoppingOptions {
  /** Epochs without an improvement of more than minDelta before stopping. */
  patience: number;
  /** Smallest change of the monitored value that counts as an improvement (default 0). */
  minDelta?: number;
  /** Which value to watch (default 'validLoss'); losses must fall, accuracies rise. */
  monitor?: 'validLoss' | 'validAccuracy' | 'trainLoss' | 'trainAccuracy';
  /** Put back the weights (parameters and buffers) of the best epoch at the end (default true). */
  restoreBest?: boolean;
}

export interface FitOptions {
  epochs: number;
  /** Examples per step; 1 is per-example SGD. The last batch may be smaller. */
  batchSize: number;
  /**
   * An Optimizer over the model's parameters, or a spec `{name, ...hyperparameters}` fit builds over
   * model.parameters() (and disposes at the end): names 'sgd', 'momentum' (SGD, momentum 0.9),
   * 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'.
   */
  optimizer: Optimizer<any> | OptimizerSpec;
  /** Default 'crossEntropy' (i32 labels or soft labels); 'mse'; or a function returning the mean loss. */
  loss?: LossSpec;
  /** Ω(θ), already scaled by λ, added to the loss each step: e.g. `(m) => wt.nn.functional.l2Penalty(m, 1e-4)`. */
  regularizer?: (model: Module) => Tensor;
  /** Evaluated after every epoch (eval mode); `data.valid` is used when this is not given. */
  validation?: DatasetLike;
  earlyStopping?: EarlyStoppingOptions;
  /** Which metrics to compute (default ['loss', 'accuracy']); the loss is always computed. */
  metrics?: ('loss' | 'accuracy')[];
  callbacks?: Callbacks;
  /** Seed of the shuffling; epoch e uses a seed derived from (seed, e). Default: a random one. */
  seed?: number;
  /** Shuffle the training set every epoch (default true). */
  shuffle?: boolean;
  /** How many times per epoch the device-side metric accumulators are read back (default 4). */
  readsPerEpoch?: number;
  /** Save {model, optimizer, step, meta: {...meta, epoch}} with wt.io.save every `every` steps of this fit, and after its last step. */
  checkpoint?: { path: string; every: number; meta?: Record<string, unknown> };
  /** Epoch to start at (resuming: epochs initialEpoch .. epochs-1 run, with the same shuffles as an uninterrupted run). */
  initialEpoch?: number;
  /** Batch size of the validation pass (default max(batchSize, 256)). */
  evalBatchSize?: number;
  /** Milliseconds of work between yields to the event loop (default 16, so a page stays responsive). */
  yieldEveryMs?: number;
  /**
   * What to do when a training loss read back is NaN or ±Inf (diverged: the learning rate is too
   * high, or log/div met 0): 'stop' (default) ends training after that read with a console warning
   * and `history.stopReason`, and writes no final checkpoint; 'throw' throws a WebtrainError;
   * 'continue' goes on. The loss is read `readsPerEpoch` times per epoch, so training stops within
   * that many steps (plus the reads still in flight) of the first non-finite batch.
   */
  onNonFinite?: 'stop' | 'throw' | 'continue';
  /**
   * Replay the training step instead of running its ops (WebGPU; default false): the first full
   * batch's forward, loss and backward are captured with `captureStep` and replayed for every later
   * full batch (the last, partial one runs as usual), so a step costs its GPU work plus a copy of
   * the batch, not tens of µs of JavaScript per op. Results are the same as without it. A model
   * that draws random numbers while training (dropout) cannot be replayed: fit then throws.
   */
  captureSteps?: boolean;
}

export interface History {
  epochs: EpochLogs[];
  /** True when early stopping (or a callback returning false) ended training before `epochs`. */
  stoppedEarly: boolean;
  /** Epoch with the best monitored value (early stopping's monitor, else validLoss, else trainLoss); -1 when no epoch ran. */
  bestEpoch: number;
  /** Why training ended before `epochs` (early stopping, a callback, a non-finite loss); absent when it ran them all. */
  stopReason?: string;
}

/** Result of evaluate. */
export interface Evaluation {
  /** Mean loss per example. */
  loss: number;
  /** Fraction classified correctly; undefined for targets that are not class labels or class probabilities. */
  accuracy?: number;
}

/**
 * Trains `model` on `data` (a dataset, or `{train, valid?}`) and returns the history. See FitOptions.
 * The model's backend is the one of its parameters; a dataset on another backend is copied there
 * for the duration of the fit.
 */
export async function fit(model: Module, data: DatasetLike | { train: DatasetLike; valid?: DatasetLike }, opts: FitOptions): Promise<History> {
  checkOptions('fit', opts, ['epochs', 'batchSize', 'optimizer', 'loss', 'regularizer', 'validation', 'earlyStopping', 'metrics',
    'callbacks', 'seed', 'shuffle', 'readsPerEpoch', 'checkpoint', 'initialEpoch', 'evalBatchSize', 'yieldEveryMs', 'onNonFinite',
    'captureSteps']);
  const {
    epochs, batchSize, loss = 'crossEntropy', regularizer, earlyStopping, metrics = ['loss', 'accuracy'], callbacks = {},
    shuffle = true, readsPerEpoch = 4, checkpoint, initialEpoch = 0, yieldEveryMs = 16, onNonFinite = 'stop', captureSteps = false,
  } = opts;
  const split = 'train' in data && !('x' in data) ? data : { train: data as DatasetLike, valid: undefined };
  const validation = opts.validation ?? split.valid;
  checkInt('epochs', epochs, 0);
  checkInt('batchSize', batchSize, 1);
  checkInt('readsPerEpoch', readsPerEpoch, 1);
  checkInt('initialEpoch', initialEpoch, 0);
  if (!isDataset(split.train)) throw new WebtrainError('fit: data must be a Dataset (x, y, size, batches) or {train, valid?}');
  if (validation !== undefined && !isDataset(validation)) throw new WebtrainError('fit: validation must be a Dataset');
  if (checkpoint) checkInt('checkpoint.every', checkpoint.every, 1);
  if (!['stop', 'throw', 'continue'].includes(onNonFinite)) {
    throw new WebtrainError(`fit: onNonFinite must be 'stop', 'throw' or 'continue', got ${JSON.stringify(onNonFinite)}`);
  }
  const watchLoss = onNonFinite !== 'continue';
  const lossFn = lossFunction(loss);
  const wantAccuracy = metrics.includes('accuracy');
  for (const m of metrics) if (m !== 'loss' && m !== 'accuracy') throw new WebtrainError(`fit: unknown metric '${m as string}' (expected 'loss' or 'accuracy')`);
  const es = earlyStopping ? checkEarlyStopping(earlyStopping, validation !== undefined, wantAccuracy) : null;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);

  const params = model.parameters();
  if (params.length === 0) throw new WebtrainError('fit: the model has no parameters');
  const backend = params[0].backend.name;
  const ownOptimizer = !isOptimizer(opts.optimizer);
  const optimizer = ownOptimizer ? makeOptimizer(opts.optimizer as OptimizerSpec, params) : (opts.optimizer as Optimizer<any>);
  const moved: DatasetLike[] = [];
  const onBackend = async (ds: DatasetLike) => {
    if (ds.x.backend.name === backend) return ds;
    if (!ds.to) throw new WebtrainError(`fit: the data is on ${ds.x.backend.name}, the model on ${backend}, and the data set has no to()`);
    const copy = await ds.to(backend);
    moved.push(copy);
    return copy;
  };

  const history: History = { epochs: [], stoppedEarly: false, bestEpoch: -1 };
  const modes = model.modules().map((m) => m.training); // restored at the end (fit trains in train mode)
  let best: Best | null = null;
  let step = 0;
  let diverged = false;
  const pacer = new Pacer(yieldEveryMs);
  // captureSteps: the step replayed on full batches (created at the first one), its inputs and result.
  const replay = captureSteps && backend === 'webgpu' ? new ReplayedStep() : null;
  try {
    const train = await onBackend(split.train);
    const valid = validation ? await onBackend(validation) : undefined;
    const numBatches = Math.ceil(train.size / batchSize);
    await callbacks.onTrainBegin?.();
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      const started = performance.now();
      await callbacks.onEpochBegin?.(epoch);
      model.train();
      const acc = new Accumulator(backend, wantAccuracy);
      let batch = 0;
      let readsDone = 0;
      for (const b of train.batches({ batchSize, shuffle, seed: epochSeed(seed, epoch), dropLast: false })) {
        // zeroGrad, forward, loss (+ Ω), backward; returns this batch's [loss sum, correct count].
        const forwardBackward = (x: Tensor, y: Tensor) => {
          optimizer.zeroGrad();
          return tidy(() => {
            const out = model.forward(x);
            const dataLoss = lossFn(out, y);
            const total = regularizer ? dataLoss.add(regularizer(model)) : dataLoss;
            total.backward();
            // The data term is what the metrics report (comparable with the validation loss).
            return noGrad(() => acc.row(dataLoss, out, y));
          });
        };
        try {
          const n = b.x.shape[0];
          if (replay && n === batchSize) {
            replay.step(b.x, b.y, forwardBackward, acc);
          } else {
            const row = forwardBackward(b.x, b.y);
            acc.addRow(row, n);
            row.dispose();
          }
          optimizer.step();
        } finally {
          b.x.dispose();
          b.y.dispose();
        }
        step++;
        batch++;
        // Read the accumulators readsPerEpoch times, evenly spaced (the last read at the epoch's end).
        const due = Math.floor((batch * readsPerEpoch) / numBatches);
        if (due > readsDone) {
          readsDone = due;
          acc.read();
        }
        if (callbacks.onBatchEnd) {
          const r = acc.latest();
          await callbacks.onBatchEnd(batch - 1, { epoch, batch: batch - 1, step, size: b.x.shape[0], trainLoss: r?.loss, trainAccuracy: r?.accuracy });
        }
        if (checkpoint && step % checkpoint.every === 0 && !(watchLoss && acc.nonFinite)) await saveCheckpoint(checkpoint, model, optimizer, epoch);
        await pacer.maybeYield();
        // A completed read saw a non-finite loss (every later step only spreads the NaN), or failed.
        if ((watchLoss && acc.nonFinite) || acc.failed) break;
      }
      const trained = await acc.finish();
      const logs: EpochLogs = { epoch, trainLoss: trained.loss, seconds: 0, lr: lastLr(optimizer) };
      if (trained.accuracy !== undefined) logs.trainAccuracy = trained.accuracy;
      if (watchLoss && acc.nonFinite) {
        const message = `fit: the training loss became ${trained.loss} in epoch ${epoch} (read back by step ${step}); ` +
          'the model diverged: lower the learning rate, clip gradients (maxGradNorm), or look for log/div of 0 ' +
          '(wt.debug.checkNumerics(true) names the first op that made a NaN or Inf)';
        if (onNonFinite === 'throw') throw new WebtrainError(message);
        console.warn(`webtrain ${message}. Training stopped (onNonFinite: 'stop').`);
        logs.seconds = (performance.now() - started) / 1000;
        history.epochs.push(logs);
        history.stoppedEarly = true;
        history.stopReason = message;
        diverged = true;
        await callbacks.onEpochEnd?.(epoch, logs);
        break;
      }
      if (valid) {
        const v = await evaluate(model, valid, { batchSize: opts.evalBatchSize ?? Math.max(batchSize, 256), loss, metrics });
        logs.validLoss = v.loss;
        if (v.accuracy !== undefined) logs.validAccuracy = v.accuracy;
      }
      logs.seconds = (performance.now() - started) / 1000;
      history.epochs.push(logs);

      // The best epoch: by the early-stopping monitor, else the validation loss, else the training loss.
      const monitor = es?.monitor ?? (valid ? 'validLoss' : 'trainLoss');
      const value = logs[monitor];
      if (value === undefined) throw new WebtrainError(`fit: the monitored value '${monitor}' was not computed (is 'accuracy' in metrics and are the targets class labels?)`);
      const sign = monitor.endsWith('Loss') ? 1 : -1;
      const previous = best as Best | null;
      if (previous === null || sign * (previous.value - value) > (es?.minDelta ?? 0)) {
        best = { value, epoch, weights: es?.restoreBest ? snapshot(model, previous?.weights ?? null) : null };
        history.bestEpoch = epoch;
      }
      const keepGoing = await callbacks.onEpochEnd?.(epoch, logs);
      if (keepGoing === false) {
        history.stoppedEarly = epoch < epochs - 1;
        if (history.stoppedEarly) history.stopReason = `onEpochEnd returned false after epoch ${epoch}`;
        break;
      }
      if (es && best && epoch - best.epoch >= es.patience && epoch < epochs - 1) {
        history.stoppedEarly = true;
        history.stopReason = `early stopping: '${es.monitor}' did not improve by more than ${es.minDelta} for ${es.patience} epochs (best: epoch ${best.epoch})`;
        break;
      }
    }
    // A diverged model is not saved over the last good checkpoint.
    if (checkpoint && step % checkpoint.every !== 0 && step > 0 && !diverged) await saveCheckpoint(checkpoint, model, optimizer, history.epochs.at(-1)!.epoch);
    if (es?.restoreBest && best?.weights && best.epoch !== history.epochs.at(-1)?.epoch) {
      model.loadStateDict(best.weights);
    }
    await callbacks.onTrainEnd?.(history);
    return history;
  } finally {
    replay?.dispose();
    model.modules().forEach((m, i) => { m.training = modes[i]; });
    if (best?.weights) for (const t of best.weights.values()) t.dispose();
    for (const ds of moved) ds.dispose?.();
    if (ownOptimizer) optimizer.dispose();
  }
}

/**
 * Loss and accuracy of `model` on `dataset`, in eval mode (dropout off, running statistics), without
 * recording gradients; each module's previous mode is restored. One read back at the end.
 */
export async function evaluate(model: Module, dataset: DatasetLike,
  opts: { batchSize?: number; loss?: LossSpec; metrics?: ('loss' | 'accuracy')[] } = {}): Promise<Evaluation> {
  checkOptions('evaluate', opts, ['batchSize', 'loss', 'metrics']);
  const { batchSize = 256, loss = 'crossEntropy', metrics = ['loss', 'accuracy'] } = opts;
  checkInt('batchSize', batchSize, 1);
  if (!isDataset(dataset)) throw new WebtrainError('evaluate: dataset must be a Dataset (x, y, size, batches)');
  const lossFn = lossFunction(loss);
  const modes = model.modules().map((m) => m.training);
  model.eval();
  const backend = model.parameters()[0]?.backend.name ?? dataset.x.backend.name;
  let ds = dataset;
  let copy: DatasetLike | null = null;
  if (ds.x.backend.name !== backend && ds.to) ds = copy = await ds.to(backend);
  const acc = new Accumulator(backend, metrics.includes('accuracy'));
  try {
    for (const b of ds.batches({ batchSize, shuffle: false })) {
      try {
        noGrad(() => tidy(() => {
          const out = model.forward(b.x);
          acc.add(lossFn(out, b.y), out, b.y);
        }));
      } finally {
        b.x.dispose();
        b.y.dispose();
      }
    }
    return await acc.finish();
  } finally {
    model.modules().forEach((m, i) => { m.training = modes[i]; });
    copy?.dispose?.();
  }
}

// ---------------------------------------------------------------------------------------------

/** The best epoch so far: its monitored value and (for restoreBest) a copy of its weights. */
interface Best {
  value: number;
  epoch: number;
  weights: Map<string, Tensor> | null;
}

/**
 * fit's captureSteps: the forward/backward of a full batch captured once (on the first full batch,
 * whose step it is) and replayed for the next ones, with the batch copied into inputs of its own.
 */
class ReplayedStep {
  private captured: CapturedStep<Tensor> | null = null;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  /** Whether the captured row counts correct predictions (what Accumulator.row decided then). */
  private accuracy = true;

  step(x: Tensor, y: Tensor, forwardBackward: (x: Tensor, y: Tensor) => Tensor, acc: Accumulator): void {
    const n = x.shape[0];
    if (this.captured) {
      if (!this.accuracy) acc.hasAccuracy = false; // set by row() in the captured run, which a replay skips
      acc.addRow(this.captured.run(x, y), n);
      return;
    }
    this.x = keep(clone(x));
    this.y = keep(clone(y));
    const [xs, ys] = [this.x, this.y];
    this.captured = captureStep(() => forwardBackward(xs, ys), { inputs: [xs, ys] });
    this.accuracy = acc.hasAccuracy;
    acc.addRow(this.captured.result, n);
  }

  dispose(): void {
    this.captured?.dispose();
    this.captured?.result.dispose();
    this.x?.dispose();
    this.y?.dispose();
  }
}

/**
 * Device-side running sums of the loss (Σ batch mean × batch size) and of the correct predictions,
 * read back a few times per epoch: each read() takes the current sums (as ONE 2-element tensor),
 * starts reading it and starts fresh sums; the reads complete while later steps are encoded.
 */
class Accumulator {
  private sums: Tensor | null = null; // [loss sum, correct count] in f32
  private count = 0; // examples in `sums`
  private counted = 0; // examples in completed reads
  private lossTotal = 0;
  private correctTotal = 0;
  /** False once a batch's targets turned out not to be class labels or probabilities. */
  hasAccuracy: boolean;
  private readonly pending: Promise<void>[] = [];
  private last: { loss: number; accuracy?: number } | null = null;
  /** Set when a completed read saw a NaN or ±Inf loss sum. */
  nonFinite = false;
  /** Set when a read failed (finish() throws its error). */
  failed = false;

  constructor(private readonly backend: 'cpu' | 'webgpu', private readonly wantAccuracy: boolean) {
    this.hasAccuracy = wantAccuracy;
  }

  /** One batch's [loss sum, correct count] (call inside noGrad): its mean loss times its size, and for classification its correct count. */
  row(meanLoss: Tensor, out: Tensor, y: Tensor): Tensor {
    const n = out.rank === 0 ? 1 : out.shape[0];
    const lossSum = meanLoss.reshape([1]).mul(n);
    const correct = this.wantAccuracy ? correctCount(out, y) : null;
    if (correct === null) this.hasAccuracy = false;
    return concat([lossSum, correct ? correct.cast(lossSum.dtype) : zeros([1], { backend: this.backend, dtype: lossSum.dtype })]);
  }

  /** Adds a batch's row (of `row`) of `n` examples to the running sums. */
  addRow(row: Tensor, n: number): void {
    if (this.sums === null) {
      this.sums = keep(clone(row));
    } else {
      tidy(() => { this.sums!.assign(this.sums!.add(row)); });
    }
    this.count += n;
  }

  /** Adds one batch (call inside noGrad and tidy). */
  add(meanLoss: Tensor, out: Tensor, y: Tensor): void {
    this.addRow(this.row(meanLoss, out, y), out.rank === 0 ? 1 : out.shape[0]);
  }

  /** Starts reading the current sums (not awaited here). */
  read(): void {
    if (this.sums === null) return;
    const sums = this.sums;
    const n = this.count;
    this.sums = null;
    this.count = 0;
    const reading = sums.data().then((v) => {
      if (!Number.isFinite(v[0])) this.nonFinite = true;
      this.lossTotal += v[0];
      this.correctTotal += v[1];
      this.counted += n;
      this.last = { loss: this.lossTotal / this.counted, accuracy: this.hasAccuracy ? this.correctTotal / this.counted : undefined };
    }).finally(() => sums.dispose());
    // A failed read (a lost device, wt.debug.checkNumerics' report) is rethrown by finish(); until
    // then it is marked here, so it is not an unhandled rejection and training stops at once.
    reading.catch(() => { this.failed = true; });
    this.pending.push(reading);
  }

  /** The running means as of the last completed read. */
  latest(): { loss: number; accuracy?: number } | null {
    return this.last;
  }

  /** Reads what is left, awaits every read, and returns the means. */
  async finish(): Promise<Evaluation> {
    this.read();
    await Promise.all(this.pending);
    const loss = this.counted ? this.lossTotal / this.counted : NaN;
    const out: Evaluation = { loss };
    if (this.hasAccuracy && this.counted) out.accuracy = this.correctTotal / this.counted;
    return out;
  }
}

/**
 * Correct predictions as a [1] f32 tensor: argmax of the outputs against i32 labels [N], or against
 * the argmax of class probabilities shaped like the outputs; null when the targets are neither.
 */
function correctCount(out: Tensor, y: Tensor): Tensor | null {
  if (out.rank !== 2 || out.shape[1] < 2) return null;
  const predicted = out.argmax(1);
  let labels: Tensor;
  if (y.dtype === 'i32' && y.size === out.shape[0]) labels = y.reshape([out.shape[0]]);
  else if (y.dtype !== 'i32' && y.rank === 2 && y.shape[0] === out.shape[0] && y.shape[1] === out.shape[1]) labels = y.argmax(1);
  else return null;
  return predicted.eq(labels).cast('f32').sum().reshape([1]);
}

function lossFunction(loss: LossSpec): (out: Tensor, y: Tensor) => Tensor {
  if (typeof loss === 'function') return loss;
  if (loss === 'crossEntropy') return (out, y) => crossEntropy(out, y);
  if (loss === 'mse') {
    // Targets [N] against outputs [N, 1] are the same values: compare them shape to shape.
    return (out, y) => mse(out, y.size === out.size && y.rank !== out.rank ? y.reshape([...out.shape]) : y);
  }
  throw new WebtrainError(`fit: unknown loss '${loss as string}' (expected 'crossEntropy', 'mse' or a function (output, target) => Tensor)`);
}

function checkEarlyStopping(es: EarlyStoppingOptions, hasValid: boolean, hasAccuracy: boolean) {
  checkOptions('fit: earlyStopping', es, ['patience', 'minDelta', 'monitor', 'restoreBest']);
  const { patience, minDelta = 0, monitor = 'validLoss', restoreBest = true } = es;
  checkInt('earlyStopping.patience', patience, 0);
  if (!(minDelta >= 0)) throw new WebtrainError(`fit: earlyStopping.minDelta must be >= 0, got ${minDelta}`);
  if (!['validLoss', 'validAccuracy', 'trainLoss', 'trainAccuracy'].includes(monitor)) {
    throw new WebtrainError(`fit: earlyStopping.monitor must be 'validLoss', 'validAccuracy', 'trainLoss' or 'trainAccuracy', got '${monitor}'`);
  }
  if (monitor.startsWith('valid') && !hasValid) {
    throw new WebtrainError(`fit: earlyStopping monitors '${monitor}' but there is no validation set (pass validation, or data {train, valid})`);
  }
  if (monitor.endsWith('Accuracy') && !hasAccuracy) throw new WebtrainError(`fit: earlyStopping monitors '${monitor}' but 'accuracy' is not in metrics`);
  return { patience, minDelta, monitor, restoreBest };
}

/** Copies of every parameter and buffer (values, not references), reusing `into` when given. */
function snapshot(model: Module, into: Map<string, Tensor> | null): Map<string, Tensor> {
  return noGrad(() => {
    if (into) {
      for (const [k, t] of model.stateDict()) into.get(k)!.assign(t);
      return into;
    }
    const out = new Map<string, Tensor>();
    for (const [k, t] of model.stateDict()) out.set(k, keep(clone(t)));
    return out;
  });
}

/** Saves with wt.io; the step recorded is the optimizer's own count (it goes on across resumed fits). */
async function saveCheckpoint(cp: NonNullable<FitOptions['checkpoint']>, model: Module, optimizer: Optimizer<any>, epoch: number) {
  const io = await import('../io/index');
  await io.save(cp.path, { model, optimizer, step: optimizer.paramGroups[0].step, meta: { ...cp.meta, epoch } });
}

function lastLr(opt: Optimizer<any>): number {
  const g = opt.paramGroups[0];
  return typeof g.hp.lr === 'function' ? g.hp.lr(Math.max(g.step, 1)) : g.hp.lr;
}

/** A per-epoch shuffle seed: the same (seed, epoch) gives the same order, so a resumed run repeats it. */
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

function isDataset(d: unknown): d is DatasetLike {
  return typeof d === 'object' && d !== null && 'x' in d && 'y' in d && typeof (d as DatasetLike).batches === 'function';
}

function isOptimizer(o: unknown): o is Optimizer<any> {
  return typeof o === 'object' && o !== null && typeof (o as Optimizer<any>).step === 'function' && Array.isArray((o as Optimizer<any>).paramGroups);
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new WebtrainError(`fit: ${name} must be an integer >= ${min}, got ${v}`);
}

/**
 * Yields to the event loop (a macrotask) once `everyMs` of wall time has passed since the last
 * yield, so a browser page keeps painting and handling input, and GPU read-backs can resolve.
 */
class Pacer {
  private last = performance.now();
  constructor(private readonly everyMs: number) {}

  async maybeYield(): Promise<void> {
    if (performance.now() - this.last < this.everyMs) return;
    await macrotask();
    this.last = performance.now();
  }
}

/** One turn of the event loop: setImmediate (Node, Deno) or MessageChannel (browsers), which are not clamped to 4 ms like nested setTimeout. */
export function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); r(); };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}
