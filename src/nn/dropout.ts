/** Functional dropout (wt.nn.functional.dropout): inverted dropout in training, the identity in eval. */
import { WebtrainError } from '../errors';
import { dropout as dropoutOp } from '../ops/dropout';
import { apply } from '../runtime';
import type { Tensor } from '../tensor';
import { checkOptions } from './options';
import { nextRandomStream } from './rng';

export interface DropoutOptions {
  /** Training mode (default true); in eval mode dropout is the identity. */
  training?: boolean;
  /** Seed of the mask's Philox stream; without it the mask takes the next numbers of the global generator. */
  seed?: number;
  /** Counter offset within the seeded stream (default 0); ignored without `seed`. */
  offset?: number;
}

/**
 * Inverted dropout, PyTorch's `F.dropout(x, p, training)`: each element is zeroed with probability
 * p and the kept ones are scaled by 1 / (1 - p), so the expected value is unchanged and eval mode
 * needs no rescaling. The mask is a Philox draw (the same on the CPU and the GPU for a seed), and
 * backward recomputes it rather than storing it. Without a seed, successive calls draw fresh masks
 * from the global generator (`wt.seed` makes them reproducible).
 * In eval mode, and for p = 0, returns `x` itself (as PyTorch does in eval); p = 1 gives zeros.
 */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  checkOptions('dropout', opts, ['training', 'seed', 'offset']);
  const { training = true, seed, offset = 0 } = opts;
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new WebtrainError(`dropout: p is the probability of dropping an element and must be in [0, 1], got ${p}`);
  }
  if (!training || p === 0) return x;
  const stream = seed === undefined ? nextRandomStream(x.size) : { seed, offset };
  return apply(dropoutOp, [x], { p, ...stream });
}
