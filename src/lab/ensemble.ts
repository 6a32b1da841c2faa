/**
 * An ensemble of E independent MLPs of the same architecture, trained together as one batched
 * network: layer k holds W [E, in, out] and b [E, 1, out], and a forward pass is one batched matmul
 * per layer for all members. The training loss is the SUM of the members' mean losses, so each
 * member's gradient is exactly the gradient of its own loss; with an elementwise optimizer (Adam,
 * SGD) every member then follows exactly the trajectory it would follow alone. The lab uses it for
 * experiments over many trainings of one architecture (bootstrap resamples, random restarts): one
 * run per capacity instead of E.
 */
import { WebtrainError } from '../errors';
import { randn, zeros } from '../create';
import { tidy } from '../runtime';
import type { Tensor } from '../tensor';
import type { BackendName } from '../backend/backend';
import { Adam } from '../optim/adam';
import type { Progress } from './progress';

/** Options of MlpEnsemble. */
export interface EnsembleOptions {
  /** Hidden activation (default 'tanh'). */
  activation?: 'tanh' | 'relu';
  /** Seed of the initial weights (each member gets its own draw). */
  seed: number;
  backend: BackendName;
}

/**
 * E MLPs with layer sizes `sizes`, weights drawn Glorot-normal (tanh: std √(2/(in+out))) or
 * He-normal (relu: std √(2/in)), biases zero.
 */
export class MlpEnsemble {
  /** Per layer, W [E, in, out] (x · W layout). */
  readonly weights: Tensor[] = [];
  /** Per layer, b [E, 1, out]. */
  readonly biases: Tensor[] = [];
  readonly activation: 'tanh' | 'relu';

  constructor(readonly members: number, readonly sizes: number[], opts: EnsembleOptions) {
    if (!Number.isInteger(members) || members < 1) throw new WebtrainError(`MlpEnsemble: members must be an integer >= 1, got ${members}`);
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) throw new WebtrainError(`MlpEnsemble: sizes must be >= 2 positive integers, got [${sizes}]`);
    this.activation = opts.activation ?? 'tanh';
    for (let k = 0; k + 1 < sizes.length; k++) {
      const [fanIn, fanOut] = [sizes[k], sizes[k + 1]];
      const std = this.activation === 'relu' ? Math.sqrt(2 / fanIn) : Math.sqrt(2 / (fanIn + fanOut));
      const w = randn([members, fanIn, fanOut], { std, seed: (opts.seed * 31 + k + 1) >>> 0, backend: opts.backend });
      const b = zeros([members, 1, fanOut], { backend: opts.backend });
      w.requiresGrad = true;
      b.requiresGrad = true;
      this.weights.push(w);
      this.biases.push(b);
    }
  }

  /** Outputs [E, n, out] of every member for inputs x [n, in] (shared) or [E, n, in] (one set per member). */
  forward(x: Tensor): Tensor {
    let h = x.rank === 2 ? x.reshape([1, ...x.shape]) : x;
    this.weights.forEach((w, k) => {
      h = h.matmul(w).add(this.biases[k]);
      if (k + 1 < this.weights.length) h = this.activation === 'relu' ? h.relu() : h.tanh();
    });
    return h;
  }

  parameters(): Tensor[] {
    return this.weights.flatMap((w, k) => [w, this.biases[k]]);
  }

  /** Number of parameters of ONE member. */
  get memberParameters(): number {
    let n = 0;
    for (let k = 0; k + 1 < this.sizes.length; k++) n += (this.sizes[k] + 1) * this.sizes[k + 1];
    return n;
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}

/**
 * Full-batch Adam on `loss` (the sum of the members' mean losses) for `steps` steps; reports to
 * `progress` (which checks the abort signal and yields) every `reportEvery` steps.
 */
export async function trainEnsemble(ens: MlpEnsemble, loss: () => Tensor, o: { steps: number; lr: number; progress: Progress; label?: string; reportEvery?: number }): Promise<void> {
  const opt = new Adam(ens.parameters(), { lr: o.lr });
  const every = o.reportEvery ?? 10;
  try {
    for (let s = 0; s < o.steps; s++) {
      opt.zeroGrad();
      tidy(() => { loss().backward(); });
      opt.step();
      if ((s + 1) % every === 0 || s + 1 === o.steps) await o.progress.report((s + 1) / o.steps, o.label ? `${o.label}: step ${s + 1} of ${o.steps}` : undefined);
    }
  } finally {
    opt.dispose();
  }
}
