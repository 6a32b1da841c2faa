/**
 * Convolution and pooling for NCHW images, as PyTorch's `nn.Conv2d`, `nn.MaxPool2d`,
 * `nn.AvgPool2d` and their functional forms (wt.nn.functional.conv2d, maxPool2d, avgPool2d). Sizes
 * are a number (both dims) or a pair [h, w]; an unbatched [C, H, W] input gives a [C, OH, OW]
 * output, as in PyTorch. The ops behind them are in src/ops/conv2d.ts and src/ops/pool2d.ts.
 */
import type { BackendName } from '../backend/backend';
import type { DType } from '../dtype';
import { fmtShape, WebtrainError } from '../errors';
import { conv2d as conv2dOp, type Conv2dAttrs, type Pair } from '../ops/conv2d';
import { random } from '../ops/creation';
import { avgPool2d as avgPool2dOp, maxPool2d as maxPool2dOp, type Pool2dAttrs } from '../ops/pool2d';
import type { OpDef } from '../ops/op-def';
import { apply } from '../runtime';
import type { Tensor } from '../tensor';
import { byName, fans, uniform, type InitName, type Initializer } from './init';
import { Module } from './module';
import { checkOptions, checkPositiveInt } from './options';

/** A size for both spatial dims, or [height, width]. */
export type Size2d = number | [number, number];

/** Options of conv2d (PyTorch's defaults: stride 1, padding 0, dilation 1, groups 1). */
export interface Conv2dOptions {
  stride?: Size2d;
  /** Zeros added on each side: top and bottom, left and right. */
  padding?: Size2d;
  /** Spacing between kernel taps (2: a 3x3 kernel covers 5x5). */
  dilation?: Size2d;
  /** Channels are split into this many groups, each convolved with its own filters (inChannels: depthwise). */
  groups?: number;
}

/** Options of maxPool2d and avgPool2d. */
export interface Pool2dOptions {
  kernelSize: Size2d;
  /** Default: the kernel size (non-overlapping windows), as PyTorch. */
  stride?: Size2d;
  /** Added on each side, at most half the kernel: -inf for max pooling, zeros (counted in the mean) for average pooling. */
  padding?: Size2d;
}

const CONV_OPTIONS = ['stride', 'padding', 'dilation', 'groups'] as const;
const POOL_OPTIONS = ['kernelSize', 'stride', 'padding'] as const;

/**
 * 2-D convolution, PyTorch's `F.conv2d(x, weight, bias, stride, padding, dilation, groups)`: x is
 * [N, C, H, W] (or [C, H, W]), weight [outC, C / groups, kH, kW], bias [outC] or null; the output is
 * [N, outC, OH, OW] with OH = floor((H + 2·padding - dilation·(kH - 1) - 1) / stride) + 1.
 * Gradients flow to x, weight and bias (and gradients of gradients: the backward ops are
 * differentiable). Like PyTorch (and every deep-learning library) it is a cross-correlation: the
 * kernel is not flipped.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', opts, CONV_OPTIONS);
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  const attrs: Conv2dAttrs = {
    stride: pair('conv2d', 'stride', stride), padding: pair('conv2d', 'padding', padding),
    dilation: pair('conv2d', 'dilation', dilation), groups,
  };
  return unbatched(conv2dOp, x, (x4) => (bias ? [x4, weight, bias] : [x4, weight]), attrs);
}

/**
 * 2-D max pooling, PyTorch's `F.max_pool2d(x, kernel_size, stride, padding)` (ceil_mode false,
 * dilation 1): x [N, C, H, W] or [C, H, W]. The gradient goes to each window's maximum (the first
 * one on ties, as PyTorch); NaN propagates.
 */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return unbatched(maxPool2dOp, x, (x4) => [x4], poolAttrs('maxPool2d', opts));
}

/**
 * 2-D average pooling, PyTorch's `F.avg_pool2d(x, kernel_size, stride, padding)` with its defaults
 * (count_include_pad true: every window is divided by kH·kW, padding counted as zeros; ceil_mode
 * false): x [N, C, H, W] or [C, H, W].
 */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return unbatched(avgPool2dOp, x, (x4) => [x4], poolAttrs('avgPool2d', opts));
}

/** Options of the Conv2d layer. */
export interface Conv2dLayerOptions extends Conv2dOptions {
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /**
   * Weight initializer, a name or a function; the bias then starts at zero. Default: PyTorch's
   * (weight and bias U[-b, b], b = 1 / sqrt(fanIn), fanIn = inChannels / groups · kH · kW).
   */
  init?: InitName | Initializer;
  /** Seed of the draws (default: the global generator). */
  seed?: number;
  backend?: BackendName;
  dtype?: DType;
}

/**
 * A 2-D convolution layer, as PyTorch's `nn.Conv2d(inChannels, outChannels, kernelSize, stride,
 * padding, dilation, groups, bias)`: `weight` [outC, inC / groups, kH, kW], `bias` [outC]. Input
 * [N, inC, H, W] (or [inC, H, W]).
 *
 * Initialization is PyTorch's default: kaiming_uniform_ with a = sqrt(5) for the weight, which is
 * U[-b, b] with b = gain · sqrt(3 / fanIn), gain = sqrt(2 / (1 + a²)) = sqrt(1/3), so b = 1 / sqrt(fanIn);
 * the bias is U[-b, b] with the same b. Pass `init` ('heUniform' for ReLU networks, 'glorotUniform',
 * ...) to draw the weight otherwise; the bias then starts at zero, as in Linear.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2d, opts: Conv2dLayerOptions = {}) {
    super();
    checkOptions('Conv2d', opts, [...CONV_OPTIONS, 'bias', 'init', 'seed', 'backend', 'dtype']);
    checkPositiveInt('Conv2d', 'inChannels', inChannels);
    checkPositiveInt('Conv2d', 'outChannels', outChannels);
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, init, seed, backend, dtype } = opts;
    checkPositiveInt('Conv2d', 'groups', groups);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new WebtrainError(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`);
    }
    if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new WebtrainError(`Conv2d: seed must be a non-negative integer, got ${seed}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', stride);
    this.padding = pair('Conv2d', 'padding', padding);
    this.dilation = pair('Conv2d', 'dilation', dilation);
    this.groups = groups;
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    if (init !== undefined) {
      this.weight = this.addParameter('weight', byName(init, shape, { seed, backend, dtype }));
      this.bias = bias ? this.addParameter('bias', byName('zeros', [outChannels], { backend, dtype })) : null;
      return;
    }
    const b = 1 / Math.sqrt(fans(shape, 'Conv2d').fanIn);
    this.weight = this.addParameter('weight', uniform(shape, -b, b, { seed, backend, dtype }));
    // With a seed, the bias takes the counters after the weight's in the same stream: a stream of its
    // own (seed + 1) would repeat the next layer's weights when layers are seeded seed, seed + 1, ...
    this.bias = !bias ? null : this.addParameter('bias', seed === undefined
      ? uniform([outChannels], -b, b, { backend, dtype })
      : apply(random, [], { shape: [outChannels], dtype: dtype ?? 'f32', dist: 'uniform', a: -b, b, seed, offset: shape.reduce((p, d) => p * d, 1) }, backend));
  }

  forward(x: Tensor): Tensor {
    if ((x.rank !== 4 && x.rank !== 3) || x.shape[x.rank - 3] !== this.inChannels) {
      throw new WebtrainError(`${this.toString()}: expected an input [N, ${this.inChannels}, H, W] (or [${this.inChannels}, H, W]), ` +
        `got ${fmtShape(x.shape)}${x.rank === 2 ? '; flat images need a reshape to [N, C, H, W] first (e.g. an Unflatten layer)' : ''}`);
    }
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  toString(): string {
    const extra = [
      this.stride.some((s) => s !== 1) ? `, stride=${tuple(this.stride)}` : '',
      this.padding.some((s) => s !== 0) ? `, padding=${tuple(this.padding)}` : '',
      this.dilation.some((s) => s !== 1) ? `, dilation=${tuple(this.dilation)}` : '',
      this.groups !== 1 ? `, groups=${this.groups}` : '',
      this.bias ? '' : ', bias=False',
    ].join('');
    return `Conv2d(${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}${extra})`;
  }
}

/** Max pooling, as PyTorch's `nn.MaxPool2d(kernelSize, stride = kernelSize, padding = 0)`; see maxPool2d. */
export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;

  constructor(kernelSize: Size2d, opts: Omit<Pool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptions('MaxPool2d', opts, ['stride', 'padding']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolAttrs('MaxPool2d', { kernelSize, ...opts }));
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }

  toString(): string {
    return `MaxPool2d(kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}, padding=${tuple(this.padding)})`;
  }
}

/** Average pooling, as PyTorch's `nn.AvgPool2d(kernelSize, stride = kernelSize, padding = 0)`; see avgPool2d. */
export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;

  constructor(kernelSize: Size2d, opts: Omit<Pool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptions('AvgPool2d', opts, ['stride', 'padding']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolAttrs('AvgPool2d', { kernelSize, ...opts }));
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }

  toString(): string {
    return `AvgPool2d(kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}, padding=${tuple(this.padding)})`;
  }
}

// ---------------------------------------------------------------------------------------------

/** A size as a pair [h, w] of integers >= min (padding: 0, the rest: 1). */
function pair(where: string, name: string, v: Size2d, min = name === 'padding' ? 0 : 1): Pair {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new WebtrainError(`${where}: ${name} must be ${min === 0 ? 'a non-negative integer' : 'a positive integer'} ` +
      `or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

function poolAttrs(where: string, opts: Pool2dOptions): Pool2dAttrs {
  checkOptions(where, opts, POOL_OPTIONS);
  if (opts?.kernelSize === undefined) throw new WebtrainError(`${where}: kernelSize is required, e.g. {kernelSize: 2}`);
  const kernelSize = pair(where, 'kernelSize', opts.kernelSize);
  return { kernelSize, stride: opts.stride === undefined ? kernelSize : pair(where, 'stride', opts.stride), padding: pair(where, 'padding', opts.padding ?? 0) };
}

/** Applies a 4-D op to x, accepting an unbatched [C, H, W] x as PyTorch does (a batch of one, removed again). */
function unbatched<A>(op: OpDef<A>, x: Tensor, inputs: (x4: Tensor) => Tensor[], attrs: A): Tensor {
  if (x?.rank !== 3) return apply(op, inputs(x), attrs);
  const x4 = x.reshape([1, ...x.shape]);
  const y = apply(op, inputs(x4), attrs);
  const out = y.reshape(y.shape.slice(1));
  x4.dispose();
  y.dispose();
  return out;
}

const tuple = ([h, w]: Pair) => `(${h}, ${w})`;
