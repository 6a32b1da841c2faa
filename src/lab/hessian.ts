/**
 * The top eigenvalue of the Hessian of a loss, by power iteration on Hessian-vector products: the
 * "sharpness" of a minimum (Keskar et al., "On Large-Batch Training for Deep Learning: Generalization
 * Gap and Sharp Minima", ICLR 2017; the power-iteration estimate as in Yao et al., PyHessian 2020).
 * The Hessian is never formed: each iteration is one Hessian-vector product (Pearlmutter's trick,
 * wt.hvp: a gradient of ⟨∇L, v⟩), about the cost of two backward passes.
 */
import { WebtrainError } from '../errors';
import { hvp } from '../autograd/functional';
import { concat } from '../ops/functional';
import { keep, tidy } from '../runtime';
import { noGrad } from '../session';
import type { Tensor } from '../tensor';
import { checkParams, disposeAll, randomDirection } from './params';
import { Progress, type ProgressOptions } from './progress';

/** Options of hessianTopEigen and sharpness. */
export interface EigenOptions extends ProgressOptions {
  /** Most power iterations (default 20). */
  iters?: number;
  /** Stop once the estimate changes by at most tol·|λ| between iterations (default 1e-4). */
  tol?: number;
  /** Seed of the starting vector (default 0). */
  seed?: number;
}

/** The estimate: the eigenvalue, its unit eigenvector (one tensor per parameter; the caller disposes them) and the estimate after each iteration. */
export interface EigenResult {
  eigenvalue: number;
  vector: Tensor[];
  history: number[];
}

/**
 * The eigenvalue of largest magnitude of the Hessian ∇²L(θ) of `lossFn` at the parameters' current
 * values, and its eigenvector: v ← Hv / ‖Hv‖ from a seeded random unit v, the estimate the Rayleigh
 * quotient λ = vᵀHv (v of unit norm). The error of λ shrinks as (λ₂/λ₁)^(2k) after k iterations.
 * At a minimum (H positive semi-definite) it is the largest eigenvalue, the sharpness; at a saddle
 * it may be a negative one, when that is larger in magnitude.
 *
 * `lossFn` must build the loss from `params` (it is called once per iteration, recording a graph
 * that is freed at once). Parameters that do not require grad get it for the duration of the call.
 * The parameters are not changed. One read back per iteration. Put a model with batch norm or dropout in
 * eval mode first (each iteration runs the loss again).
 */
export async function hessianTopEigen(lossFn: () => Tensor, params: Tensor[], opts: EigenOptions = {}): Promise<EigenResult> {
  checkParams('hessianTopEigen', params);
  const { iters = 20, tol = 1e-4, seed = 0 } = opts;
  if (!Number.isInteger(iters) || iters < 1) throw new WebtrainError(`hessianTopEigen: iters must be a positive integer, got ${iters}`);
  if (!(tol >= 0)) throw new WebtrainError(`hessianTopEigen: tol must be >= 0, got ${tol}`);
  const progress = Progress.start('hessianTopEigen', opts);
  // hvp differentiates with respect to its inputs: they must be the very tensors lossFn reads, so a
  // leaf that does not require grad gets it for the duration (a copy would not be seen by lossFn).
  const switched = params.filter((p) => !p.requiresGrad);
  switched.forEach((p) => {
    if (!p.isLeaf) throw new WebtrainError('hessianTopEigen: a parameter is computed from other tensors; pass leaves (model.parameters())');
    p.requiresGrad = true;
  });
  let v = normalized(randomDirection(params, seed, 0, false));
  const history: number[] = [];
  try {
    for (let k = 0; k < iters; k++) {
      // noGrad outside: hvp records what it needs itself, and the product is not itself differentiable.
      const hv = noGrad(() => hvp(() => lossFn(), params, v));
      let rayleigh: number;
      let norm: number;
      try {
        [rayleigh, norm] = await readPair(v, hv);
        if (!Number.isFinite(rayleigh) || !Number.isFinite(norm)) {
          throw new WebtrainError(`hessianTopEigen: the Hessian-vector product is not finite at iteration ${k + 1} (is the loss finite?)`);
        }
        history.push(rayleigh);
        if (norm === 0) break; // Hv = 0: v is in the null space; λ = 0 is exact for it
        const next = noGrad(() => hv.map((t) => keep(tidy(() => t.div(norm)))));
        disposeAll(v);
        v = next;
      } finally {
        disposeAll(hv);
      }
      await progress.report((k + 1) / iters, `iteration ${k + 1}: λ ≈ ${rayleigh.toPrecision(4)}`);
      const prev = history.at(-2);
      if (prev !== undefined && Math.abs(rayleigh - prev) <= tol * Math.abs(rayleigh)) break;
    }
  } catch (e) {
    disposeAll(v);
    throw e;
  } finally {
    switched.forEach((p) => { p.requiresGrad = false; });
  }
  return { eigenvalue: history.at(-1)!, vector: v, history };
}

/**
 * The sharpness of the loss at the parameters' current values: the top Hessian eigenvalue of
 * hessianTopEigen (same options), without the eigenvector.
 */
export async function sharpness(lossFn: () => Tensor, params: Tensor[], opts: EigenOptions = {}): Promise<number> {
  const { eigenvalue, vector } = await hessianTopEigen(lossFn, params, opts);
  disposeAll(vector);
  return eigenvalue;
}

/** v / ‖v‖ over all tensors together (disposes the input). */
function normalized(v: Tensor[]): Tensor[] {
  return noGrad(() => {
    const out = tidy(() => {
      const norm = v.map((t) => t.square().sum()).reduce((a, b) => a.add(b)).sqrt();
      return v.map((t) => t.div(norm));
    });
    disposeAll(v);
    return out.map((t) => keep(t));
  });
}

/** [vᵀ(Hv), ‖Hv‖] in one read back. */
async function readPair(v: Tensor[], hv: Tensor[]): Promise<[number, number]> {
  const both = noGrad(() => tidy(() => {
    const rayleigh = v.map((t, i) => t.mul(hv[i]).sum()).reduce((a, b) => a.add(b));
    const norm = hv.map((t) => t.square().sum()).reduce((a, b) => a.add(b)).sqrt();
    return concat([rayleigh.reshape([1]), norm.reshape([1])]);
  }));
  try {
    const d = await both.data();
    return [d[0], d[1]];
  } finally {
    both.dispose();
  }
}
