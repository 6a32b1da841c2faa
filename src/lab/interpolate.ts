/**
 * interpolate: the loss along the straight line between two parameter vectors,
 * L((1 − α)·θ0 + α·θ1) (Goodfellow, Vinyals, Saxe, "Qualitatively characterizing neural network
 * optimization problems", ICLR 2015): from the initialization to the trained weights the loss
 * typically falls monotonically, with no barrier; between SGD and SWA weights it shows SWA in the
 * flatter middle of a basin (Izmailov et al. 2018).
 */
import { WebtrainError } from '../errors';
import type { Tensor } from '../tensor';
import { checkParams, copyValues, disposeAll, writeCombination, writeValues } from './params';
import { linspace, Progress, type ProgressOptions } from './progress';
import { evaluateLoss, readScalars } from './surface';

/** Options of interpolate. */
export interface InterpolateOptions extends ProgressOptions {
  /** Points along the line (default 21). */
  steps?: number;
  /** α runs over [lo, hi] (default [0, 1]; e.g. [-0.5, 1.5] to look beyond both ends). */
  range?: [number, number];
}

/**
 * Evaluates `lossFn()` with the parameters set to (1 − α)·θ0 + α·θ1 for α evenly spaced over
 * `range`; the parameters are restored afterwards (exactly, also on errors). The endpoints are θ0
 * and θ1 exactly (the form (1 − α)·θ0 + α·θ1 has no rounding at α = 0 and 1), so loss[0] and the
 * last loss are the losses at θ0 and θ1 for the default range. Losses are computed without
 * recording gradients, with one read back per 64 points. θ0 and θ1 may be the parameters themselves
 * (their values when called are used).
 */
export async function interpolate(lossFn: () => Tensor, params: Tensor[], theta0: Tensor[], theta1: Tensor[],
  opts: InterpolateOptions = {}): Promise<{ alphas: number[]; loss: number[] }> {
  checkParams('interpolate', params, { theta0, theta1 });
  const { steps = 21, range = [0, 1] } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new WebtrainError(`interpolate: steps must be a positive integer, got ${steps}`);
  if (!Array.isArray(range) || !(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] <= range[1])) {
    throw new WebtrainError(`interpolate: range must be [lo, hi] with lo <= hi, got ${JSON.stringify(range)}`);
  }
  const progress = Progress.start('interpolate', opts);
  const alphas = linspace(range[0], range[1], steps);
  const saved = copyValues(params);
  // Copies of the ends: either may be the parameters themselves (interpolate(f, ps, theta0, ps)),
  // which the loop overwrites.
  const ends = [copyValues(theta0), copyValues(theta1)];
  const loss: number[] = [];
  const chunk = 64;
  try {
    for (let start = 0; start < alphas.length; start += chunk) {
      const row: Tensor[] = [];
      try {
        for (const a of alphas.slice(start, start + chunk)) {
          writeCombination(params, [[1 - a, ends[0]], [a, ends[1]]]);
          row.push(evaluateLoss(lossFn, 'interpolate'));
        }
        loss.push(...(await readScalars(row)));
      } finally {
        disposeAll(row);
      }
      await progress.report(loss.length / alphas.length);
    }
  } finally {
    writeValues(params, saved);
    [saved, ...ends].forEach(disposeAll);
  }
  return { alphas, loss };
}
