/**
 * Stochastic weight averaging (Izmailov et al.): a running average of the weights along the SGD
 * trajectory, w_swa ← (w_swa·n + w) / (n + 1), taken every `every` steps from step `start`.
 */
import { WebtrainError } from '../errors';
import { noGrad } from '../session';
import { keep, tidy } from '../runtime';
import { clone } from '../ops/functional';
import { Module } from '../nn/module';
import type { Tensor } from '../tensor';

export class SWA {
  /** The averaged weights, one per parameter. */
  readonly averaged: Tensor[];
  /** How many snapshots the average holds. */
  count = 0;
  private readonly params: Tensor[];
  private readonly start: number;
  private readonly every: number;

  constructor(paramsOrModel: Tensor[] | Module, { start = 0, every = 1 }: { start?: number; every?: number } = {}) {
    if (!(Number.isInteger(every) && every > 0)) throw new WebtrainError(`SWA: every must be a positive integer, got ${every}`);
    this.params = paramsOrModel instanceof Module ? paramsOrModel.parameters() : paramsOrModel;
    this.start = start;
    this.every = every;
    this.averaged = noGrad(() => this.params.map((p) => keep(clone(p))));
  }

  /** Call after each optimizer step with its number; averages in when due. Returns whether it did. */
  update(step: number): boolean {
    if (step < this.start || (step - this.start) % this.every !== 0) return false;
    const n = this.count;
    noGrad(() => tidy(() => this.params.forEach((p, i) => {
      const avg = this.averaged[i];
      avg.assign(n === 0 ? p : avg.mul(n / (n + 1)).add(p.mul(1 / (n + 1))));
    })));
    this.count++;
    return true;
  }

  /** Copies the averaged weights into the parameters (save them first to go back). */
  apply(): void {
    if (this.count === 0) throw new WebtrainError('SWA.apply: no snapshot averaged yet (call update(step) after steps)');
    noGrad(() => this.params.forEach((p, i) => p.assign(this.averaged[i])));
  }

  /**
   * Recomputes batch-norm running statistics for the current weights (torch.optim.swa_utils.update_bn):
   * they were gathered for other weights. Resets each norm layer's running statistics and runs
   * `batches` through the model in train mode with momentum null (a cumulative average).
   */
  static updateBatchNorm(model: Module, batches: Iterable<Tensor>): void {
    const norms = model.modules().filter(tracksRunningStats);
    if (norms.length === 0) return;
    const wasTraining = model.training;
    const momenta = norms.map((m) => m.momentum);
    norms.forEach((m) => {
      m.resetRunningStats();
      m.momentum = null;
    });
    model.train();
    for (const x of batches) noGrad(() => tidy(() => { model.forward(x); }));
    norms.forEach((m, i) => { m.momentum = momenta[i]; });
    model.train(wasTraining);
  }
}

interface RunningStatsLayer extends Module {
  momentum: number | null;
  resetRunningStats(): void;
}

function tracksRunningStats(m: Module): m is RunningStatsLayer {
  return 'momentum' in m && typeof (m as unknown as Partial<RunningStatsLayer>).resetRunningStats === 'function';
}
