/** Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_). */
import { noGrad } from '../session';
import { keep, tidy } from '../runtime';
import type { Tensor } from '../tensor';

/**
 * Rescales the gradients of `params` in place so their global L2 norm is at most `maxNorm`
 * (factor min(1, maxNorm / (norm + 1e-6))) and returns the norm before clipping, as a 1-element
 * tensor (no GPU→CPU sync). Optimizers' `maxGradNorm` option does the same inside their update kernel.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  return noGrad(() => tidy(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    const norm = grads.map((g) => g.square().sum()).reduce((a, b) => a.add(b)).sqrt();
    const factor = norm.add(1e-6).reciprocal().mul(maxNorm).minimum(1);
    for (const g of grads) g.assign(g.mul(factor));
    return keep(norm);
  }));
}
