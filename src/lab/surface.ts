/**
 * lossSurface2d: the loss on a plane through the parameters, L(θ + a·d1 + b·d2) on a grid of (a, b),
 * as the loss-landscape pictures of the course (the tanh toy's saddle and ravines) and of
 * Li et al., "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018) for larger models.
 */
import { WebtrainError } from '../errors';
import { concat } from '../ops/functional';
import { keep, tidy } from '../runtime';
import { noGrad } from '../session';
import type { Tensor } from '../tensor';
import { copyValues, checkParams, disposeAll, randomDirection, writeCombination, writeValues } from './params';
import { linspace, Progress, type ProgressOptions } from './progress';

/** Options of lossSurface2d. */
export interface SurfaceOptions extends ProgressOptions {
  /** The two directions [d1, d2], each one tensor per parameter (default: two seeded random directions). */
  dirs?: [Tensor[], Tensor[]];
  /** Coordinates a and b run over [-range, range] (a number) or [lo, hi] (default 1). */
  range?: number | [number, number];
  /** Grid points along each axis (default 21). */
  steps?: number;
  /** Seed of the random directions (default 0). */
  seed?: number;
  /** Filter-normalize the random directions (default true; ignored for given `dirs`). */
  filterNormalize?: boolean;
}

/** The grid and the loss at each point: `loss` is row-major, betas.length rows × alphas.length columns. */
export interface SurfaceResult {
  alphas: number[];
  betas: number[];
  loss: number[];
}

/**
 * Evaluates `lossFn()` at θ + a·d1 + b·d2 for every (a, b) of a steps × steps grid, where θ is the
 * current value of `params` and `lossFn` reads the parameters (e.g. `() => crossEntropy(model.forward(x), y)`).
 * Losses are computed without recording gradients; the parameters are restored to θ exactly (bit
 * for bit) afterwards, also when the run fails or is aborted. Put a model with batch norm or
 * dropout in eval mode first: in train mode every evaluation would update the running statistics.
 *
 * Row j of the result holds b = betas[j], column i a = alphas[i]. One read back per row.
 */
export async function lossSurface2d(lossFn: () => Tensor, params: Tensor[], opts: SurfaceOptions = {}): Promise<SurfaceResult> {
  checkParams('lossSurface2d', params, opts.dirs ? { 'dirs[0]': opts.dirs[0], 'dirs[1]': opts.dirs[1] } : {});
  const { range = 1, steps = 21, seed = 0, filterNormalize = true } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new WebtrainError(`lossSurface2d: steps must be a positive integer, got ${steps}`);
  const [lo, hi] = typeof range === 'number' ? [-range, range] : range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new WebtrainError(`lossSurface2d: range must be a positive number or [lo, hi] with lo <= hi, got ${JSON.stringify(range)}`);
  }
  const progress = Progress.start('lossSurface2d', opts);
  const alphas = linspace(lo, hi, steps);
  const betas = linspace(lo, hi, steps);
  const theta = copyValues(params);
  const made = opts.dirs ? null : [0, 1].map((k) => randomDirection(params, seed, k, filterNormalize));
  const [d1, d2] = opts.dirs ?? made!;
  const loss: number[] = [];
  try {
    for (let j = 0; j < betas.length; j++) {
      const row: Tensor[] = [];
      try {
        for (const a of alphas) {
          writeCombination(params, [[1, theta], [a, d1], [betas[j], d2]]);
          row.push(evaluateLoss(lossFn, 'lossSurface2d'));
        }
        const values = await readScalars(row);
        loss.push(...values);
      } finally {
        disposeAll(row);
      }
      await progress.report((j + 1) / betas.length, `row ${j + 1} of ${betas.length}`);
    }
  } finally {
    writeValues(params, theta);
    disposeAll(theta);
    made?.forEach(disposeAll);
  }
  return { alphas, betas, loss };
}

/** lossFn() without recording, as a kept [1] tensor of the loss's dtype (no read back yet). */
export function evaluateLoss(lossFn: () => Tensor, where: string): Tensor {
  return noGrad(() => keep(tidy(() => {
    const l = lossFn();
    if (!l || typeof l !== 'object' || l.size !== 1) {
      throw new WebtrainError(`${where}: lossFn must return a one-element tensor, got ${l && typeof l === 'object' && 'shape' in l ? `shape [${l.shape}]` : typeof l}`);
    }
    return l.reshape([1]);
  })));
}

/** The values of one-element tensors, in one read back. */
export async function readScalars(ts: Tensor[]): Promise<number[]> {
  if (ts.length === 0) return [];
  const all = ts.length === 1 ? ts[0] : noGrad(() => concat(ts));
  try {
    return Array.from(await all.data());
  } finally {
    if (all !== ts[0]) all.dispose();
  }
}
