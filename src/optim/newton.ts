/**
 * Newton's method for small models: θ ← θ − lr·(H + λI)⁻¹ ∇L, with the full Hessian built from
 * Hessian-vector products (one per parameter element) and a damped solve on the CPU in float64.
 *
 * Practical only with few parameters (the Hessian has n² entries and costs n backward passes: up to
 * a few hundred) and near a local minimum, where H is positive definite. Elsewhere Newton goes to
 * the nearest stationary point, saddles included: the damping λ helps, it does not cure.
 */
import { WebtrainError } from '../errors';
import { hvp, grad } from '../autograd/functional';
import { noGrad } from '../session';
import { tidy } from '../runtime';
import { tensor } from '../create';
import type { Tensor } from '../tensor';

export class Newton {
  private readonly lr: number;
  private readonly damping: number;

  constructor(private readonly params: Tensor[], { lr = 1, damping = 1e-4 }: { lr?: number; damping?: number } = {}) {
    if (params.some((p) => !p.requiresGrad)) throw new WebtrainError('Newton: parameters must require grad');
    const n = params.reduce((s, p) => s + p.size, 0);
    if (n > 4096) throw new WebtrainError(`Newton: ${n} parameters would need a ${n}×${n} Hessian; use it for small models (a few hundred parameters)`);
    this.lr = lr;
    this.damping = damping;
  }

  /** One Newton step on the loss `lossFn()` (built from the parameters); returns the loss before the step. */
  async step(lossFn: () => Tensor): Promise<number> {
    const f = () => lossFn();
    const sizes = this.params.map((p) => p.size);
    const n = sizes.reduce((a, b) => a + b, 0);
    const lossTensor = tidy(() => noGrad(() => lossFn()));
    const lossValue = await lossTensor.item();
    lossTensor.dispose();
    const g = await flatData(grad(f)(...this.params));
    const H: Float64Array[] = [];
    for (let j = 0; j < n; j++) {
      // Column j of H: H · e_j.
      const basis = oneHot(n, j);
      const vs = splitFlat(basis, this.params);
      const column = await flatData(tidy(() => hvp(f, this.params, vs)));
      vs.forEach((v) => v.dispose());
      H.push(column);
    }
    const step = solve(H.map((col, j) => col.map((_, i) => H[j][i])), g, this.damping); // H is symmetric
    noGrad(() => tidy(() => {
      let at = 0;
      this.params.forEach((p, k) => {
        const d = tensor(step.subarray(at, at + sizes[k]), [...p.shape], { dtype: p.dtype, backend: p.backend.name });
        p.assign(p.sub(d.mul(this.lr)));
        at += sizes[k];
      });
    }));
    return lossValue;
  }
}

async function flatData(ts: Tensor[]): Promise<Float64Array> {
  const parts = await Promise.all(ts.map((t) => t.data()));
  ts.forEach((t) => t.dispose());
  return Float64Array.from(parts.flatMap((p) => Array.from(p)));
}

function oneHot(n: number, j: number): Float64Array {
  const v = new Float64Array(n);
  v[j] = 1;
  return v;
}

function splitFlat(v: Float64Array, like: Tensor[]): Tensor[] {
  let at = 0;
  return like.map((p) => {
    const t = tensor(v.subarray(at, at + p.size), [...p.shape], { dtype: p.dtype, backend: p.backend.name });
    at += p.size;
    return t;
  });
}

/** Solves (A + λI) x = b by Gaussian elimination with partial pivoting (A need not be definite). */
export function solve(A: Float64Array[], b: Float64Array, damping: number): Float64Array {
  const n = b.length;
  const M = A.map((row, i) => Float64Array.from(row, (v, j) => v + (i === j ? damping : 0)));
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (Math.abs(M[p][c]) < 1e-300) throw new WebtrainError('Newton: the damped Hessian is singular; increase damping');
    [M[c], M[p]] = [M[p], M[c]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r][k] -= f * M[c][k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}
