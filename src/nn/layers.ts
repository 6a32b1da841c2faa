/**
 * Layers: Linear (one fused matmul + bias + activation kernel), Sequential, the activations, Dropout,
 * Identity, Flatten and Unflatten, with PyTorch's semantics, parameter names and layouts.
 */
import type { BackendName } from '../backend/backend';
import type { DType } from '../dtype';
import { fmtShape, WebtrainError } from '../errors';
import { LINEAR_ACTIVATIONS, widthMessage, type LinearActivation } from '../ops/linear';
import { normalizeAxis, numel } from '../shape';
import type { Tensor } from '../tensor';
import { dropout } from './dropout';
import { byName, zeros, type InitName, type Initializer } from './init';
import { linear } from './linear';
import { Module } from './module';
import { checkOptions, checkPositiveInt } from './options';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Weight initializer, a name or a function (default 'glorotUniform'); the bias starts at zero. */
  init?: InitName | Initializer;
  /** Activation fused into the layer's kernel (default 'none'). */
  activation?: LinearActivation;
  /** Seed of the weight draw (default: the global generator). */
  seed?: number;
  backend?: BackendName;
  dtype?: DType;
}

/**
 * A fully connected layer, y = act(x · Wᵀ + b), as PyTorch's `nn.Linear`: `weight` is
 * [outFeatures, inFeatures], `bias` [outFeatures]; x is [..., inFeatures] (leading dims are batch
 * dims). The forward pass is ONE fused kernel (matmul + bias + activation).
 *
 * Initialization: weights are Glorot (Xavier) uniform, U[-b, b] with b = sqrt(6 / (in + out)), and
 * biases are zero. NOTE: PyTorch's own default differs (kaiming_uniform_ with a = sqrt(5), i.e.
 * U[-1/sqrt(in), 1/sqrt(in)], for weights and biases alike); pass `init` to choose another
 * (`'heUniform'` for ReLU networks, `'zeros'` to show why symmetric weights never learn).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The activation applied inside the kernel ('none' for a plain affine layer). */
  readonly activation: LinearActivation;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkOptions('Linear', opts, ['bias', 'init', 'activation', 'seed', 'backend', 'dtype']);
    checkPositiveInt('Linear', 'inFeatures', inFeatures);
    checkPositiveInt('Linear', 'outFeatures', outFeatures);
    const { bias = true, init = 'glorotUniform', activation = 'none', seed, backend, dtype } = opts;
    if (!LINEAR_ACTIVATIONS.includes(activation)) {
      throw new WebtrainError(`Linear: activation must be 'none', 'relu', 'tanh' or 'sigmoid', got '${activation}'`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.activation = activation;
    this.weight = this.addParameter('weight', byName(init, [outFeatures, inFeatures], { seed, backend, dtype }));
    this.bias = bias ? this.addParameter('bias', zeros([outFeatures], { backend, dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, this.activation);
  }

  /** @internal The layer followed by `activation` in one kernel (Sequential's fusion). */
  forwardWith(x: Tensor, activation: LinearActivation): Tensor {
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new WebtrainError(`Linear(${this.inFeatures}, ${this.outFeatures}): ${widthMessage(x.shape, this.inFeatures)}`);
    }
    return linear(x, this.weight, this.bias, { activation });
  }

  toString(): string {
    const act = this.activation === 'none' ? '' : `, activation=${this.activation}`;
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}${act})`;
  }
}

/**
 * Modules applied in order, as PyTorch's `nn.Sequential`: children are named '0', '1', ... so the
 * state dict keys are PyTorch's ('0.weight', '2.bias'). A Linear without activation directly
 * followed by ReLU, Tanh or Sigmoid runs as one fused kernel; the result and its gradients are the
 * same as the two modules run one after the other (set `fuseActivations = false` to run them so).
 */
export class Sequential extends Module {
  /** Fuse Linear + ReLU/Tanh/Sigmoid pairs into one kernel (default true; exactly equivalent). */
  fuseActivations = true;
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new WebtrainError(`Sequential: argument ${i} is not a Module (got ${String(m)})`);
      this.addModule(String(i), m);
    });
    this.layers = layers;
  }

  /** The number of layers. */
  get length(): number {
    return this.layers.length;
  }

  /** The layer at index i (negative counts from the end). */
  at(i: number): Module {
    const m = this.layers.at(i);
    if (!m) throw new WebtrainError(`Sequential.at: index ${i} is out of range for ${this.layers.length} layers`);
    return m;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i];
      const act = this.fuseActivations ? fusedActivation(m, this.layers[i + 1]) : null;
      if (act) {
        h = (m as Linear).forwardWith(h, act);
        i++; // the activation module ran inside the Linear kernel
      } else {
        h = m.forward(h);
      }
    }
    return h;
  }

  toString(): string {
    return `Sequential(\n${this.layers.map((m, i) => `  (${i}): ${String(m).replace(/\n/g, '\n  ')}`).join('\n')}\n)`;
  }
}

/** x.relu(), as PyTorch's `nn.ReLU`. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
  toString(): string { return 'ReLU()'; }
}

/** x.tanh(), as PyTorch's `nn.Tanh`. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
  toString(): string { return 'Tanh()'; }
}

/** x.sigmoid(), as PyTorch's `nn.Sigmoid`. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
  toString(): string { return 'Sigmoid()'; }
}

/** max(0, x) + negativeSlope * min(0, x), as PyTorch's `nn.LeakyReLU` (default slope 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) throw new WebtrainError(`LeakyReLU: negativeSlope must be a finite number, got ${negativeSlope}`);
  }
  forward(x: Tensor): Tensor { return x.leakyRelu(this.negativeSlope); }
  toString(): string { return `LeakyReLU(negative_slope=${this.negativeSlope})`; }
}

/** The exact (erf) GELU, x * Phi(x), PyTorch's `nn.GELU()` default. */
export class GELU extends Module {
  forward(x: Tensor): Tensor { return x.gelu(); }
  toString(): string { return 'GELU()'; }
}

/** Returns its input itself, as PyTorch's `nn.Identity`. */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
  toString(): string { return 'Identity()'; }
}

/**
 * Flattens dims startDim..endDim into one, as PyTorch's `nn.Flatten` (defaults 1 and -1: keeps the
 * batch dim, [N, C, H, W] → [N, C*H*W]). A view: no copy.
 */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const d of [startDim, endDim]) if (!Number.isInteger(d)) throw new WebtrainError(`Flatten: dims must be integers, got ${d}`);
  }

  forward(x: Tensor): Tensor {
    if (x.rank === 0) return x.reshape([1]);
    const s = normalizeAxis('Flatten', this.startDim, x.rank);
    const e = normalizeAxis('Flatten', this.endDim, x.rank);
    if (s > e) {
      throw new WebtrainError(`Flatten: startDim ${this.startDim} comes after endDim ${this.endDim} for an input of rank ${x.rank}`);
    }
    return x.reshape([...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
  }

  toString(): string { return `Flatten(start_dim=${this.startDim}, end_dim=${this.endDim})`; }
}

/**
 * Splits dim `dim` into `sizes`, as PyTorch's `nn.Unflatten(dim, sizes)`: the inverse of Flatten,
 * e.g. `new Unflatten(1, [1, 28, 28])` turns flat MNIST rows [N, 784] into images [N, 1, 28, 28]
 * for a Conv2d. One size may be -1 (inferred). A view: no copy.
 */
export class Unflatten extends Module {
  readonly sizes: readonly number[];

  constructor(readonly dim: number, sizes: readonly number[]) {
    super();
    if (!Number.isInteger(dim)) throw new WebtrainError(`Unflatten: dim must be an integer, got ${dim}`);
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && (s >= 1 || s === -1)) ||
      sizes.filter((s) => s === -1).length > 1) {
      throw new WebtrainError(`Unflatten: sizes must be positive integers (one may be -1), got ${JSON.stringify(sizes)}`);
    }
    this.sizes = [...sizes];
  }

  forward(x: Tensor): Tensor {
    const d = normalizeAxis('Unflatten', this.dim, x.rank);
    const known = this.sizes.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    if (this.sizes.includes(-1) ? x.shape[d] % known !== 0 : x.shape[d] !== known) {
      throw new WebtrainError(`Unflatten: dim ${this.dim} of the input ${fmtShape(x.shape)} has size ${x.shape[d]}, ` +
        `which cannot be split into ${fmtShape(this.sizes)}`);
    }
    const sizes = this.sizes.map((s) => (s === -1 ? x.shape[d] / known : s));
    return x.reshape([...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
  }

  toString(): string { return `Unflatten(dim=${this.dim}, unflattened_size=(${this.sizes.join(', ')}))`; }
}

/**
 * Inverted dropout, as PyTorch's `nn.Dropout(p)`: in train mode each element is zeroed with
 * probability p and the rest scaled by 1 / (1 - p); in eval mode it returns its input itself.
 * Masks come from the global generator (`wt.seed` makes a run reproducible), or, with `{seed}`,
 * from the layer's own stream: call k draws the counters after those of calls 1..k-1.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly seed: number | undefined;
  private offset = 0;

  constructor(p = 0.5, opts: { seed?: number } = {}) {
    super();
    checkOptions('Dropout', opts, ['seed']);
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
      throw new WebtrainError(`Dropout: p is the probability of dropping an element and must be in [0, 1], got ${p}`);
    }
    if (opts.seed !== undefined && !(Number.isSafeInteger(opts.seed) && opts.seed >= 0)) {
      throw new WebtrainError(`Dropout: seed must be a non-negative integer, got ${opts.seed}`);
    }
    this.p = p;
    this.seed = opts.seed;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.seed === undefined) return dropout(x, this.p);
    const y = dropout(x, this.p, { seed: this.seed, offset: this.offset });
    this.offset += x.size;
    return y;
  }

  toString(): string { return `Dropout(p=${this.p})`; }
}

// ---------------------------------------------------------------------------------------------

/**
 * The activation that `next` would apply to `m`'s output when the pair can run as one Linear kernel
 * with the same result: m is a plain Linear (its own forward, no activation yet) and next is exactly
 * a ReLU, Tanh or Sigmoid (not a subclass, whose forward could differ). Else null.
 */
function fusedActivation(m: Module, next: Module | undefined): LinearActivation | null {
  if (!(m instanceof Linear) || m.activation !== 'none' || !next) return null;
  if (m.forward !== Linear.prototype.forward || m.forwardWith !== Linear.prototype.forwardWith) return null;
  const proto = Object.getPrototypeOf(next);
  if (next.forward !== proto.forward) return null; // forward replaced on the instance
  if (proto === ReLU.prototype) return 'relu';
  if (proto === Tanh.prototype) return 'tanh';
  if (proto === Sigmoid.prototype) return 'sigmoid';
  return null;
}
