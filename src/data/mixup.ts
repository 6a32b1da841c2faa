/**
 * mixup (Zhang, Cisse, Dauphin, Lopez-Paz, "mixup: Beyond Empirical Risk Minimization", ICLR 2018):
 * train on convex combinations of pairs of examples and of their one-hot labels.
 */
import { WebtrainError, fmtShape } from '../errors';
import { eye, tensor } from '../create';
import { checkOptions } from '../nn/options';
import { indexSelect } from '../ops/functional';
import { tidy, withGradMode } from '../runtime';
import { Tensor } from '../tensor';
import { Rng, seedOrDraw } from './rng';

/** Options of mixup. */
export interface MixupOptions {
  /** Number of classes, to one-hot i32 labels (not needed when y already holds f32 soft labels [B, C]). */
  numClasses?: number;
  /** Seed of λ and of the pairing (default: drawn from the global generator, see BatchOptions.seed). */
  seed?: number;
}

/** The mixed batch, with the weights and pairing used. */
export interface MixupResult {
  /** λ x + (1 - λ) x[perm], x's shape. */
  x: Tensor;
  /** λ onehot(y) + (1 - λ) onehot(y[perm]): f32 [B, C] soft labels (rows sum to 1). */
  y: Tensor;
  /** The per-example λ ~ Beta(α, α). */
  lambda: Float32Array;
  /** Each example's partner: a seeded shuffle of the batch. */
  perm: Int32Array;
}

/**
 * Mixes a batch: per example λ ~ Beta(α, α) (two Gamma draws, Marsaglia–Tsang, seeded), paired
 * with a shuffled copy of the batch: x' = λ x + (1 - λ) x_perm, y' = λ onehot(y) + (1 - λ)
 * onehot(y_perm). y is i32 labels [B] (with numClasses) or f32 soft labels [B, C], mixed alike.
 * The soft labels are what wt.nn.functional.crossEntropy accepts as probability targets. Not
 * recorded for autograd (it prepares data). The caller disposes x and y.
 */
export function mixup(x: Tensor, y: Tensor, alpha: number, opts: MixupOptions = {}): MixupResult {
  checkOptions('mixup', opts, ['numClasses', 'seed']);
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new WebtrainError('mixup: x and y must be Tensors');
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new WebtrainError(`mixup: alpha must be a positive number, got ${alpha}`);
  if (x.rank < 1) throw new WebtrainError('mixup: x must have a batch axis, got a 0-d tensor');
  if (x.dtype === 'i32') throw new WebtrainError(`mixup: x must be a float tensor to be mixed, got i32 ${fmtShape(x.shape)}`);
  const b = x.shape[0];
  if (y.rank < 1 || y.shape[0] !== b) throw new WebtrainError(`mixup: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} must hold the same number of examples`);
  const { numClasses } = opts;
  if (y.dtype === 'i32') {
    if (y.rank !== 1) throw new WebtrainError(`mixup: i32 labels must have shape [${b}], got ${fmtShape(y.shape)}`);
    if (!Number.isInteger(numClasses) || numClasses! < 1) {
      throw new WebtrainError(`mixup: numClasses (a positive integer) is needed to one-hot i32 labels, got ${numClasses}`);
    }
  } else if (y.rank !== 2) {
    throw new WebtrainError(`mixup: y must be i32 labels [${b}] or f32 soft labels [${b}, C], got ${y.dtype} ${fmtShape(y.shape)}`);
  }
  const rng = new Rng(seedOrDraw('mixup', opts.seed));
  const lambda = Float32Array.from({ length: b }, () => rng.beta(alpha, alpha));
  const perm = rng.permutation(b);
  const backend = x.backend.name;
  const mixed = withGradMode(false, () => tidy(() => {
    const index = tensor(perm, [b], { dtype: 'i32', backend });
    // λ as [B, 1, ...]: one weight per example, broadcast over its features.
    const lam = tensor(lambda, [b, ...Array(x.rank - 1).fill(1)], { backend });
    const lamY = lam.reshape([b, 1]);
    const soft = y.dtype === 'i32' ? indexSelect(eye(numClasses!, numClasses!, { backend }), 0, y) : y;
    // a' = a_perm + λ (a - a_perm) = λ a + (1 - λ) a_perm
    const mix = (a: Tensor, w: Tensor) => {
      const other = indexSelect(a, 0, index);
      return other.add(w.mul(a.sub(other)));
    };
    return { x: mix(x, lam), y: mix(soft, lamY) };
  }));
  return { ...mixed, lambda, perm };
}
