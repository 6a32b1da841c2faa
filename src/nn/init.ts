/**
 * wt.nn.init: weight initializers with PyTorch's formulas (torch.nn.init). Each returns a new tensor
 * of the given shape; `initialize(tensor, kind, opts)` overwrites an existing one in place.
 *
 * All are seeded: with `{seed}` a draw is reproducible (Philox stream (seed, 0)) and the same on the
 * CPU and the GPU; without, it takes the next numbers of the global generator (`wt.seed`).
 * Zero and constant initialization are allowed on purpose: they are the classic failure cases
 * (every unit of a layer stays identical) that one wants to be able to show.
 */
import type { BackendName } from '../backend/backend';
import type { DType } from '../dtype';
import { fmtShape, WebtrainError } from '../errors';
import { full, rand, randn } from '../create';
import { numel } from '../shape';
import type { Tensor } from '../tensor';
import { checkOptions } from './options';

/** Where and how to make the tensor, and the draw's seed. */
export interface InitOptions {
  /** Seed of a reproducible draw; without it the global generator is used (and advanced). */
  seed?: number;
  /** Backend that holds the tensor (default: the one wt.init chose). */
  backend?: BackendName;
  /** 'f32' (default) or 'f64' (CPU backend). */
  dtype?: DType;
}

/** Options of the Glorot/He initializers. */
export interface ScaledInitOptions extends InitOptions {
  /** Scale factor (PyTorch's `gain`): Glorot default 1, He default sqrt(2), the ReLU gain. */
  gain?: number;
}

export interface HeInitOptions extends ScaledInitOptions {
  /** Which fan sets the variance: 'fanIn' (default, preserves forward variance) or 'fanOut' (backward). */
  mode?: 'fanIn' | 'fanOut';
}

/** An initializer: shape → new tensor. */
export type Initializer = (shape: number[], opts?: InitOptions) => Tensor;

/** The initializers by name (for `Linear(in, out, {init})`, `mlp({init})` and `initialize`). */
export type InitName = 'zeros' | 'ones' | 'constant' | 'uniform' | 'normal' | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal';

const BASE = ['seed', 'backend', 'dtype'] as const;

/** All zeros. */
export function zeros(shape: number[], opts: InitOptions = {}): Tensor {
  return constant(shape, 0, opts);
}

/** All ones. */
export function ones(shape: number[], opts: InitOptions = {}): Tensor {
  return constant(shape, 1, opts);
}

/** Every element `value` (PyTorch `constant_`). */
export function constant(shape: number[], value: number, opts: InitOptions = {}): Tensor {
  checkOptions('init.constant', opts, BASE);
  if (!Number.isFinite(value)) throw new WebtrainError(`init.constant: value must be a finite number, got ${value}`);
  return full(shape, value, { backend: opts.backend, dtype: opts.dtype });
}

/** Uniform on [a, b) (PyTorch `uniform_`, default [0, 1)). */
export function uniform(shape: number[], a = 0, b = 1, opts: InitOptions = {}): Tensor {
  checkOptions('init.uniform', opts, BASE);
  if (!(Number.isFinite(a) && Number.isFinite(b) && a <= b)) throw new WebtrainError(`init.uniform: needs finite a <= b, got a = ${a}, b = ${b}`);
  return rand(shape, { low: a, high: b, seed: opts.seed, backend: opts.backend, dtype: opts.dtype });
}

/** Normal with `mean` and standard deviation `std` (PyTorch `normal_`, default N(0, 1)). */
export function normal(shape: number[], mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkOptions('init.normal', opts, BASE);
  if (!(Number.isFinite(mean) && Number.isFinite(std) && std >= 0)) throw new WebtrainError(`init.normal: needs a finite mean and std >= 0, got mean = ${mean}, std = ${std}`);
  return randn(shape, { mean, std, seed: opts.seed, backend: opts.backend, dtype: opts.dtype });
}

/**
 * Glorot (Xavier) uniform: U[-b, b], b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010;
 * PyTorch `xavier_uniform_`). Keeps activation and gradient variance roughly constant across layers.
 */
export function glorotUniform(shape: number[], opts: ScaledInitOptions = {}): Tensor {
  const { gain = 1, ...rest } = checkScaled('init.glorotUniform', opts, ['gain']);
  const { fanIn, fanOut } = fans(shape, 'init.glorotUniform');
  const b = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -b, b, rest);
}

/** Glorot (Xavier) normal: N(0, std²), std = gain * sqrt(2 / (fan_in + fan_out)) (PyTorch `xavier_normal_`). */
export function glorotNormal(shape: number[], opts: ScaledInitOptions = {}): Tensor {
  const { gain = 1, ...rest } = checkScaled('init.glorotNormal', opts, ['gain']);
  const { fanIn, fanOut } = fans(shape, 'init.glorotNormal');
  return normal(shape, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), rest);
}

/**
 * He (Kaiming) uniform: U[-b, b], b = gain * sqrt(3 / fan), which with the default ReLU gain sqrt(2)
 * and fan = fan_in is b = sqrt(6 / fan_in) (He et al. 2015; PyTorch `kaiming_uniform_` with
 * nonlinearity 'relu'). Note PyTorch's Linear default is kaiming_uniform_ with a = sqrt(5), i.e.
 * b = 1/sqrt(fan_in); here Linear defaults to glorotUniform.
 */
export function heUniform(shape: number[], opts: HeInitOptions = {}): Tensor {
  const { gain = Math.SQRT2, mode = 'fanIn', ...rest } = checkScaled('init.heUniform', opts, ['gain', 'mode']);
  return uniform(shape, ...symmetric(gain * Math.sqrt(3 / fanOf(shape, mode, 'init.heUniform'))), rest);
}

/** He (Kaiming) normal: N(0, std²), std = gain / sqrt(fan) = sqrt(2 / fan_in) by default (PyTorch `kaiming_normal_`). */
export function heNormal(shape: number[], opts: HeInitOptions = {}): Tensor {
  const { gain = Math.SQRT2, mode = 'fanIn', ...rest } = checkScaled('init.heNormal', opts, ['gain', 'mode']);
  return normal(shape, 0, gain / Math.sqrt(fanOf(shape, mode, 'init.heNormal')), rest);
}

/** PyTorch's names for the same initializers. */
export const xavierUniform = glorotUniform;
export const xavierNormal = glorotNormal;
export const kaimingUniform = heUniform;
export const kaimingNormal = heNormal;

/**
 * fan_in and fan_out as PyTorch's `_calculate_fan_in_and_fan_out`: for a weight [out, in, ...kernel]
 * fan_in = in * prod(kernel) and fan_out = out * prod(kernel) (a Linear [out, in]: fan_in = in; a
 * conv [out, in, kh, kw]: fan_in = in * kh * kw). Needs rank >= 2.
 */
export function fans(shape: readonly number[], where = 'init.fans'): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new WebtrainError(`${where}: fan_in and fan_out need a weight of rank >= 2 ([out, in, ...kernel]), got shape ${fmtShape(shape)}`);
  }
  const receptive = numel(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Options of `initialize` / `byName`: those of the chosen initializer. */
export interface NamedInitOptions extends HeInitOptions {
  /** constant's value. */
  value?: number;
  /** uniform's bounds [a, b). */
  a?: number;
  b?: number;
  /** normal's mean and standard deviation. */
  mean?: number;
  std?: number;
}

/** A new tensor from the initializer `kind` (a name or a function). */
export function byName(kind: InitName | Initializer, shape: number[], opts: NamedInitOptions = {}): Tensor {
  if (typeof kind === 'function') return kind(shape, opts);
  const { value, a, b, mean, std, gain, mode, ...base } = opts;
  const only = (...allowed: (keyof NamedInitOptions)[]) => {
    const extra = Object.entries({ value, a, b, mean, std, gain, mode })
      .filter(([k, v]) => v !== undefined && !allowed.includes(k as keyof NamedInitOptions)).map(([k]) => k);
    if (extra.length) throw new WebtrainError(`init '${kind}' takes no option ${extra.map((k) => `'${k}'`).join(', ')}`);
  };
  switch (kind) {
    case 'zeros': only(); return zeros(shape, base);
    case 'ones': only(); return ones(shape, base);
    case 'constant':
      only('value');
      if (value === undefined) throw new WebtrainError(`init 'constant' needs {value}`);
      return constant(shape, value, base);
    case 'uniform': only('a', 'b'); return uniform(shape, a, b, base);
    case 'normal': only('mean', 'std'); return normal(shape, mean, std, base);
    case 'glorotUniform': only('gain'); return glorotUniform(shape, { ...base, gain });
    case 'glorotNormal': only('gain'); return glorotNormal(shape, { ...base, gain });
    case 'heUniform': only('gain', 'mode'); return heUniform(shape, { ...base, gain, mode });
    case 'heNormal': only('gain', 'mode'); return heNormal(shape, { ...base, gain, mode });
    default:
      throw new WebtrainError(`unknown initializer '${kind as string}' (known: zeros, ones, constant, uniform, normal, ` +
        'glorotUniform, glorotNormal, heUniform, heNormal, or a function (shape, opts) => Tensor)');
  }
}

/**
 * Overwrites `t` in place with fresh values from `kind` (outside the tape; optimizers holding `t`
 * keep working). Returns `t`. E.g. `init.initialize(layer.weight, 'heNormal', {seed: 1})`.
 */
export function initialize(t: Tensor, kind: InitName | Initializer, opts: NamedInitOptions = {}): Tensor {
  const fresh = byName(kind, [...t.shape], { ...opts, backend: t.backend.name, dtype: t.dtype });
  try {
    t.assign(fresh);
  } finally {
    fresh.dispose();
  }
  return t;
}

// ---------------------------------------------------------------------------------------------

function checkScaled<O extends ScaledInitOptions>(where: string, opts: O, extra: string[]): O {
  checkOptions(where, opts, [...BASE, ...extra]);
  const clean = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as O;
  if (clean.gain !== undefined && !(Number.isFinite(clean.gain) && clean.gain >= 0)) {
    throw new WebtrainError(`${where}: gain must be a finite number >= 0, got ${clean.gain}`);
  }
  return clean;
}

function fanOf(shape: readonly number[], mode: string, where: string): number {
  const { fanIn, fanOut } = fans(shape, where);
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new WebtrainError(`${where}: mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  return mode === 'fanIn' ? fanIn : fanOut;
}

function symmetric(b: number): [number, number] {
  return [-b, b];
}
