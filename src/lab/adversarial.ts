/**
 * fgsm: the fast gradient sign method (Goodfellow, Shlens, Szegedy, "Explaining and Harnessing
 * Adversarial Examples", ICLR 2015): x_adv = clip(x + ε·sign(∇_x L(f(x), y)), range). One gradient
 * with respect to the inputs (wt.grad: the model's parameter gradients are left untouched), in eval
 * mode (dropout off, running statistics), on the device.
 */
import { WebtrainError } from '../errors';
import { grad } from '../autograd/functional';
import { tidy } from '../runtime';
import { noGrad } from '../session';
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import { crossEntropy } from '../nn/functional';

/** Options of fgsm. */
export interface FgsmOptions {
  /** Clip the adversarial inputs to [lo, hi] (default [0, 1], the range of image pixels); null: no clipping. */
  range?: [number, number] | null;
  /** The loss whose gradient is followed (default cross-entropy against i32 labels). */
  loss?: (output: Tensor, target: Tensor) => Tensor;
}

/**
 * Adversarial examples for a batch `x` with labels `y`: x + ε·sign(∇_x loss), clipped to `range`.
 * Returns a new tensor (the caller disposes it); `x`, the model's parameters and their gradients
 * are unchanged. Each module's train/eval mode is restored afterwards.
 */
export function fgsm(model: Module, x: Tensor, y: Tensor, epsilon: number, opts: FgsmOptions = {}): Tensor {
  if (!(typeof epsilon === 'number' && epsilon >= 0 && Number.isFinite(epsilon))) throw new WebtrainError(`lab.fgsm: epsilon must be a finite number >= 0, got ${epsilon}`);
  const { range = [0, 1], loss = (out: Tensor, t: Tensor) => crossEntropy(out, t) } = opts;
  if (range !== null && !(Array.isArray(range) && range.length === 2 && range[0] <= range[1])) {
    throw new WebtrainError(`lab.fgsm: range must be [lo, hi] with lo <= hi, or null, got ${JSON.stringify(range)}`);
  }
  const modes = model.modules().map((m) => m.training);
  model.eval();
  try {
    const [g] = grad((xi: Tensor) => loss(model.forward(xi), y))(x);
    try {
      return noGrad(() => tidy(() => {
        const adv = x.detach().add(g.sign().mul(epsilon));
        return range === null ? adv : adv.maximum(range[0]).minimum(range[1]);
      }));
    } finally {
      g.dispose();
    }
  } finally {
    model.modules().forEach((m, i) => { m.training = modes[i]; });
  }
}
