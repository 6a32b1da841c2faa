/** Making tensors: from data, constants, ranges, and seeded random draws. */
import type { BackendName } from './backend/backend';
import { toTypedArray, type DType, type TypedArray } from './dtype';
import { fail, WebtrainError } from './errors';
import { apply, getBackend, uploadStorage } from './runtime';
import { checkShape, numel } from './shape';
import { Tensor } from './tensor';
import * as C from './ops/creation';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Which backend holds the tensor (default: the one wt.init chose). */
  backend?: BackendName;
}

type NestedArray = number | NestedArray[];

/** A tensor from nested arrays, a flat array or typed array with a shape, or a number (0-d). */
export function tensor(data: NestedArray | TypedArray, shape?: number[], opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? (data instanceof Int32Array ? 'i32' : data instanceof Float64Array && opts.backend === 'cpu' ? 'f64' : 'f32');
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data;
    inferred = [data.length];
  } else {
    inferred = nestedShape(data);
    flat = typeof data === 'number' ? [data] : (data as unknown[]).flat(Infinity) as number[];
  }
  const finalShape = shape ? checkShape('tensor', shape) : inferred;
  if (numel(finalShape) !== flat.length) {
    fail('tensor', `${flat.length} values do not fill shape [${finalShape.join(', ')}] (${numel(finalShape)} elements)`);
  }
  return fromTyped(toTypedArray(dtype, flat), finalShape, dtype, opts);
}

function fromTyped(values: TypedArray, shape: number[], dtype: DType, opts: CreateOptions): Tensor {
  const backend = getBackend(opts.backend);
  if (!backend.dtypes.includes(dtype)) fail('tensor', `dtype ${dtype} is not supported on the ${backend.name} backend`);
  const t = new Tensor(backend, uploadStorage(backend, values, 'tensor'), shape, dtype);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const check = (v: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (typeof v !== 'number') fail('tensor', 'nested arrays must be regular (every row the same length) and hold numbers');
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) fail('tensor', `ragged nested array: expected length ${shape[d]} at depth ${d}`);
    v.forEach((w) => check(w, d + 1));
  };
  check(data, 0);
  return shape;
}

function made(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor {
  return made(apply(C.fill, [], { shape: checkShape('full', shape), value, dtype: opts.dtype ?? 'f32' }, opts.backend), opts);
}
export const zeros = (shape: number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: number[], opts: CreateOptions = {}) => full(shape, 1, opts);
export const zerosLike = (x: Tensor) => full([...x.shape], 0, { dtype: x.dtype, backend: x.backend.name });
export const onesLike = (x: Tensor) => full([...x.shape], 1, { dtype: x.dtype, backend: x.backend.name });

/** arange(n), or arange(start, stop, step?) as in NumPy (stop excluded). */
export function arange(startOrN: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [start, end] = stop === undefined ? [0, startOrN] : [startOrN, stop];
  if (step === 0) fail('arange', 'step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  return made(apply(C.arange, [], { start, step, n, dtype: opts.dtype ?? 'f32' }, opts.backend), opts);
}

/** Identity matrix [n, m] (m defaults to n). */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  return made(apply(C.eye, [], { n, m, dtype: opts.dtype ?? 'f32' }, opts.backend), opts);
}

// --- random ---

/** The global generator: Philox key (seed) and a counter offset that advances with each draw. */
const generator = { seed: 0x5eed, offset: 0 };

/** Seeds the global random generator (draws without their own seed continue from it). */
export function seed(s: number): void {
  if (!Number.isSafeInteger(s) || s < 0) throw new WebtrainError(`seed: expected a non-negative integer, got ${s}`);
  generator.seed = s;
  generator.offset = 0;
}

/** The generator state, for checkpoints. */
export function rngState(): { seed: number; offset: number } {
  return { ...generator };
}
export function setRngState(s: { seed: number; offset: number }): void {
  generator.seed = s.seed;
  generator.offset = s.offset;
}

export interface RandomOptions extends CreateOptions {
  /** A draw with its own seed is reproducible and leaves the global generator untouched. */
  seed?: number;
}

function draw(shape: number[], dist: 'uniform' | 'normal', a: number, b: number, opts: RandomOptions): Tensor {
  checkShape(dist === 'uniform' ? 'rand' : 'randn', shape);
  let s: number;
  let offset: number;
  if (opts.seed !== undefined) {
    s = opts.seed;
    offset = 0;
  } else {
    s = generator.seed;
    offset = generator.offset;
    generator.offset += numel(shape);
  }
  return made(apply(C.random, [], { shape, dtype: opts.dtype ?? 'f32', dist, a, b, seed: s, offset }, opts.backend), opts);
}

/** Uniform in [low, high) (default [0, 1)). */
export function rand(shape: number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return draw(shape, 'uniform', opts.low ?? 0, opts.high ?? 1, opts);
}

/** Normal with mean and std (default standard normal). */
export function randn(shape: number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return draw(shape, 'normal', opts.mean ?? 0, opts.std ?? 1, opts);
}
