/**
 * The registry-driven op table: every op's samples run three ways.
 *  - cpu:    the CPU vjp against central finite differences in f64, and the f32 forward against f64;
 *  - webgpu: the GPU forward and vjp against the CPU reference at f32 tolerance.
 * Runs under vitest (test/ops.test.ts) and in the browser page (test/browser/main.ts).
 */
import { OPS, type OpName } from '../src/ops/registry';
import type { InputSpec, OpDef, Sample } from '../src/ops/op-def';
import { apply, uploadStorage, getBackend, withGradMode, tidy } from '../src/runtime';
import { gradients } from '../src/autograd/backward';
import { Tensor } from '../src/tensor';
import type { BackendName } from '../src/backend/backend';
import type { DType } from '../src/dtype';
import { toTypedArray } from '../src/dtype';
import { numel } from '../src/shape';

/** Default f32 tolerance of the GPU against the CPU: |got - want| <= atol * max(1, max|want|) + rtol * |want|. */
const F32 = { atol: 1e-4, rtol: 1e-4 };
/** Finite differences in f64: central, step 1e-6 (truncation ~1e-12, rounding ~1e-10). */
const FD = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };

export const OP_NAMES = Object.keys(OPS) as OpName[];

/** Runs every sample of one op on one backend; returns failure messages (empty when all pass). */
export async function checkOp(name: OpName, backend: BackendName): Promise<string[]> {
  const op = OPS[name] as OpDef;
  const failures: string[] = [];
  for (const [i, sample] of op.samples.entries()) {
    const where = `${name} sample ${i}${sample.note ? ` (${sample.note})` : ''}`;
    try {
      const problems = backend === 'cpu' ? await checkCpu(op, sample) : await checkGpu(op, sample);
      failures.push(...problems.map((p) => `${where}: ${p}`));
    } catch (e) {
      failures.push(`${where}: threw ${(e as Error).stack ?? e}`);
    }
  }
  return failures;
}

/** Every op on the given backends (the browser page's entry point). */
export async function runOpTable(_wt?: unknown, opts: { backends?: BackendName[] } = {}): Promise<{ checked: number; failures: string[] }> {
  const failures: string[] = [];
  let checked = 0;
  for (const backend of opts.backends ?? ['webgpu']) {
    for (const name of OP_NAMES) {
      failures.push(...(await checkOp(name, backend)));
      checked += OPS[name].samples.length;
    }
  }
  return { checked, failures };
}

// ---------------------------------------------------------------------------------------------

interface Run {
  out: Float64Array;
  grads: (Float64Array | null)[];
}

async function checkGpu(op: OpDef, sample: Sample): Promise<string[]> {
  const inputs = makeInputs(op.name, sample);
  const want = await run(op, sample, inputs, 'cpu', 'f32');
  const got = await run(op, sample, inputs, 'webgpu', 'f32');
  const tol = op.tolerance ?? F32;
  const problems = compare('forward', got.out, want.out, tol);
  want.grads.forEach((g, k) => {
    if (g) problems.push(...compare(`gradient of input ${k}`, got.grads[k] ?? new Float64Array(0), g, tol));
  });
  return problems;
}

async function checkCpu(op: OpDef, sample: Sample): Promise<string[]> {
  const inputs = makeInputs(op.name, sample);
  const ref = await run(op, sample, inputs, 'cpu', 'f64');
  const f32 = await run(op, sample, inputs, 'cpu', 'f32');
  const problems = compare('f32 forward vs f64', f32.out, ref.out, op.tolerance ?? F32);
  // Finite differences of L(x) = Σ f(x) * gy, one input element at a time.
  for (const [k, g] of ref.grads.entries()) {
    if (!g) continue;
    const numeric = new Float64Array(g.length);
    for (let j = 0; j < g.length; j++) {
      const at = async (delta: number) => {
        const moved = inputs.map((x, m) => (m === k ? { ...x, values: x.values.map((v, q) => (q === j ? v + delta : v)) } : x));
        const y = await run(op, sample, moved, 'cpu', 'f64', false);
        return y.out.reduce((s, v, q) => s + v * cotangent(op.name, y.out.length)[q], 0);
      };
      numeric[j] = ((await at(FD.eps)) - (await at(-FD.eps))) / (2 * FD.eps);
    }
    problems.push(...compare(`vjp of input ${k} vs finite differences`, g, numeric, FD));
  }
  return problems;
}

interface MadeInput {
  shape: number[];
  dtype: DType;
  values: number[];
}

/** Runs the op (and its vjp with a fixed cotangent) on one backend and precision. */
async function run(op: OpDef, sample: Sample, inputs: MadeInput[], backend: BackendName, float: 'f32' | 'f64', withGrad = true): Promise<Run> {
  const b = getBackend(backend);
  const xs = inputs.map((x) => {
    const dtype = x.dtype === 'i32' ? 'i32' : float;
    return new Tensor(b, uploadStorage(b, toTypedArray(dtype, x.values), 'input'), x.shape, dtype);
  });
  const differentiable = (op.differentiable ?? xs.map((_, i) => i)).filter((i) => xs[i].dtype !== 'i32');
  const wantGrads = withGrad && op.vjp !== undefined && !sample.noGrad && differentiable.length > 0;
  differentiable.forEach((i) => { if (wantGrads) xs[i].requiresGrad = true; });
  const attrs = sample.attrs ?? {};
  try {
    const y = withGradMode(wantGrads, () => apply(op, xs, attrs, backend));
    const out = Float64Array.from(await y.data());
    const grads: (Float64Array | null)[] = xs.map(() => null);
    if (wantGrads) {
      const gyData = cotangent(op.name, y.size);
      const gy = new Tensor(b, uploadStorage(b, toTypedArray(y.dtype, gyData), 'gy'), y.shape, y.dtype);
      const gs = tidy(() => gradients(y, differentiable.map((i) => xs[i]), gy, {}));
      for (const [n, i] of differentiable.entries()) {
        grads[i] = Float64Array.from(await gs[n].data());
        gs[n].dispose();
      }
      gy.dispose();
    }
    y.dispose();
    return { out, grads };
  } finally {
    xs.forEach((x) => x.dispose());
  }
}

function compare(what: string, got: Float64Array, want: Float64Array, tol: { atol: number; rtol: number }): string[] {
  if (got.length !== want.length) return [`${what}: ${got.length} values, expected ${want.length}`];
  const scale = Math.max(1, ...Array.from(want, Math.abs).filter(Number.isFinite));
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const same = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) ||
      Math.abs(g - w) <= tol.atol * scale + tol.rtol * Math.abs(w);
    if (!same) return [`${what}: element ${i} is ${g}, expected ${w} (atol ${tol.atol}·${scale.toPrecision(3)}, rtol ${tol.rtol})`];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Deterministic inputs: a small seeded generator per (op, sample); values rounded to f32 so every
// backend and precision sees the same numbers.

function makeInputs(name: string, sample: Sample): MadeInput[] {
  const rand = mulberry32(hash(`${name}/${JSON.stringify(sample)}`));
  return sample.inputs.map((spec) => ({ shape: spec.shape, dtype: spec.dtype ?? 'f32', values: valuesFor(spec, rand) }));
}

function valuesFor(spec: InputSpec, rand: () => number): number[] {
  const n = numel(spec.shape);
  if (spec.values) {
    if (spec.values.length !== n) throw new Error(`sample values: ${spec.values.length} for shape [${spec.shape}]`);
    return spec.values.map(Math.fround);
  }
  if (spec.intBelow !== undefined) return Array.from({ length: n }, () => Math.floor(rand() * spec.intBelow!));
  const [lo, hi] = spec.range ?? [-2, 2];
  if (spec.distinct) {
    // A shuffled even grid: no ties, and gaps far wider than the finite-difference step.
    const grid = Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * (i + 0.5)) / n));
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [grid[i], grid[j]] = [grid[j], grid[i]];
    }
    return grid;
  }
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rand()));
}

/** The fixed cotangent gy used for an op's vjp checks. */
const cotangents = new Map<string, number[]>();
function cotangent(name: string, n: number): number[] {
  const key = `${name}/${n}`;
  let v = cotangents.get(key);
  if (!v) {
    const rand = mulberry32(hash(key));
    v = Array.from({ length: n }, () => Math.fround(rand() * 2 - 1));
    cotangents.set(key, v);
  }
  return v;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
