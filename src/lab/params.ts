/**
 * Parameter vectors θ as lists of tensors: copies, in-place writes of θ + Σ cₖ·dₖ, dot products,
 * and the random (filter-normalized) directions of loss-surface plots. Every write happens outside
 * the tape (noGrad + assign), so probing a loss never records a graph or touches an optimizer.
 */
import { WebtrainError, fmtShape } from '../errors';
import { randn } from '../create';
import { clone } from '../ops/functional';
import { keep, tidy } from '../runtime';
import { noGrad } from '../session';
import { Tensor } from '../tensor';

/** Detached copies of the tensors' current values, outside any tidy scope; the caller disposes them. */
export function copyValues(ts: readonly Tensor[]): Tensor[] {
  return noGrad(() => ts.map((t) => keep(clone(t))));
}

/** params[i] ← values[i], in place. */
export function writeValues(params: readonly Tensor[], values: readonly Tensor[]): void {
  noGrad(() => params.forEach((p, i) => p.assign(values[i])));
}

/** params[i] ← Σₖ coefₖ · termsₖ[i], in place (one term with coefficient 1 is a plain copy, bit for bit). */
export function writeCombination(params: readonly Tensor[], terms: readonly [number, readonly Tensor[]][]): void {
  noGrad(() => tidy(() => params.forEach((p, i) => {
    const parts = terms.filter(([c]) => c !== 0);
    if (parts.length === 0) {
      p.assign(0);
      return;
    }
    // A coefficient of exactly 1 adds the term itself (no multiplication), so θ + 0·d1 + 0·d2 is θ exactly.
    const scaled = parts.map(([c, ts]) => (c === 1 ? ts[i] : ts[i].mul(c)));
    p.assign(scaled.reduce((a, b) => a.add(b)));
  })));
}

/** Disposes every tensor of the list (none for null). */
export function disposeAll(ts: readonly Tensor[] | null | undefined): void {
  ts?.forEach((t) => t.dispose());
}

/** Throws unless `params` is a non-empty list of live float tensors (and `like` lists match it in shape). */
export function checkParams(where: string, params: readonly Tensor[], like: Record<string, readonly Tensor[]> = {}): void {
  if (!Array.isArray(params) || params.length === 0 || !params.every((p) => p instanceof Tensor)) {
    throw new WebtrainError(`${where}: params must be a non-empty array of tensors`);
  }
  params.forEach((p, i) => {
    if (p.isDisposed) throw new WebtrainError(`${where}: parameter ${i} (shape ${fmtShape(p.shape)}) was used after dispose()`);
    if (p.dtype === 'i32') throw new WebtrainError(`${where}: parameter ${i} is i32; only float parameters can be moved along a direction`);
  });
  for (const [name, ts] of Object.entries(like)) {
    if (!Array.isArray(ts) || ts.length !== params.length) {
      throw new WebtrainError(`${where}: ${name} must hold one tensor per parameter (${params.length}), got ${Array.isArray(ts) ? ts.length : typeof ts}`);
    }
    ts.forEach((t, i) => {
      if (!(t instanceof Tensor) || t.shape.join() !== params[i].shape.join()) {
        throw new WebtrainError(`${where}: ${name}[${i}] must have the shape of parameter ${i}, ${fmtShape(params[i].shape)}, ` +
          `got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
      }
      if (t.backend !== params[i].backend) throw new WebtrainError(`${where}: ${name}[${i}] lives on ${t.backend.name}, parameter ${i} on ${params[i].backend.name}`);
    });
  }
}

/**
 * A random direction d ~ N(0, I) in parameter space, one tensor per parameter, seeded: direction
 * `index` (0, 1, ...) of a given seed is the same on every backend.
 *
 * With `filterNormalize` (Li, Xu, Taylor, Studer, Goldstein, "Visualizing the Loss Landscape of
 * Neural Nets", NeurIPS 2018, eq. 2): each filter of d is rescaled to the norm of the same filter of
 * θ, d_{i,j} ← d_{i,j} / ‖d_{i,j}‖ · ‖θ_{i,j}‖, where a filter is a slice along the first axis (a
 * row of a Linear weight [out, in]: one unit's incoming weights; one output channel of a conv).
 * This removes the scale invariance of ReLU networks, so surfaces of different models compare.
 * Tensors of rank ≤ 1 (biases, norm scales, the scalars of a toy model) count as one filter each.
 * NOTE: Li et al.'s code zeroes the direction of rank-1 tensors by default ('biasbn'); we scale
 * them instead, so a model made only of vectors or scalars still gets a direction.
 */
export function randomDirection(params: readonly Tensor[], seed: number, index: number, filterNormalize: boolean): Tensor[] {
  return noGrad(() => params.map((p, i) => keep(tidy(() => {
    const d = randn([...p.shape], { seed: mixSeed(seed, index, i), backend: p.backend.name, dtype: p.dtype });
    if (!filterNormalize) return d;
    const rows = p.rank >= 2 ? p.shape[0] : 1;
    const flatD = d.reshape([rows, -1]);
    const flatP = p.reshape([rows, -1]);
    const norm = (t: Tensor) => t.square().sum(1, true).sqrt();
    // + 1e-10: a zero direction filter cannot happen with Gaussian draws, but keep the division safe.
    return flatD.div(norm(flatD).add(1e-10)).mul(norm(flatP)).reshape([...p.shape]);
  }))));
}

/** A 31-bit seed for (seed, direction, parameter): distinct streams for every draw. */
function mixSeed(seed: number, index: number, param: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (index + 1), 0x85ebca6b);
  h = Math.imul(h ^ (param + 0x27d4eb2f), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 1;
}
