/**
 * Learning-rate schedules: functions giving the rate of the t-th update (t = 1, 2, ...), passed as
 * `lr` to any optimizer. The decays are the course's: α_t = α/(1 + δt) and α_t = α/t^δ with
 * 0.5 < δ ≤ 1 (so that Σα_t = ∞ and Σα_t² < ∞), and "better to use a fixed learning rate for the
 * first few updates" (warmup).
 */
import { WebtrainError } from '../errors';

export type Schedule = (t: number) => number;

export const constant = (alpha: number): Schedule => () => alpha;

/** α / (1 + δt). */
export function inverseDecay(alpha: number, delta: number): Schedule {
  if (!(delta >= 0)) throw new WebtrainError(`inverseDecay: δ must be >= 0, got ${delta}`);
  return (t) => alpha / (1 + delta * t);
}

/** α / t^δ, 0.5 < δ ≤ 1. */
export function powerDecay(alpha: number, delta: number): Schedule {
  if (!(delta > 0.5 && delta <= 1)) throw new WebtrainError(`powerDecay: δ must be in (0.5, 1], got ${delta}`);
  return (t) => alpha / t ** delta;
}

/** α · γ^⌊(t − 1) / stepSize⌋ (torch.optim.lr_scheduler.StepLR, stepping once per update). */
export function step(alpha: number, stepSize: number, gamma = 0.1): Schedule {
  if (!(Number.isInteger(stepSize) && stepSize > 0)) throw new WebtrainError(`step: stepSize must be a positive integer, got ${stepSize}`);
  return (t) => alpha * gamma ** Math.floor((t - 1) / stepSize);
}

/** α · γ^(t − 1) (ExponentialLR). */
export const exponential = (alpha: number, gamma: number): Schedule => (t) => alpha * gamma ** (t - 1);

/** min + (α − min)(1 + cos(π (t − 1) / T)) / 2 (CosineAnnealingLR's closed form, T = tMax). */
export function cosine(alpha: number, tMax: number, min = 0): Schedule {
  if (!(tMax > 0)) throw new WebtrainError(`cosine: tMax must be > 0, got ${tMax}`);
  return (t) => min + ((alpha - min) * (1 + Math.cos((Math.PI * (t - 1)) / tMax))) / 2;
}

/** The inner schedule's first rate, fixed for the first n updates; then the inner schedule from its start. */
export function warmup(n: number, inner: Schedule): Schedule {
  if (!(Number.isInteger(n) && n >= 0)) throw new WebtrainError(`warmup: n must be a non-negative integer, got ${n}`);
  return (t) => (t <= n ? inner(1) : inner(t - n));
}
