/** mlp({sizes, ...}): a multilayer perceptron as a Sequential with PyTorch-style indices. */
import type { BackendName } from '../backend/backend';
import type { DType } from '../dtype';
import { WebtrainError } from '../errors';
import type { InitName, Initializer } from './init';
import { Dropout, GELU, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh } from './layers';
import type { Module } from './module';
import { BatchNorm1d, LayerNorm, type PlacementOptions } from './norm';
import { checkOptions, checkPositiveInt } from './options';

/** Activation modules by name ('none': no module at all). */
export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'leakyRelu' | 'gelu' | 'identity' | 'none';

export interface MlpOptions {
  /** Layer widths, input first: [784, 256, 10] is Linear(784, 256) → act → Linear(256, 10). */
  sizes: number[];
  /** Activation after every hidden Linear (default 'relu'). */
  activation?: ActivationName;
  /** Activation after the last Linear (default 'none': raw logits, as crossEntropy expects). */
  outputActivation?: ActivationName;
  /** Dropout probability after each hidden activation (default 0: no Dropout modules). */
  dropout?: number;
  /**
   * Normalization after each hidden Linear, before its activation (default 'none'): 'batch'
   * (BatchNorm1d), 'layer' (LayerNorm), or a function width → Module for any other.
   */
  norm?: 'batch' | 'layer' | 'none' | ((width: number) => Module);
  /** Weight initializer of every Linear (default 'glorotUniform'; biases start at zero). */
  init?: InitName | Initializer;
  /** Seed of the weights: Linear k (counting from 0) draws with seed + k. Default: the global generator. */
  seed?: number;
  /** Learn biases (default true). */
  bias?: boolean;
  backend?: BackendName;
  dtype?: DType;
}

/**
 * A multilayer perceptron: for each hidden layer Linear → [norm] → activation → [Dropout], then the
 * output Linear → [outputActivation], all children of one Sequential indexed '0', '1', ... as
 * PyTorch would number them. E.g. `mlp({sizes: [784, 256, 10]})` has state dict keys '0.weight',
 * '0.bias', '2.weight', '2.bias' (index 1 is the ReLU). Linear + ReLU/Tanh/Sigmoid pairs run as one
 * fused kernel (see Sequential).
 */
export function mlp(opts: MlpOptions): Sequential {
  checkOptions('mlp', opts, ['sizes', 'activation', 'outputActivation', 'dropout', 'norm', 'init', 'seed', 'bias', 'backend', 'dtype']);
  const { sizes, activation = 'relu', outputActivation = 'none', dropout = 0, norm = 'none', init, seed, bias, backend, dtype } = opts ?? {};
  if (!Array.isArray(sizes) || sizes.length < 2) {
    throw new WebtrainError(`mlp: sizes must list at least the input and output widths, e.g. [784, 256, 10], got ${JSON.stringify(sizes)}`);
  }
  sizes.forEach((n, i) => checkPositiveInt('mlp', `sizes[${i}]`, n));
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout <= 1)) {
    throw new WebtrainError(`mlp: dropout is a probability in [0, 1], got ${dropout}`);
  }
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new WebtrainError(`mlp: seed must be a non-negative integer, got ${seed}`);
  // Names are checked even when there is no hidden layer to use them: a typo never passes silently.
  if (typeof norm !== 'function' && !['none', 'batch', 'layer'].includes(norm)) {
    throw new WebtrainError(`mlp: unknown norm '${norm as string}' (expected 'batch', 'layer', 'none' or a function width => Module)`);
  }
  activationModule(activation, 'activation');
  const layers: Module[] = [];
  const last = sizes.length - 2;
  for (let k = 0; k <= last; k++) {
    layers.push(new Linear(sizes[k], sizes[k + 1], {
      init, bias, backend, dtype, seed: seed === undefined ? undefined : seed + k,
    }));
    if (k === last) {
      const out = activationModule(outputActivation, 'outputActivation');
      if (out) layers.push(out);
      break;
    }
    const n = normModule(norm, sizes[k + 1], { backend, dtype });
    if (n) layers.push(n);
    const act = activationModule(activation, 'activation');
    if (act) layers.push(act);
    if (dropout > 0) layers.push(new Dropout(dropout));
  }
  return new Sequential(...layers);
}

function activationModule(name: ActivationName, option: string): Module | null {
  switch (name) {
    case 'relu': return new ReLU();
    case 'tanh': return new Tanh();
    case 'sigmoid': return new Sigmoid();
    case 'leakyRelu': return new LeakyReLU();
    case 'gelu': return new GELU();
    case 'identity': return new Identity();
    case 'none': return null;
    default:
      throw new WebtrainError(`mlp: unknown ${option} '${name as string}' (expected relu, tanh, sigmoid, leakyRelu, gelu, identity or none)`);
  }
}

function normModule(norm: NonNullable<MlpOptions['norm']>, width: number, at: PlacementOptions): Module | null {
  if (typeof norm === 'function') return norm(width);
  switch (norm) {
    case 'none': return null;
    case 'batch': return new BatchNorm1d(width, at);
    case 'layer': return new LayerNorm(width, at);
  }
}
