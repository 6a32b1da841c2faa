/** Functional Linear (wt.nn.functional.linear): the fused matmul + bias + activation op. */
import { linear as linearOp, type LinearActivation } from '../ops/linear';
import { apply } from '../runtime';
import type { Tensor } from '../tensor';
import { checkOptions } from './options';

export type { LinearActivation } from '../ops/linear';

/**
 * y = act(x · Wᵀ + b), PyTorch's `F.linear(x, weight, bias)` with an optional fused activation:
 * x is [..., in] (leading dims are batch dims; 1-D x is one sample), weight [out, in], bias [out]
 * or null. On WebGPU it is one kernel. Gradients flow to x, weight and bias.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: { activation?: LinearActivation } = {}): Tensor {
  checkOptions('linear', opts, ['activation']);
  return apply(linearOp, bias ? [x, weight, bias] : [x, weight], { activation: opts.activation ?? 'none' });
}
