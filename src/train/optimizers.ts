/** Optimizers by name, for fit's `optimizer: {name, ...hp}` and the CLI's --optimizer. */
import { WebtrainError } from '../errors';
import type { Tensor } from '../tensor';
import { Adagrad } from '../optim/adagrad';
import { Adam, AdamW } from '../optim/adam';
import type { Optimizer } from '../optim/optimizer';
import { RMSprop } from '../optim/rmsprop';
import { SGD } from '../optim/sgd';

/** The names makeOptimizer knows. 'momentum' is SGD with momentum 0.9, 'nesterov' adds Nesterov's look-ahead. */
export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** `{name, ...hyperparameters}`: e.g. `{name: 'adam', lr: 1e-3}` (unknown hyper-parameters are errors). */
export type OptimizerSpec = { name: OptimizerName } & Record<string, unknown>;

/** Builds the optimizer `spec` names over `params` (PyTorch's defaults for what the spec leaves out). */
export function makeOptimizer(spec: OptimizerSpec, params: Tensor[]): Optimizer<any> {
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string') {
    throw new WebtrainError(`optimizer: expected an Optimizer or {name, ...hyperparameters} with name one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const { name, ...hp } = spec;
  switch (name.toLowerCase()) {
    case 'sgd': return new SGD(params, hp);
    case 'momentum': return new SGD(params, { momentum: 0.9, ...hp });
    case 'nesterov': return new SGD(params, { momentum: 0.9, nesterov: true, ...hp });
    case 'adagrad': return new Adagrad(params, hp);
    case 'rmsprop': return new RMSprop(params, hp);
    case 'adam': return new Adam(params, hp);
    case 'adamw': return new AdamW(params, hp);
    default:
      throw new WebtrainError(`optimizer: unknown name '${name}' (expected ${OPTIMIZER_NAMES.join(', ')})`);
  }
}
