/**
 * The course's simplest multi-layer perceptron (slides "Non-convex loss surfaces", Neural Network
 * Optimization): ŷ = tanh(w1·tanh(w2·x)), two scalar weights, square loss on the single example
 * (x, y) = (0.5, 0.5):
 *
 *   L(w1, w2) = (0.5 − tanh(w1·tanh(0.5·w2)))²
 *
 * A saddle at zero (L = 0.25, gradient zero, Hessian [[0, −½], [−½, 0]] with eigenvalues ±½),
 * plateaus far out (ŷ saturates at ±1: L → 0.25 or 2.25), symmetric in (w1, w2) → (−w1, −w2), and
 * two ravines of zero loss along w1·tanh(0.5·w2) = atanh(0.5), one per quadrant of equal signs.
 */
import type { BackendName } from '../backend/backend';
import { WebtrainError } from '../errors';
import { tensor } from '../create';
import { concat } from '../ops/functional';
import { getBackend, tidy } from '../runtime';
import { noGrad } from '../session';
import type { Tensor } from '../tensor';
import { Newton } from '../optim/newton';
import { makeOptimizer, type OptimizerSpec } from '../train/optimizers';
import { Progress, type ProgressOptions } from './progress';

const X = 0.5;
const Y = 0.5;

/** Closed forms of the tanh toy, and its loss built with webtrain ops. */
export const tanhToy = {
  /** The example: input x and target y. */
  x: X,
  y: Y,

  /** L(w1, w2) = (y − tanh(w1·tanh(w2·x)))². */
  loss(w1: number, w2: number): number {
    return (Y - Math.tanh(w1 * Math.tanh(w2 * X))) ** 2;
  },

  /**
   * ∇L: with u = tanh(w2·x), ŷ = tanh(w1·u), r = 2(ŷ − y) and tanh' = 1 − tanh²:
   * ∂L/∂w1 = r·(1 − ŷ²)·u,   ∂L/∂w2 = r·(1 − ŷ²)·w1·(1 − u²)·x.
   */
  grad(w1: number, w2: number): [number, number] {
    const u = Math.tanh(w2 * X);
    const yHat = Math.tanh(w1 * u);
    const r = 2 * (yHat - Y) * (1 - yHat * yHat);
    return [r * u, r * w1 * (1 - u * u) * X];
  },

  /**
   * ∇²L as [[L₁₁, L₁₂], [L₂₁, L₂₂]], by the chain rule through e = ŷ − y, ŷ = tanh(z), z = w1·u:
   * L_pq = 2(ŷ_z² + e·ŷ_zz)·z_p·z_q + 2e·ŷ_z·z_pq with ŷ_z = 1 − ŷ², ŷ_zz = −2ŷ(1 − ŷ²),
   * z₁ = u, z₂ = w1·u'·x, z₁₁ = 0, z₁₂ = u'·x, z₂₂ = w1·u''·x², u' = 1 − u², u'' = −2u·u'.
   */
  hessian(w1: number, w2: number): [[number, number], [number, number]] {
    const u = Math.tanh(w2 * X);
    const du = 1 - u * u;
    const yHat = Math.tanh(w1 * u);
    const s = 1 - yHat * yHat;
    const e = yHat - Y;
    const curv = 2 * (s * s + e * (-2 * yHat * s));
    const slope = 2 * e * s;
    const z1 = u;
    const z2 = w1 * du * X;
    const z12 = du * X;
    const z22 = w1 * (-2 * u * du) * X * X;
    const h12 = curv * z1 * z2 + slope * z12;
    return [[curv * z1 * z1, h12], [h12, curv * z2 * z2 + slope * z22]];
  },

  /** The loss as a tensor, from the weights w = [w1, w2] (a [2] tensor), with webtrain ops. */
  lossTensor(w: Tensor): Tensor {
    const w1 = w.slice([0], [1]);
    const w2 = w.slice([1], [1]);
    const yHat = w1.mul(w2.mul(X).tanh()).tanh();
    return yHat.neg().add(Y).square().sum();
  },
};

/** Options of tanhPaths. */
export interface TanhPathOptions extends ProgressOptions {
  /** Starting points (w1, w2). */
  starts: [number, number][];
  /** 'gd': an optimizer's steps (default plain SGD, full batch: the one example); 'newton': damped Newton steps (wt.optim.Newton). */
  method: 'gd' | 'newton';
  /** Learning rate (default 0.5 for gd, 1 for Newton: the full Newton step). */
  lr?: number;
  /** Steps per path (default 40). */
  steps?: number;
  /** For 'gd': which optimizer, as fit's spec (e.g. {name: 'adam'}); `lr` overrides the spec's. Default {name: 'sgd'}. */
  optimizer?: OptimizerSpec;
  /** Newton's damping λ in (H + λI)⁻¹∇L (default 1e-4, wt.optim.Newton's). */
  damping?: number;
  /** Backend of the computation (default: the one wt.init chose). */
  backend?: BackendName;
}

/** One path: where it started, the weights before each step and after the last (steps + 1 points, fewer if it diverged), and the loss at each point. */
export interface TanhPath {
  start: [number, number];
  points: [number, number][];
  losses: number[];
}

/**
 * Optimization paths on the tanh toy's surface, computed with webtrain tensors and optimizers on
 * the backend: gradient descent (or any optimizer of wt.optim by spec) and Newton's method. From
 * (0, 0) gradient descent never moves (the gradient is exactly zero); from a small start it is
 * slowly repelled from the saddle and slides into a ravine; Newton's method, which jumps to the
 * stationary point of the local quadratic model, is attracted to the saddle (slide "Saddle points":
 * "Newton's method works poorly for neural nets as it is attracted to saddle points").
 * A path stops early if the weights stop being finite numbers.
 */
export async function tanhPaths(opts: TanhPathOptions): Promise<TanhPath[]> {
  const { starts, method, steps = 40, damping = 1e-4 } = opts;
  if (!Array.isArray(starts) || !starts.every((s) => Array.isArray(s) && s.length === 2 && s.every(Number.isFinite))) {
    throw new WebtrainError('tanhPaths: starts must be a list of [w1, w2] pairs of finite numbers');
  }
  if (method !== 'gd' && method !== 'newton') throw new WebtrainError(`tanhPaths: method must be 'gd' or 'newton', got '${method as string}'`);
  if (!Number.isInteger(steps) || steps < 0) throw new WebtrainError(`tanhPaths: steps must be a non-negative integer, got ${steps}`);
  const lr = opts.lr ?? (method === 'newton' ? 1 : opts.optimizer && typeof opts.optimizer.lr === 'number' ? opts.optimizer.lr : 0.5);
  const backend = opts.backend ?? getBackend().name;
  const progress = Progress.start('tanhPaths', opts);
  const paths: TanhPath[] = [];
  for (let s = 0; s < starts.length; s++) {
    const start: [number, number] = [starts[s][0], starts[s][1]];
    const w = tensor(start, [2], { backend, requiresGrad: true });
    const lossFn = () => tanhToy.lossTensor(w);
    const optimizer = method === 'gd' ? makeOptimizer({ name: 'sgd', ...opts.optimizer, lr }, [w]) : null;
    const newton = method === 'newton' ? new Newton([w], { lr, damping }) : null;
    const path: TanhPath = { start, points: [], losses: [] };
    try {
      for (let k = 0; k <= steps; k++) {
        const [w1, w2, loss] = await state(w, lossFn);
        if (![w1, w2, loss].every(Number.isFinite)) break;
        path.points.push([w1, w2]);
        path.losses.push(loss);
        if (k === steps) break;
        if (optimizer) {
          optimizer.zeroGrad();
          tidy(() => lossFn().backward());
          optimizer.step();
        } else {
          await newton!.step(lossFn);
        }
        await progress.report((s + (k + 1) / Math.max(steps, 1)) / starts.length, `path ${s + 1} of ${starts.length}`);
      }
    } finally {
      optimizer?.dispose();
      w.dispose();
    }
    paths.push(path);
  }
  return paths;
}

/** [w1, w2, L(w)] in one read back. */
async function state(w: Tensor, lossFn: () => Tensor): Promise<number[]> {
  const t = noGrad(() => tidy(() => concat([w, lossFn().reshape([1])])));
  try {
    return Array.from(await t.data());
  } finally {
    t.dispose();
  }
}
