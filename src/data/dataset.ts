/**
 * A data set held on one backend: inputs x [N, ...] and targets y [N] (i32 class labels) or [N, ...]
 * (f32 targets or soft labels). Mini-batches are gathered on the device with indexSelect from a
 * seeded permutation uploaded once per pass, so a training step never copies data from the host.
 */
import type { BackendName } from '../backend/backend';
import { tensor } from '../create';
import { WebtrainError, fmtShape } from '../errors';
import { checkOptions } from '../nn/options';
import { indexSelect, slice } from '../ops/functional';
import { cpuView, getBackend, keep, withGradMode } from '../runtime';
import { Tensor } from '../tensor';
import { assignParts, partSizes } from './partition';
import { Rng, seedOrDraw } from './rng';

/** One mini-batch: rows of x and y at the same positions. The caller disposes both. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Options of Dataset.batches. */
export interface BatchOptions {
  /** Examples per batch (the last one may be smaller unless dropLast). */
  batchSize: number;
  /** Visit the examples in a random order (default true); false keeps the stored order. */
  shuffle?: boolean;
  /**
   * Seed of the order. Without one, a seed is drawn from the global generator (wt.seed): each call
   * gets a new order, and a run replays exactly after wt.seed(s).
   */
  seed?: number;
  /** Skip a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Options of the Dataset constructor. */
export interface DatasetOptions {
  /**
   * A host copy of y's i32 class labels, if the caller has one: split() then stratifies without
   * reading the device. (Datasets from the loaders and generators here always carry it.)
   */
  labels?: Int32Array;
}

/** Host arrays for Dataset.fromArrays. */
export interface DatasetArrays {
  /** Inputs, row-major, N·prod(xShape[1:]) values. */
  x: ArrayLike<number>;
  /** [N, ...features]. */
  xShape: number[];
  /** Targets: an Int32Array (or number[]) of class labels, or a Float32Array of targets. */
  y: ArrayLike<number>;
  /** Default [N]. */
  yShape?: number[];
  /** Default: 'f32' for a Float32Array or Float64Array, else 'i32'. */
  yDtype?: 'i32' | 'f32';
  /** Which backend holds the tensors (default: the one wt.init chose). */
  backend?: BackendName;
}

/**
 * Examples on one backend, batched on the device. Build one from tensors (`new Dataset(x, y)`), from
 * host arrays (`Dataset.fromArrays`), or with the loaders and generators of wt.data.
 */
export class Dataset {
  /** Inputs [N, ...features]. Owned by the data set: dispose() frees it. */
  readonly x: Tensor;
  /** Targets: [N] i32 class labels, or [N, ...] f32. Owned by the data set. */
  readonly y: Tensor;
  /** N, the number of examples. */
  readonly size: number;
  /** The backend holding x and y. */
  readonly backend: BackendName;
  private hostLabels: Int32Array | null;

  /**
   * A data set of the examples in x and y (their first axes must match). The Dataset takes the two
   * tensors over: they are kept out of tidy scopes and freed by dispose().
   */
  constructor(x: Tensor, y: Tensor, opts: DatasetOptions = {}) {
    checkOptions('Dataset', opts, ['labels']);
    for (const [name, t] of [['x', x], ['y', y]] as const) {
      if (!(t instanceof Tensor)) throw new WebtrainError(`Dataset: ${name} must be a Tensor, got ${describe(t)}`);
      if (t.isDisposed) throw new WebtrainError(`Dataset: ${name} (shape ${fmtShape(t.shape)}) was used after dispose()`);
      if (t.rank === 0) throw new WebtrainError(`Dataset: ${name} must have a first axis of examples, got a 0-d tensor`);
    }
    if (x.backend !== y.backend) {
      throw new WebtrainError(`Dataset: x lives on ${x.backend.name} and y on ${y.backend.name}; move them to one backend with .to()`);
    }
    if (x.shape[0] !== y.shape[0]) {
      throw new WebtrainError(`Dataset: x has ${x.shape[0]} examples (shape ${fmtShape(x.shape)}) but y has ${y.shape[0]} ` +
        `(shape ${fmtShape(y.shape)}); the first axis counts examples and must match`);
    }
    if (opts.labels && !(isClassLabels(y) && opts.labels.length === y.shape[0])) {
      throw new WebtrainError(`Dataset: labels (${opts.labels.length} values) must be a host copy of y, which needs to be ` +
        `i32 of shape [${x.shape[0]}]; y is ${y.dtype} ${fmtShape(y.shape)}`);
    }
    this.x = keep(x);
    this.y = keep(y);
    this.size = x.shape[0];
    this.backend = x.backend.name;
    this.hostLabels = opts.labels ?? null;
  }

  /** A data set from host arrays (the loaders use this; y's host labels are kept for split). */
  static fromArrays(arrays: DatasetArrays): Dataset {
    checkOptions('Dataset.fromArrays', arrays, ['x', 'xShape', 'y', 'yShape', 'yDtype', 'backend']);
    const { xShape, backend } = arrays;
    const n = xShape[0];
    const yShape = arrays.yShape ?? [n];
    const yDtype = arrays.yDtype ?? (arrays.y instanceof Float32Array || arrays.y instanceof Float64Array ? 'f32' : 'i32');
    const x = tensor(arrays.x instanceof Float32Array ? arrays.x : Float32Array.from(arrays.x), xShape, { backend });
    let y: Tensor;
    try {
      y = tensor(yDtype === 'i32' ? Int32Array.from(arrays.y) : Float32Array.from(arrays.y), yShape, { dtype: yDtype, backend });
    } catch (e) {
      x.dispose();
      throw e;
    }
    const labels = yDtype === 'i32' && yShape.length === 1 ? Int32Array.from(arrays.y) : undefined;
    try {
      return new Dataset(x, y, { labels });
    } catch (e) {
      x.dispose();
      y.dispose();
      throw e;
    }
  }

  /** The examples at `indices` (repeats allowed), gathered on the device into a new Dataset. */
  subset(indices: number[] | Int32Array): Dataset {
    this.checkAlive('subset');
    const idx = this.checkIndices('subset', indices);
    const index = tensor(idx, [idx.length], { dtype: 'i32', backend: this.backend });
    try {
      // A copy of data, not a step of a model: nothing to differentiate.
      const [x, y] = withGradMode(false, () => [indexSelect(this.x, 0, index), indexSelect(this.y, 0, index)]);
      const labels = this.hostLabels ? Int32Array.from(idx, (i) => this.hostLabels![i]) : undefined;
      return new Dataset(x, y, { labels });
    } finally {
      index.dispose();
    }
  }

  /**
   * Mini-batches covering every example once (the last one smaller, unless dropLast). The order is a
   * seeded permutation (Fisher–Yates on the host, the same on every backend), uploaded once per call;
   * each batch is gathered on the device (indexSelect). The caller disposes each batch (e.g. inside
   * wt.tidy). Breaking out of the loop frees the permutation at once.
   */
  batches(opts: BatchOptions): Generator<Batch, void, undefined> {
    checkOptions('batches', opts, ['batchSize', 'shuffle', 'seed', 'dropLast']);
    this.checkAlive('batches');
    const { batchSize, shuffle = true, seed, dropLast = false } = opts ?? ({} as Partial<BatchOptions>);
    if (!Number.isInteger(batchSize) || batchSize! < 1) throw new WebtrainError(`batches: batchSize must be a positive integer, got ${batchSize}`);
    // Drawn now, not at the first next(): the order must not depend on when iteration starts.
    const order = shuffle ? new Rng(seedOrDraw('batches', seed)).permutation(this.size) : null;
    return this.gather(order, batchSize!, dropLast);
  }

  /** A host copy of the i32 class labels y [N] (read from the device once, then cached). */
  async labels(): Promise<Int32Array> {
    this.checkAlive('labels');
    if (!isClassLabels(this.y)) throw new WebtrainError(`labels: y must be i32 class labels of shape [${this.size}], got ${this.y.dtype} ${fmtShape(this.y.shape)}`);
    this.hostLabels ??= (await this.y.data()) as Int32Array;
    return this.hostLabels;
  }

  /** The same examples on another backend (a copy; this one is unchanged). */
  async to(backend: BackendName): Promise<Dataset> {
    this.checkAlive('to');
    getBackend(backend);
    const x = await this.x.to(backend);
    const y = await this.y.to(backend);
    return new Dataset(x, y, { labels: this.hostLabels ?? undefined });
  }

  /** Frees x and y. */
  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }

  /** True after dispose(). */
  get isDisposed(): boolean {
    return this.x.isDisposed || this.y.isDisposed;
  }

  toString(): string {
    return `Dataset(${this.size} examples, x ${fmtShape(this.x.shape)} ${this.x.dtype}, y ${fmtShape(this.y.shape)} ${this.y.dtype}, ${this.backend})`;
  }

  /** @internal Host labels when available without reading the GPU (cached, or y on the CPU backend). */
  labelsNow(): ArrayLike<number> | null {
    if (this.hostLabels) return this.hostLabels;
    if (this.backend === 'cpu' && isClassLabels(this.y)) return cpuView(this.y.life.storage!, 'i32', this.size, this.y.life.byteOffset);
    return null;
  }

  private *gather(order: Int32Array | null, batchSize: number, dropLast: boolean): Generator<Batch, void, undefined> {
    const n = this.size;
    const last = dropLast ? n - (n % batchSize) : n;
    if (last === 0) return;
    // Kept out of the caller's tidy scopes: it lives across next() calls.
    const perm = keep(tensor(order ?? identity(n), [n], { dtype: 'i32', backend: this.backend }));
    try {
      for (let start = 0; start < last; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const index = size === n ? perm : slice(perm, [start], [size]);
        let batch: Batch;
        try {
          batch = { x: indexSelect(this.x, 0, index), y: indexSelect(this.y, 0, index) };
        } finally {
          if (index !== perm) index.dispose();
        }
        yield batch;
      }
    } finally {
      perm.dispose();
    }
  }

  private checkIndices(where: string, indices: number[] | Int32Array): Int32Array {
    if (!Array.isArray(indices) && !(indices instanceof Int32Array)) {
      throw new WebtrainError(`${where}: indices must be a number[] or Int32Array, got ${describe(indices)}`);
    }
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.size) {
        throw new WebtrainError(`${where}: index ${i} (at position ${k}) is out of range for a data set of ${this.size} examples`);
      }
    }
    return Int32Array.from(indices);
  }

  private checkAlive(where: string): void {
    if (this.isDisposed) throw new WebtrainError(`${where}: the Dataset was used after dispose()`);
  }
}

/** Options of split: part sizes as fractions (all <= 1) or counts. */
export interface SplitOptions {
  /** Fraction or count of examples for training (default: all the others). */
  train?: number;
  /** Fraction or count for validation (default 0: no valid part). */
  valid?: number;
  /** Fraction or count for testing (default 0: no test part). */
  test?: number;
  /** Seed of the assignment (default: drawn from the global generator, see BatchOptions.seed). */
  seed?: number;
  /** Keep class proportions in every part (default: true when y holds i32 class labels [N]). */
  stratify?: boolean;
}

/** The parts split() returns. */
export interface Splits {
  train: Dataset;
  /** Present when `valid` > 0 was asked for. */
  valid?: Dataset;
  /** Present when `test` > 0 was asked for. */
  test?: Dataset;
}

/**
 * Splits a data set into train / valid / test parts, given as fractions (all ≤ 1, summing to ≤ 1) or
 * as counts of examples. The assignment is a seeded shuffle and, when y holds i32 class labels,
 * stratified: each part gets every class in proportion to its frequency (within one example). Each
 * part is a new Dataset gathered on the device; `ds` is left as it is.
 */
export function split(ds: Dataset, opts: SplitOptions): Splits {
  checkOptions('split', opts, ['train', 'valid', 'test', 'seed', 'stratify']);
  if (!(ds instanceof Dataset)) throw new WebtrainError(`split: expected a Dataset, got ${describe(ds)}`);
  const { valid = 0, test = 0 } = opts;
  const asked: Record<string, number> = { train: opts.train ?? 0, valid, test };
  const counts = opts.train === undefined ? partSizes('split', ds.size, { valid, test }) : partSizes('split', ds.size, asked);
  if (opts.train === undefined) counts.unshift(ds.size - counts[0] - counts[1]);
  const names = ['train', 'valid', 'test'] as const;
  names.forEach((name, p) => {
    const requested = name === 'train' || asked[name] > 0;
    if (requested && counts[p] === 0) {
      throw new WebtrainError(`split: ${name} = ${opts[name] ?? 'the rest'} of ${ds.size} examples is no example at all`);
    }
  });
  const stratify = opts.stratify ?? isClassLabels(ds.y);
  let labels: ArrayLike<number> | null = null;
  if (stratify) {
    if (!isClassLabels(ds.y)) throw new WebtrainError(`split: stratify needs i32 class labels y [N], got ${ds.y.dtype} ${fmtShape(ds.y.shape)}`);
    labels = ds.labelsNow();
    if (!labels) {
      throw new WebtrainError('split: stratifying by class needs the labels on the host, and this Dataset keeps them only on the GPU: ' +
        '`await ds.labels()` once first (it caches them), or pass stratify: false');
    }
  }
  const parts = assignParts(ds.size, counts, new Rng(seedOrDraw('split', opts.seed)), labels);
  const out: Splits = { train: ds.subset(parts[0]) };
  if (valid > 0) out.valid = ds.subset(parts[1]);
  if (test > 0) out.test = ds.subset(parts[2]);
  return out;
}

function isClassLabels(y: Tensor): boolean {
  return y.dtype === 'i32' && y.rank === 1;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
