/** Functional autodiff: wt.grad (nests for gradients of gradients), wt.hvp, wt.gradcheck. */
import { WebtrainError, fmtShape } from '../errors';
import { getBackend, isGradEnabled, registerBackend, hasBackend, tidy, withGradMode } from '../runtime';
import { Tensor } from '../tensor';
import { CpuBackend } from '../backend/cpu/cpu-backend';
import { uploadStorage } from '../runtime';
import { gradients } from './backward';
import { fillNormal } from '../random/philox';

type ScalarFn = (...xs: Tensor[]) => Tensor;

/**
 * `wt.grad(f)(...xs)`: the gradients of scalar f at xs, one tensor per input. When an input itself
 * requires grad (e.g. inside an outer wt.grad), the result is differentiable: grad(grad(f)) works.
 */
export function grad(f: ScalarFn): (...xs: Tensor[]) => Tensor[] {
  return (...xs) => {
    const nested = isGradEnabled() && xs.some((x) => x.requiresGrad);
    const args = xs.map((x) => (x.requiresGrad ? x : trackable(x)));
    try {
      return tidy(() => {
        const y = withGradMode(true, () => f(...args));
        checkScalar('grad', y);
        return gradients(y, args, undefined, { createGraph: nested });
      });
    } finally {
      args.forEach((a, i) => { if (a !== xs[i]) a.dispose(); });
    }
  };
}

/** Hessian-vector products H(f)(xs) · vs, one tensor per input (Pearlmutter: d/dx <∇f(x), v>). */
export function hvp(f: ScalarFn, xs: Tensor[], vs: Tensor[]): Tensor[] {
  if (vs.length !== xs.length) throw new WebtrainError(`hvp: got ${xs.length} inputs but ${vs.length} vectors`);
  xs.forEach((x, i) => {
    if (x.shape.join() !== vs[i].shape.join()) {
      throw new WebtrainError(`hvp: vector ${i} has shape ${fmtShape(vs[i].shape)}, its input ${fmtShape(x.shape)}`);
    }
  });
  const nested = isGradEnabled() && xs.some((x) => x.requiresGrad);
  const args = xs.map((x) => (x.requiresGrad ? x : trackable(x)));
  try {
    return tidy(() => {
      const y = withGradMode(true, () => f(...args));
      checkScalar('hvp', y);
      const gs = gradients(y, args, undefined, { createGraph: true });
      const dot = withGradMode(true, () => gs.map((g, i) => g.mul(vs[i]).sum()).reduce((a, b) => a.add(b)));
      return gradients(dot, args, undefined, { createGraph: nested });
    });
  } finally {
    args.forEach((a, i) => { if (a !== xs[i]) a.dispose(); });
  }
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| over all input elements. */
  maxAbsError: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares f's gradients against central finite differences, in f64 on the CPU backend (inputs are
 * copied there). A non-scalar f is checked through a fixed random projection sum(f(x) * v).
 */
export async function gradcheck(f: ScalarFn, inputs: Tensor[],
  { eps = 1e-6, atol = 1e-5, rtol = 1e-3 }: { eps?: number; atol?: number; rtol?: number } = {}): Promise<GradcheckResult> {
  if (!hasBackend('cpu')) registerBackend(new CpuBackend(), false);
  const cpu = getBackend('cpu');
  const values = await Promise.all(inputs.map(async (x) => Float64Array.from(await x.data())));
  const make = (vals: Float64Array[], requiresGrad: boolean) =>
    vals.map((v, i) => new Tensor(cpu, uploadStorage(cpu, v, 'gradcheck'), inputs[i].shape, 'f64', requiresGrad));
  let projection: Float64Array | null = null;
  const scalar = (xs: Tensor[]): Tensor => {
    const y = f(...xs);
    if (y.size === 1) return y;
    projection ??= fillNormal(new Float64Array(y.size), 1234, 0) as Float64Array;
    const v = new Tensor(cpu, uploadStorage(cpu, projection, 'gradcheck'), y.shape, 'f64');
    return y.mul(v).sum();
  };
  const analytic = await tidy(async () => {
    const xs = make(values, false);
    const gs = grad((...a: Tensor[]) => scalar(a))(...xs);
    return Promise.all(gs.map(async (g) => g.data()));
  });
  let maxAbsError = 0;
  let worst: GradcheckResult['worst'] = null;
  let ok = true;
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values[i].length; j++) {
      const at = (delta: number) => tidy(() => {
        const vals = values.map((v) => v.slice());
        vals[i][j] += delta;
        return withGradMode(false, () => scalar(make(vals, false)));
      });
      const plus = await readAndDispose(at(eps));
      const minus = await readAndDispose(at(-eps));
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i][j];
      const err = Math.abs(a - numeric);
      if (!(err <= atol + rtol * Math.abs(numeric))) ok = false;
      if (err > maxAbsError || Number.isNaN(err)) {
        maxAbsError = Number.isNaN(err) ? Infinity : err;
        worst = { input: i, index: j, analytic: a, numeric };
      }
    }
  }
  return { ok, maxAbsError, worst };
}

async function readAndDispose(t: Tensor): Promise<number> {
  const v = await t.item();
  t.dispose();
  return v;
}

/** A leaf copy of x that requires grad (sharing x's storage). */
function trackable(x: Tensor): Tensor {
  const t = x.detach();
  t.requiresGrad = true;
  return t;
}

function checkScalar(op: string, y: Tensor): void {
  if (!(y instanceof Tensor) || y.size !== 1) {
    throw new WebtrainError(`${op}: f must return a one-element tensor, got ${y instanceof Tensor ? fmtShape(y.shape) : typeof y}`);
  }
}
