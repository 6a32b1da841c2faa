/**
 * Property-based tests (fast-check) over random shapes, broadcasts, axes and arguments: each case
 * runs on the CPU against a naive reference written here (index loops in f64), and on WebGPU against
 * the CPU at f32 tolerance. A few properties need no reference (sum of sums, inverse permutations,
 * concat then slice). Random INVALID arguments must throw a WebtrainError naming the op, create no
 * tensor, and leave the backend usable.
 *
 * Seeds are fixed so CI is deterministic; numRuns keep the file well under a minute on SwiftShader.
 * A failure prints fast-check's seed and counterexample: rerun it with `{ seed, path }` to replay.
 * To hunt further: WEBTRAIN_FUZZ_SCALE=10 (ten times the runs) and WEBTRAIN_FUZZ_SEED=n (other cases).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import type { BackendName } from '../src/backend/backend';
import { availableBackends } from './setup-backends';
import { contiguousStrides, mergeDims } from '../src/shape';

/** Offset of the i-th element (row-major over shape) through strides. */
function offsetAt(i: number, shape: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    off += (i % shape[d]) * strides[d];
    i = Math.floor(i / shape[d]);
  }
  return off;
}


const backends = await availableBackends();
const hasGpu = backends.includes('webgpu');
const ran: Record<string, number> = {};
const SCALE = Number(process.env.WEBTRAIN_FUZZ_SCALE ?? 1);
const SEED_OFFSET = Number(process.env.WEBTRAIN_FUZZ_SEED ?? 0);
afterAll(() => {
  console.log(`fuzz cases run (${backends.join(' + ')}): ${JSON.stringify(ran)}, total ${Object.values(ran).reduce((a, b) => a + b, 0)}`);
  wt.shutdown();
});

/** fc.assert with a fixed seed, counting the runs. */
async function check<T>(name: string, seed: number, numRuns: number, arb: fc.Arbitrary<T>, body: (v: T) => Promise<void> | void) {
  await fc.assert(fc.asyncProperty(arb, async (v) => {
    ran[name] = (ran[name] ?? 0) + 1;
    await body(v);
  }), { seed: seed + SEED_OFFSET, numRuns: Math.ceil(numRuns * SCALE) });
}

// ---------------------------------------------------------------------------------------------
// Inputs, running on a backend, comparing

type DT = 'f32' | 'i32';
/** A tensor as plain data: row-major values. */
interface Data {
  shape: number[];
  dtype: DT;
  values: number[];
}
type ValueKind = 'real' | 'int' | 'positive' | 'nonzero';

/** Deterministic values from a seed (fast-check picks the seed; generating arrays there would be slow to shrink). */
function fill(shape: number[], seed: number, kind: ValueKind, dtype: DT = 'f32'): Data {
  const rand = mulberry32(seed);
  const n = numel(shape);
  const values = Array.from({ length: n }, () => {
    const u = rand();
    if (dtype === 'i32' || kind === 'int') return Math.floor(u * 7) - 3;
    if (kind === 'positive') return Math.fround(0.1 + 2.9 * u);
    if (kind === 'nonzero') return Math.fround((0.25 + 2.75 * u) * (rand() < 0.5 ? -1 : 1));
    return Math.fround(6 * u - 3);
  });
  return { shape, dtype, values };
}

/** Runs `f` on fresh tensors holding `inputs` on one backend; returns the output as data. */
async function runOn(backend: BackendName, inputs: Data[], f: (...xs: wt.Tensor[]) => wt.Tensor): Promise<Data> {
  const xs = inputs.map((d) => wt.tensor(d.dtype === 'i32' ? Int32Array.from(d.values) : Float32Array.from(d.values), d.shape, { backend, dtype: d.dtype }));
  try {
    const y = f(...xs);
    try {
      return { shape: [...y.shape], dtype: y.dtype as DT, values: Array.from(await y.data()) };
    } finally {
      y.dispose();
    }
  } finally {
    xs.forEach((x) => x.dispose());
  }
}

/** |got - want| <= atol * max(1, max|want|) + rtol * |want| elementwise, NaN matching NaN. */
function expectClose(got: Data, want: Data, what: string, tol = { atol: 1e-4, rtol: 1e-4 }): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  expect(got.dtype, `${what}: dtype`).toBe(want.dtype);
  expect(got.values.length, `${what}: length`).toBe(want.values.length);
  const scale = Math.max(1, ...want.values.map(Math.abs).filter(Number.isFinite));
  for (let i = 0; i < want.values.length; i++) {
    const g = got.values[i];
    const w = want.values[i];
    const ok = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= tol.atol * scale + tol.rtol * Math.abs(w);
    if (!ok) throw new Error(`${what}: element ${i} is ${g}, expected ${w} (shape [${want.shape}])`);
  }
}

/** The CPU against the reference, then (where there is a GPU) WebGPU against the CPU. */
async function agree(what: string, inputs: Data[], f: (...xs: wt.Tensor[]) => wt.Tensor, reference: (...xs: Data[]) => Data,
  tol?: { atol: number; rtol: number }): Promise<void> {
  const cpu = await runOn('cpu', inputs, f);
  expectClose(cpu, reference(...inputs), `${what} (cpu vs reference)`, tol);
  if (hasGpu) expectClose(await runOn('webgpu', inputs, f), cpu, `${what} (webgpu vs cpu)`, tol);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });
/** A shape: rank in [minRank, maxRank], dims in [minDim, maxDim] (0 allowed where minDim is 0, but rarely). */
const shapeArb = (minRank: number, maxRank: number, maxDim = 4, minDim = 1) =>
  fc.array(minDim === 0 ? fc.oneof({ arbitrary: fc.integer({ min: 1, max: maxDim }), weight: 9 }, { arbitrary: fc.constant(0), weight: 1 })
    : fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** A shape that broadcasts against `base`: a suffix of it, some dims replaced by 1. */
const broadcastableTo = (base: number[]) => fc.tuple(fc.integer({ min: 0, max: base.length }),
  fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }))
  .map(([drop, ones]) => base.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

/** Two or three shapes broadcasting to a common one (either may be the bigger). */
const broadcastShapesArb = (count: number) => shapeArb(0, 4, 4, 0).chain((base) => fc.array(broadcastableTo(base), { minLength: count, maxLength: count }));

/** A shape with one long dim inserted somewhere: rows past the kernels' one-thread-per-row limit (64). */
const withLongDim = (rest: fc.Arbitrary<number[]>, min = 60, max = 700) => fc.tuple(rest, fc.integer({ min, max }), fc.nat())
  .map(([r, len, at]) => { const shape = [...r]; shape.splice(at % (r.length + 1), 0, len); return shape; });

/** An axis of a rank-r tensor, as a non-negative or a negative index. */
const axisArb = (rank: number) => fc.tuple(fc.integer({ min: 0, max: Math.max(rank - 1, 0) }), fc.boolean()).map(([a, neg]) => (neg ? a - rank : a));

// ---------------------------------------------------------------------------------------------
// Elementwise

type UnaryName = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'square' | 'reciprocal' | 'relu' | 'sigmoid' | 'tanh' | 'softplus' | 'sign';

interface BinarySpec {
  name: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
  f: (a: number, b: number) => number;
  ints: boolean;
  a: ValueKind;
  b: ValueKind;
}
const cmp = (p: (a: number, b: number) => boolean) => (a: number, b: number) => (p(a, b) ? 1 : 0);
const BINARY: BinarySpec[] = [
  { name: 'add', f: (a, b) => a + b, ints: true, a: 'real', b: 'real' },
  { name: 'sub', f: (a, b) => a - b, ints: true, a: 'real', b: 'real' },
  { name: 'mul', f: (a, b) => a * b, ints: true, a: 'real', b: 'real' },
  { name: 'div', f: (a, b) => a / b, ints: false, a: 'real', b: 'nonzero' },
  { name: 'pow', f: Math.pow, ints: false, a: 'positive', b: 'real' },
  { name: 'maximum', f: Math.max, ints: true, a: 'int', b: 'real' },
  { name: 'minimum', f: Math.min, ints: true, a: 'int', b: 'real' },
  // Small integers make ties, where the comparisons differ.
  { name: 'eq', f: cmp((a, b) => a === b), ints: true, a: 'int', b: 'int' },
  { name: 'ne', f: cmp((a, b) => a !== b), ints: true, a: 'int', b: 'int' },
  { name: 'lt', f: cmp((a, b) => a < b), ints: true, a: 'int', b: 'int' },
  { name: 'le', f: cmp((a, b) => a <= b), ints: true, a: 'int', b: 'int' },
  { name: 'gt', f: cmp((a, b) => a > b), ints: true, a: 'int', b: 'real' },
  { name: 'ge', f: cmp((a, b) => a >= b), ints: true, a: 'real', b: 'int' },
];

describe('elementwise', () => {
  test('binary ops on random broadcastable shape pairs (f32 and i32)', async () => {
    const arb = fc.record({
      op: fc.constantFrom(...BINARY), shapes: broadcastShapesArb(2), seed: seedArb, i32: fc.boolean(),
    });
    await check('binary', 101, 150, arb, async ({ op, shapes: [sa, sb], seed, i32 }) => {
      const dtype: DT = i32 && op.ints ? 'i32' : 'f32';
      const inputs = [fill(sa, seed, op.a, dtype), fill(sb, seed + 1, op.b, dtype)];
      await agree(`${op.name} [${sa}] [${sb}] ${dtype}`, inputs, (a, b) => a[op.name](b), (a, b) => broadcastMap([a, b], (v) => op.f(v[0], v[1]), dtype));
    });
  });

  test('where on three random broadcastable shapes', async () => {
    await check('where', 102, 40, fc.record({ shapes: broadcastShapesArb(3), seed: seedArb }), async ({ shapes: [sm, sa, sb], seed }) => {
      const inputs = [fill(sm, seed, 'int'), fill(sa, seed + 1, 'real'), fill(sb, seed + 2, 'real')];
      await agree(`where [${sm}] [${sa}] [${sb}]`, inputs, (m, a, b) => wt.where(m, a, b), (m, a, b) => broadcastMap([m, a, b], (v) => (v[0] !== 0 ? v[1] : v[2]), 'f32'));
    });
  });

  test('unary ops on random shapes, up to a few thousand elements', async () => {
    const UNARY: [UnaryName, (x: number) => number, ValueKind][] = [
      ['neg', (x: number) => -x, 'real'], ['abs', Math.abs, 'real'], ['exp', Math.exp, 'real'], ['log', Math.log, 'positive'],
      ['sqrt', Math.sqrt, 'positive'], ['square', (x: number) => x * x, 'real'], ['reciprocal', (x: number) => 1 / x, 'nonzero'],
      ['relu', (x: number) => Math.max(x, 0), 'real'], ['sigmoid', (x: number) => 1 / (1 + Math.exp(-x)), 'real'], ['tanh', Math.tanh, 'real'],
      ['softplus', (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x))), 'real'], ['sign', Math.sign, 'int'],
    ];
    const arb = fc.record({ op: fc.constantFrom(...UNARY), shape: fc.oneof(shapeArb(0, 4, 6, 0), shapeArb(1, 2, 70)), seed: seedArb });
    await check('unary', 103, 60, arb, async ({ op: [name, f, kind], shape, seed }) => {
      await agree(`${name} [${shape}]`, [fill(shape, seed, kind)], (x) => x[name](), (x) => ({ ...x, values: x.values.map(f) }));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Reductions and softmax

describe('reductions', () => {
  test('sum / mean / max / min over random axes (none, one, a list; negative too) with keepdim', async () => {
    const arb = fc.oneof(shapeArb(0, 4, 5, 0), withLongDim(shapeArb(0, 2, 3, 0))).chain((shape) => fc.record({
      shape: fc.constant(shape),
      kind: fc.constantFrom('sum' as const, 'mean' as const, 'max' as const, 'min' as const),
      axes: fc.oneof(
        fc.constant(undefined),
        axisArb(shape.length),
        fc.shuffledSubarray([...shape.keys()]).chain((axes) => fc.array(fc.boolean(), { minLength: axes.length, maxLength: axes.length })
          .map((neg) => axes.map((a, i) => (neg[i] ? a - shape.length : a)))),
      ),
      keepdim: fc.boolean(),
      seed: seedArb,
    })).filter(({ shape, kind, axes }) => kind === 'sum' || kind === 'mean' || !reducesEmpty(shape, axes));
    await check('reduce', 201, 150, arb, async ({ shape, kind, axes, keepdim, seed }) => {
      const x = fill(shape, seed, kind === 'max' || kind === 'min' ? 'int' : 'real');
      await agree(`${kind} [${shape}] axes ${JSON.stringify(axes)} keepdim ${keepdim}`, [x], (t) => t[kind](axes, keepdim),
        (d) => reduceRef(d, axes, keepdim, kind));
    });
  });

  test('argmax over a random axis or all elements: the first of tied maxima', async () => {
    const arb = fc.oneof(shapeArb(0, 4, 5), withLongDim(shapeArb(0, 2, 3))).chain((shape) => fc.record({
      shape: fc.constant(shape), axis: fc.option(axisArb(shape.length), { nil: undefined }), keepdim: fc.boolean(), seed: seedArb,
    }));
    await check('argmax', 202, 60, arb, async ({ shape, axis, keepdim, seed }) => {
      await agree(`argmax [${shape}] axis ${axis} keepdim ${keepdim}`, [fill(shape, seed, 'int')], (t) => t.argmax(axis, keepdim),
        (d) => reduceRef(d, axis, keepdim, 'argmax'));
    });
  });

  test('softmax and logSoftmax along a random axis (short and long rows)', async () => {
    const arb = fc.oneof(withLongDim(shapeArb(0, 3, 5, 0), 1, 8), withLongDim(shapeArb(0, 2, 4, 0), 60, 300))
      .chain((shape) => fc.record({ shape: fc.constant(shape), axis: axisArb(shape.length), log: fc.boolean(), seed: seedArb }));
    await check('softmax', 203, 50, arb, async ({ shape, axis, log, seed }) => {
      const op = log ? 'logSoftmax' : 'softmax';
      await agree(`${op} [${shape}] axis ${axis}`, [fill(shape, seed, 'real')], (t) => t[op](axis), (d) => softmaxRef(d, axis, log));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Movement

describe('movement', () => {
  test('permute and transpose with random valid axes', async () => {
    const arb = shapeArb(0, 5, 4, 0).chain((shape) => fc.record({
      shape: fc.constant(shape),
      perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
      swap: shape.length >= 2 ? fc.option(fc.tuple(axisArb(shape.length), axisArb(shape.length)), { nil: undefined }) : fc.constant(undefined),
      i32: fc.boolean(),
      seed: seedArb,
    }));
    await check('permute', 301, 60, arb, async ({ shape, perm, swap, i32, seed }) => {
      const x = fill(shape, seed, 'real', i32 ? 'i32' : 'f32');
      if (swap) {
        const [a, b] = swap;
        const axes = [...shape.keys()];
        const [i, j] = [(a + shape.length) % shape.length, (b + shape.length) % shape.length];
        [axes[i], axes[j]] = [axes[j], axes[i]];
        await agree(`transpose [${shape}] ${a} ${b}`, [x], (t) => t.transpose(a, b), (d) => permuteRef(d, axes), EXACT);
      } else {
        await agree(`permute [${shape}] [${perm}]`, [x], (t) => t.permute(perm), (d) => permuteRef(d, perm), EXACT);
      }
    });
  });

  test('reshape to a random shape of the same size (with -1), then an op that reads it', async () => {
    const arb = shapeArb(0, 4, 4, 0).chain((shape) => fc.record({
      shape: fc.constant(shape),
      // Merge some neighbours, shuffle, sprinkle 1s, and maybe leave one dim to -1.
      target: fc.tuple(fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }), fc.array(fc.nat(), { maxLength: 2 }),
        fc.nat(), fc.boolean()).map(([merge, ones, rot, infer]) => {
        const dims: number[] = [];
        shape.forEach((d, i) => { if (merge[i] && dims.length) dims[dims.length - 1] *= d; else dims.push(d); });
        for (const o of ones) dims.splice(o % (dims.length + 1), 0, 1);
        const r = dims.length ? rot % dims.length : 0;
        const out = [...dims.slice(r), ...dims.slice(0, r)];
        if (infer && out.length && !out.includes(0)) out[rot % out.length] = -1;
        return out;
      }),
      seed: seedArb,
    }));
    await check('reshape', 302, 50, arb, async ({ shape, target, seed }) => {
      const n = numel(shape);
      const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const resolved = target.map((d) => (d === -1 ? n / known : d));
      await agree(`reshape [${shape}] → [${target}]`, [fill(shape, seed, 'real')], (t) => t.reshape(target).mul(2),
        (d) => ({ shape: resolved, dtype: 'f32', values: d.values.map((v) => v * 2) }));
    });
  });

  test('slice with random begin (negative too) and size (-1 too)', async () => {
    const arb = shapeArb(0, 4, 6, 0).chain((shape) => fc.record({
      shape: fc.constant(shape),
      window: fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d }).chain((b) => fc.tuple(
        fc.constant(b), fc.boolean(), fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: d - b })))))),
      seed: seedArb,
    }));
    await check('slice', 303, 60, arb, async ({ shape, window, seed }) => {
      // A negative begin counts from the end (only where it is in range: -d .. -1).
      const begin = window.map(([b, neg], d) => (neg && b < shape[d] ? b - shape[d] : b));
      const size = window.map(([, , s]) => s);
      const b0 = window.map(([b]) => b);
      const s0 = size.map((s, d) => (s === -1 ? shape[d] - b0[d] : s));
      await agree(`slice [${shape}] begin [${begin}] size [${size}]`, [fill(shape, seed, 'real')], (t) => t.slice(begin, size),
        (d) => sliceRef(d, b0, s0), EXACT);
    });
  });

  test('concat of 1-4 tensors along a random axis (empty pieces too; f32 and i32)', async () => {
    const arb = shapeArb(1, 4, 4).chain((shape) => fc.record({
      shape: fc.constant(shape),
      axis: axisArb(shape.length),
      lengths: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }),
      i32: fc.boolean(),
      seed: seedArb,
    }));
    await check('concat', 304, 50, arb, async ({ shape, axis, lengths, i32, seed }) => {
      const a = (axis + shape.length) % shape.length;
      const parts = lengths.map((len, i) => fill(shape.map((d, k) => (k === a ? len : d)), seed + i, 'real', i32 ? 'i32' : 'f32'));
      await agree(`concat ${parts.map((p) => `[${p.shape}]`).join(' ')} axis ${axis}`, parts, (...ts) => wt.concat(ts, axis),
        (...ds) => concatRef(ds, a), EXACT);
    });
  });

  test('broadcastTo a random compatible shape', async () => {
    const arb = shapeArb(0, 4, 4, 0).chain((base) => fc.record({ target: fc.constant(base), shape: broadcastableTo(base), seed: seedArb }));
    await check('broadcastTo', 305, 30, arb, async ({ target, shape, seed }) => {
      await agree(`broadcastTo [${shape}] → [${target}]`, [fill(shape, seed, 'real')], (t) => t.broadcastTo(target),
        (d) => broadcastMap([d, { shape: target, dtype: 'f32', values: new Array(numel(target)).fill(0) }], (v) => v[0], 'f32'), EXACT);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Matmul

describe('matmul', () => {
  test('random batched, broadcast and 1-D operands, on every kernel the adapter has', async () => {
    const gpu = hasGpu ? (getBackend('webgpu') as WebGPUBackend) : null;
    const arb = fc.record({
      m: fc.integer({ min: 1, max: 70 }), k: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 70 }),
      batch: shapeArb(0, 2, 3).chain((base) => fc.tuple(broadcastableTo(base), broadcastableTo(base))),
      vecA: fc.boolean(), vecB: fc.boolean(), kernel: fc.constantFrom(...(gpu?.matmulKernels ?? ['tiled' as const])), seed: seedArb,
    });
    await check('matmul', 401, 60, arb, async ({ m, k, n, batch: [ba, bb], vecA, vecB, kernel, seed }) => {
      // Keep the work small: 1-D operands drop their batch dims (torch.matmul broadcasts 1-D differently).
      const sa = vecA ? [k] : [...ba, m, k];
      const sb = vecB ? [k] : [...bb, k, n];
      const before = gpu?.tuning.matmulKernel;
      if (gpu) gpu.tuning.matmulKernel = kernel;
      try {
        await agree(`matmul [${sa}] [${sb}]${gpu ? ` ${kernel}` : ''}`, [fill(sa, seed, 'real'), fill(sb, seed + 1, 'real')],
          (a, b) => a.matmul(b), matmulRef);
      } finally {
        if (gpu) gpu.tuning.matmulKernel = before!;
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Gradients through broadcasting, reductions and batched matmul

/** The gradients of Σ f(xs) · w (w a fixed random weight of the output's shape) w.r.t. every input. */
async function gradsOn(backend: BackendName, inputs: Data[], f: (...xs: wt.Tensor[]) => wt.Tensor, wSeed: number): Promise<Data[]> {
  const xs = inputs.map((d) => wt.tensor(Float32Array.from(d.values), d.shape, { backend }));
  try {
    const gs = wt.grad((...ts) => {
      const y = f(...ts);
      return y.mul(wt.tensor(Float32Array.from(fill([...y.shape], wSeed, 'real').values), [...y.shape], { backend })).sum();
    })(...xs);
    const out = await Promise.all(gs.map(async (g) => ({ shape: [...g.shape], dtype: 'f32' as DT, values: Array.from(await g.data()) })));
    gs.forEach((g) => g.dispose());
    return out;
  } finally {
    xs.forEach((x) => x.dispose());
  }
}

async function gradsAgree(what: string, inputs: Data[], f: (...xs: wt.Tensor[]) => wt.Tensor, wSeed: number, reference?: (w: Data) => Data[]) {
  const cpu = await gradsOn('cpu', inputs, f, wSeed);
  if (reference) {
    const outShape = (await runOn('cpu', inputs, f)).shape;
    reference(fill(outShape, wSeed, 'real')).forEach((want, i) => expectClose(cpu[i], want, `${what}: gradient ${i} (cpu vs reference)`));
  }
  if (hasGpu) (await gradsOn('webgpu', inputs, f, wSeed)).forEach((g, i) => expectClose(g, cpu[i], `${what}: gradient ${i} (webgpu vs cpu)`));
}

describe('gradients', () => {
  test('binary ops on broadcast shapes: each gradient is summed back to its input shape', async () => {
    // ∂f/∂a and ∂f/∂b of each op, at the broadcast values.
    const OPS = {
      add: [() => 1, () => 1], sub: [() => 1, () => -1], mul: [(_: number, b: number) => b, (a: number) => a],
      div: [(_: number, b: number) => 1 / b, (a: number, b: number) => -a / (b * b)],
      maximum: [(a: number, b: number) => (a > b ? 1 : 0), (a: number, b: number) => (a > b ? 0 : 1)],
    } as const;
    const arb = fc.record({ op: fc.constantFrom(...(Object.keys(OPS) as (keyof typeof OPS)[])), shapes: broadcastShapesArb(2), seed: seedArb });
    await check('binary gradients', 451, 50, arb, async ({ op, shapes: [sa, sb], seed }) => {
      const inputs = [fill(sa, seed, 'real'), fill(sb, seed + 1, op === 'div' ? 'nonzero' : 'real')];
      await gradsAgree(`${op} [${sa}] [${sb}]`, inputs, (a, b) => a[op](b), seed + 2, (w) => inputs.map((x, i) => {
        const local = broadcastMap([inputs[0], inputs[1], w], (v) => OPS[op][i](v[0], v[1]) * v[2], 'f32');
        return unbroadcastRef(local, x.shape);
      }));
    });
  });

  test('reductions, softmax and batched broadcast matmul: WebGPU gradients equal the CPU ones', async () => {
    const arb = fc.oneof(
      shapeArb(1, 4, 4).chain((shape) => fc.record({
        kind: fc.constantFrom('sum' as const, 'mean' as const, 'max' as const, 'softmax' as const, 'logSoftmax' as const),
        shape: fc.constant(shape), axis: axisArb(shape.length), keepdim: fc.boolean(), seed: seedArb,
      })),
      fc.record({
        kind: fc.constant('matmul' as const), m: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 9 }),
        batch: shapeArb(0, 2, 3).chain((base) => fc.tuple(broadcastableTo(base), broadcastableTo(base))), seed: seedArb,
      }),
    );
    await check('other gradients', 452, 50, arb, async (c) => {
      if (c.kind === 'matmul') {
        const [sa, sb] = [[...c.batch[0], c.m, c.k], [...c.batch[1], c.k, c.n]];
        await gradsAgree(`matmul [${sa}] [${sb}]`, [fill(sa, c.seed, 'real'), fill(sb, c.seed + 1, 'real')], (a, b) => a.matmul(b), c.seed + 2);
      } else if (c.kind === 'softmax' || c.kind === 'logSoftmax') {
        await gradsAgree(`${c.kind} [${c.shape}] axis ${c.axis}`, [fill(c.shape, c.seed, 'real')], (x) => x[c.kind as 'softmax'](c.axis), c.seed + 1);
      } else {
        // Random reals: ties, where max shares its gradient, are improbable.
        await gradsAgree(`${c.kind} [${c.shape}] axis ${c.axis} keepdim ${c.keepdim}`, [fill(c.shape, c.seed, 'real')],
          (x) => x[c.kind as 'sum'](c.axis, c.keepdim), c.seed + 1);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties that need no reference

describe('properties', () => {
  test('mergeDims (the GPU copy and reduce kernels\' dimension merging) maps every index to the same offsets', async () => {
    const arb = shapeArb(0, 5, 4).chain((shape) => fc.record({
      shape: fc.constant(shape),
      // Strides of a contiguous layout of a permutation (as permute and slice views have), or random.
      src: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: shape.length, maxLength: shape.length }),
      dst: fc.constant(contiguousStrides(shape)),
    }));
    await check('mergeDims', 701, 200, arb, ({ shape, src, dst }) => {
      const m = mergeDims(shape, src, dst);
      expect(m.shape.length).toBeLessThanOrEqual(shape.length);
      for (let i = 0; i < numel(shape); i++) {
        expect(offsetAt(i, m.shape, m.strides[0])).toBe(offsetAt(i, shape, src));
        expect(offsetAt(i, m.shape, m.strides[1])).toBe(offsetAt(i, shape, dst));
      }
    });
  });

  test.each(backends)('%s: the sum over all axes equals a sum of partial sums; mean · n equals sum', async (backend) => {
    const arb = shapeArb(1, 4, 5).chain((shape) => fc.record({ shape: fc.constant(shape), first: fc.shuffledSubarray([...shape.keys()], { minLength: 1 }), seed: seedArb }));
    await check(`sum of sums (${backend})`, 501, 25, arb, async ({ shape, first, seed }) => {
      const x = fill(shape, seed, 'real');
      const [total, partial, meanTimesN] = await Promise.all([
        runOn(backend, [x], (t) => t.sum()),
        runOn(backend, [x], (t) => wt.tidy(() => t.sum(first).sum())),
        runOn(backend, [x], (t) => wt.tidy(() => t.mean().mul(numel(shape)))),
      ]);
      expectClose(partial, total, 'sum(axes).sum() vs sum()');
      expectClose(meanTimesN, total, 'mean() * n vs sum()');
    });
  });

  test.each(backends)('%s: permute then the inverse permutation, and concat then slice, give back the input exactly', async (backend) => {
    const arb = shapeArb(1, 4, 4).chain((shape) => fc.record({
      shape: fc.constant(shape), perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
      axis: fc.integer({ min: 0, max: shape.length - 1 }), cut: fc.nat(), seed: seedArb,
    }));
    await check(`round trips (${backend})`, 502, 25, arb, async ({ shape, perm, axis, cut, seed }) => {
      const x = fill(shape, seed, 'real');
      const inverse = perm.map((_, i) => perm.indexOf(i));
      expectClose(await runOn(backend, [x], (t) => wt.tidy(() => t.permute(perm).permute(inverse))), x, 'permute∘inverse', EXACT);
      // Split along `axis` at `cut` with slice, and concat the pieces back.
      const at = cut % (shape[axis] + 1);
      const back = await runOn(backend, [x], (t) => wt.tidy(() => {
        const lo = t.slice(shape.map(() => 0), shape.map((d, i) => (i === axis ? at : d)));
        const hi = t.slice(shape.map((_, i) => (i === axis ? at : 0)), shape.map((_, i) => (i === axis ? -1 : -1)));
        return wt.concat([lo, hi], axis);
      }));
      expectClose(back, x, 'concat(slices)', EXACT);
    });
  });

  test.each(backends)('%s: softmax rows sum to 1 and equal exp(logSoftmax)', async (backend) => {
    const arb = shapeArb(1, 3, 6).chain((shape) => fc.record({ shape: fc.constant(shape), axis: axisArb(shape.length), seed: seedArb }));
    await check(`softmax sums (${backend})`, 503, 25, arb, async ({ shape, axis, seed }) => {
      const x = fill(shape, seed, 'real');
      const sums = await runOn(backend, [x], (t) => wt.tidy(() => t.softmax(axis).sum(axis)));
      expect(sums.values.every((v) => Math.abs(v - 1) < 1e-5)).toBe(true);
      const [p, lp] = await Promise.all([runOn(backend, [x], (t) => t.softmax(axis)), runOn(backend, [x], (t) => wt.tidy(() => t.logSoftmax(axis).exp()))]);
      expectClose(lp, p, 'exp(logSoftmax) vs softmax', { atol: 1e-6, rtol: 1e-5 });
    });
  });

  test.each(backends)('%s: (AB)C equals A(BC), and (AB)ᵀ equals BᵀAᵀ', async (backend) => {
    const dim = fc.integer({ min: 1, max: 12 });
    await check(`matmul identities (${backend})`, 504, 25, fc.record({ m: dim, k: dim, l: dim, n: dim, seed: seedArb }), async ({ m, k, l, n, seed }) => {
      const [a, b, c] = [fill([m, k], seed, 'real'), fill([k, l], seed + 1, 'real'), fill([l, n], seed + 2, 'real')];
      const left = await runOn(backend, [a, b, c], (x, y, z) => wt.tidy(() => x.matmul(y).matmul(z)));
      const right = await runOn(backend, [a, b, c], (x, y, z) => wt.tidy(() => x.matmul(y.matmul(z))));
      expectClose(left, right, '(AB)C vs A(BC)', { atol: 1e-4, rtol: 1e-4 });
      const t1 = await runOn(backend, [a, b], (x, y) => wt.tidy(() => x.matmul(y).transpose()));
      const t2 = await runOn(backend, [a, b], (x, y) => wt.tidy(() => y.transpose().matmul(x.transpose())));
      expectClose(t1, t2, '(AB)ᵀ vs BᵀAᵀ');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Invalid arguments

/** One invalid call: the op its error must name, its inputs, and the call. */
interface BadCall {
  op: string;
  inputs: { shape: number[]; dtype?: DT }[];
  call: (...xs: wt.Tensor[]) => unknown;
  note: string;
}

/** Shapes a and b that do NOT broadcast: an aligned pair of dims, unequal and neither 1. */
const clashingShapes = fc.tuple(shapeArb(0, 3, 4), shapeArb(0, 3, 4), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 4 }))
  .map(([pa, pb, d, extra]) => [[...pa, d], [...pb, d + extra]]);

const badCalls: fc.Arbitrary<BadCall> = fc.oneof(
  fc.record({ op: fc.constantFrom(...BINARY.map((b) => b.name)), shapes: clashingShapes })
    .map(({ op, shapes: [sa, sb] }) => ({ op, inputs: [{ shape: sa }, { shape: sb }], call: (a: wt.Tensor, b: wt.Tensor) => a[op](b), note: `[${sa}] ${op} [${sb}]` })),
  fc.record({ shapes: clashingShapes }).map(({ shapes: [sa, sb] }) =>
    ({ op: 'where', inputs: [{ shape: sa }, { shape: sb }, { shape: [] }], call: (m: wt.Tensor, a: wt.Tensor, b: wt.Tensor) => wt.where(m, a, b), note: `where [${sa}] [${sb}]` })),
  // Reductions: an axis out of range (either side), a repeated axis, a fractional axis, a list for argmax.
  shapeArb(0, 4, 4).chain((shape) => fc.record({
    op: fc.constantFrom('sum', 'mean', 'max', 'min', 'argmax'),
    axis: fc.oneof(
      fc.integer({ min: Math.max(shape.length, 1), max: 9 }),
      fc.integer({ min: -9, max: -Math.max(shape.length, 1) - 1 }),
      fc.constant(0.5),
      ...(shape.length ? [axisArb(shape.length).map((a) => [a, (a + shape.length) % shape.length])] : []),
    ),
    keepdim: fc.boolean(),
  }).map(({ op, axis, keepdim }) => ({
    op, inputs: [{ shape }], note: `${op}(${JSON.stringify(axis)}) of [${shape}]`,
    call: (x: wt.Tensor) => (op === 'argmax' ? x.argmax(axis as number, keepdim) : x[op as 'sum'](axis as number, keepdim)),
  }))),
  shapeArb(0, 3, 4).chain((shape) => fc.record({
    op: fc.constantFrom('softmax', 'logSoftmax'),
    axis: fc.oneof(fc.integer({ min: Math.max(shape.length, 1), max: 6 }), fc.integer({ min: -6, max: -Math.max(shape.length, 1) - 1 }),
      ...(shape.length === 0 ? [fc.constant(0)] : [])),
  }).map(({ op, axis }) => ({ op, inputs: [{ shape }], call: (x: wt.Tensor) => x[op as 'softmax'](axis), note: `${op}(${axis}) of [${shape}]` }))),
  // permute: a wrong length, a repeat, an axis out of range.
  shapeArb(1, 4, 3).chain((shape) => fc.oneof<fc.Arbitrary<number[]>[]>(
    fc.array(fc.integer({ min: 0, max: shape.length - 1 }), { minLength: 0, maxLength: 5 }).filter((p) => p.length !== shape.length),
    fc.constant(shape.length >= 2 ? shape.map(() => 0) : [1]),
    fc.constant([...shape.keys()].map((i) => (i === 0 ? shape.length + 2 : i))),
  ).map((perm: number[]) => ({ op: 'permute', inputs: [{ shape }], call: (x: wt.Tensor) => x.permute(perm), note: `permute [${perm}] of [${shape}]` }))),
  shapeArb(0, 4, 3).chain((shape) => fc.tuple(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 }))
    .filter(([a, b]) => shape.length < 2 || [a, b].some((v) => v >= shape.length || v < -shape.length))
    .map(([a, b]) => ({ op: 'transpose', inputs: [{ shape }], call: (x: wt.Tensor) => x.transpose(a, b), note: `transpose(${a}, ${b}) of [${shape}]` }))),
  // reshape: a different size, two -1s, a negative other than -1, a fraction.
  shapeArb(0, 3, 4).chain((shape) => fc.oneof<fc.Arbitrary<number[]>[]>(
    shapeArb(0, 3, 5).filter((t) => numel(t) !== numel(shape)),
    fc.constant([-1, -1]),
    fc.constant([numel(shape), -2]),
    fc.constant([numel(shape) * 2, 0.5]),
  ).map((target: number[]) => ({ op: 'reshape', inputs: [{ shape }], call: (x: wt.Tensor) => x.reshape(target), note: `reshape [${shape}] → [${target}]` }))),
  // slice: the wrong number of entries, a window past the end, a begin out of range, a size below -1.
  shapeArb(1, 3, 4).chain((shape) => fc.oneof(
    fc.constant({ begin: [...shape, 0].map(() => 0), size: undefined as number[] | undefined }),
    fc.integer({ min: 0, max: shape.length - 1 }).map((d) => ({ begin: shape.map(() => 0), size: shape.map((s, i) => (i === d ? s + 1 : s)) })),
    fc.integer({ min: 0, max: shape.length - 1 }).map((d) => ({ begin: shape.map((s, i) => (i === d ? s + 1 : 0)), size: undefined })),
    fc.integer({ min: 0, max: shape.length - 1 }).map((d) => ({ begin: shape.map((s, i) => (i === d ? -s - 1 : 0)), size: undefined })),
    fc.integer({ min: 0, max: shape.length - 1 }).map((d) => ({ begin: shape.map(() => 0), size: shape.map((s, i) => (i === d ? -2 : s)) })),
  ).map(({ begin, size }) => ({ op: 'slice', inputs: [{ shape }], call: (x: wt.Tensor) => x.slice(begin, size), note: `slice [${begin}] [${size}] of [${shape}]` }))),
  // concat: mismatched dims off the axis, mismatched ranks, an axis out of range, mixed dtypes, scalars.
  shapeArb(1, 3, 3).chain((shape) => fc.record({ axis: axisArb(shape.length), which: fc.integer({ min: 0, max: 4 }) }).map(({ axis, which }) => {
    const a = (axis + shape.length) % shape.length;
    const other = [
      shape.length > 1 ? shape.map((d, i) => (i !== a ? d + 1 : d)) : [...shape, 2],
      [...shape, 1],
      shape,
      shape,
      [],
    ][which];
    const badAxis = which === 2 ? shape.length + 1 : axis;
    const inputs = which === 4 ? [{ shape: [] }, { shape: [] }] : [{ shape }, { shape: other, dtype: (which === 3 ? 'i32' : 'f32') as DT }];
    return { op: 'concat', inputs, call: (x: wt.Tensor, y: wt.Tensor) => wt.concat([x, y], badAxis), note: `concat [${inputs.map((i) => i.shape).join('] [')}] axis ${badAxis}` };
  })),
  // matmul: inner dims that differ, batch dims that clash, a 0-d operand.
  fc.record({ m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }), which: fc.integer({ min: 0, max: 3 }) })
    .map(({ m, k, n, which }) => {
      const [sa, sb] = [[[m, k], [k + 1, n]], [[2, m, k], [3, k, n]], [[], [k, n]], [[k], [k + 1, n]]][which];
      return { op: 'matmul', inputs: [{ shape: sa }, { shape: sb }], call: (a: wt.Tensor, b: wt.Tensor) => a.matmul(b), note: `matmul [${sa}] [${sb}]` };
    }),
  clashingShapes.map(([sa, sb]) => ({ op: 'broadcastTo', inputs: [{ shape: sa }], call: (x: wt.Tensor) => x.broadcastTo(sb), note: `broadcastTo [${sa}] → [${sb}]` })),
  // Mixed dtypes.
  fc.record({ op: fc.constantFrom('add', 'sub', 'mul', 'maximum', 'eq', 'lt'), shape: shapeArb(0, 3, 3), swap: fc.boolean() })
    .map(({ op, shape, swap }) => ({
      op, inputs: swap ? [{ shape, dtype: 'i32' as DT }, { shape }] : [{ shape }, { shape, dtype: 'i32' as DT }],
      call: (a: wt.Tensor, b: wt.Tensor) => a[op as 'add'](b), note: `${op} of f32 and i32 [${shape}]`,
    })),
);

/** Calls that are fine on the CPU but past a WebGPU limit: tensors of rank > 8 (shapes travel in 8-slot uniforms). */
const badOnGpu: fc.Arbitrary<BadCall> = shapeArb(9, 10, 2).chain((shape) => fc.constantFrom<BadCall>(
  { op: 'add', inputs: [{ shape }, { shape: [shape.at(-1)!] }], call: (a, b) => a.add(b), note: `add rank ${shape.length}` },
  { op: 'exp', inputs: [{ shape }], call: (x) => x.exp(), note: `exp rank ${shape.length}` },
  { op: 'sum', inputs: [{ shape }], call: (x) => x.sum(1), note: `sum rank ${shape.length}` },
  { op: 'permute', inputs: [{ shape }], call: (x) => x.permute([...shape.keys()].reverse()), note: `permute rank ${shape.length}` },
  { op: 'slice', inputs: [{ shape }], call: (x) => x.slice(shape.map(() => 0), shape.map(() => 1)), note: `slice rank ${shape.length}` },
  { op: 'concat', inputs: [{ shape }, { shape }], call: (a, b) => wt.concat([a, b], 2), note: `concat rank ${shape.length}` },
  { op: 'argmax', inputs: [{ shape }], call: (x) => x.argmax(0), note: `argmax rank ${shape.length}` },
));

describe('invalid arguments', () => {
  test.each(backends)('%s: random invalid calls throw a WebtrainError naming the op, and create no tensor', async (backend) => {
    const ops = new Set<string>();
    const calls = backend === 'webgpu' ? fc.oneof({ arbitrary: badCalls, weight: 9 }, { arbitrary: badOnGpu, weight: 1 }) : badCalls;
    await check(`invalid (${backend})`, 601, 300, calls, async ({ op, inputs, call, note }) => {
      const xs = inputs.map((i) => (i.dtype === 'i32' ? wt.zeros(i.shape, { backend, dtype: 'i32' }) : wt.ones(i.shape, { backend })));
      const before = wt.memory();
      let error: unknown = null;
      let result: unknown;
      try {
        result = call(...xs);
      } catch (e) {
        error = e;
      }
      const after = wt.memory();
      xs.forEach((x) => x.dispose());
      if (result instanceof wt.Tensor) result.dispose();
      expect(result, `${note}: returned a result instead of throwing`).toBeUndefined();
      expect(error, `${note}: ${String(error)}`).toBeInstanceOf(wt.WebtrainError);
      expect((error as Error).message, note).toMatch(new RegExp(`^${op}: `));
      expect(after.numTensors - before.numTensors, `${note}: tensors left behind`).toBe(0);
      expect(after.numBytes - before.numBytes, `${note}: bytes left behind`).toBe(0);
      ops.add(op);
    });
    // The backend still works after all that.
    const ok = await runOn(backend, [fill([3], 7, 'real')], (x) => x.add(1));
    expect(ok.values).toHaveLength(3);
    expect(ops.size).toBeGreaterThan(20); // most kinds of bad call were tried
  });
});

// ---------------------------------------------------------------------------------------------
// Naive references (f64, index loops)

const EXACT = { atol: 0, rtol: 0 };

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** NumPy broadcasting of all inputs, then f on each aligned tuple of values. */
function broadcastMap(xs: Data[], f: (v: number[]) => number, dtype: DT): Data {
  const rank = Math.max(...xs.map((x) => x.shape.length));
  const shape = Array.from({ length: rank }, (_, d) => Math.max(...xs.map((x) => {
    const k = d - (rank - x.shape.length);
    return k < 0 ? 1 : x.shape[k];
  })));
  if (xs.some((x) => x.shape.includes(0))) shape.forEach((_, d) => { if (xs.some((x) => x.shape[d - (rank - x.shape.length)] === 0)) shape[d] = 0; });
  const values = Array.from({ length: numel(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    const args = xs.map((x) => {
      const s = stridesOf(x.shape);
      let off = 0;
      x.shape.forEach((size, k) => { off += (size === 1 ? 0 : idx[k + rank - x.shape.length]) * s[k]; });
      return x.values[off];
    });
    const v = f(args);
    return dtype === 'i32' ? v | 0 : Math.fround(v);
  });
  return { shape, dtype, values };
}

/** Sums a broadcast gradient back to `shape`: over the leading dims and where `shape` has 1s. */
function unbroadcastRef(g: Data, shape: number[]): Data {
  const lead = g.shape.length - shape.length;
  const out = new Array<number>(numel(shape)).fill(0);
  const s = stridesOf(shape);
  g.values.forEach((v, i) => {
    const idx = unravel(i, g.shape);
    out[shape.reduce((off, d, k) => off + (d === 1 ? 0 : idx[k + lead]) * s[k], 0)] += v;
  });
  return { shape, dtype: 'f32', values: out };
}

function normAxes(axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  return (typeof axes === 'number' ? [axes] : axes).map((a) => (a < 0 ? a + rank : a));
}

function reducesEmpty(shape: number[], axes: number | number[] | undefined): boolean {
  const list = normAxes(axes, shape.length);
  return list.some((a) => shape[a] === 0) || (axes === undefined && shape.includes(0));
}

function reduceRef(x: Data, axes: number | number[] | undefined, keepdim: boolean, kind: 'sum' | 'mean' | 'max' | 'min' | 'argmax'): Data {
  const red = normAxes(axes, x.shape.length);
  const outShape: number[] = [];
  x.shape.forEach((d, i) => { if (!red.includes(i)) outShape.push(d); else if (keepdim) outShape.push(1); });
  const keptDims = x.shape.map((_, i) => i).filter((i) => !red.includes(i));
  const groups = new Map<number, { vals: number[]; flat: number[] }>();
  const keptShape = keptDims.map((i) => x.shape[i]);
  for (let i = 0; i < x.values.length; i++) {
    const idx = unravel(i, x.shape);
    let key = 0;
    keptDims.forEach((d, j) => { key = key * keptShape[j] + idx[d]; });
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { vals: [], flat: [] }));
    g.vals.push(x.values[i]);
    // argmax over one axis returns the index along it; over all axes, the flat index.
    g.flat.push(axes === undefined ? i : x.shape.length === 0 ? 0 : idx[red[0]]);
  }
  const values = Array.from({ length: numel(keptShape) }, (_, key) => {
    const { vals, flat } = groups.get(key) ?? { vals: [], flat: [] };
    switch (kind) {
      case 'sum': return vals.reduce((a, b) => a + b, 0);
      case 'mean': return vals.reduce((a, b) => a + b, 0) / vals.length;
      case 'max': return Math.max(...vals);
      case 'min': return Math.min(...vals);
      case 'argmax': return flat[vals.indexOf(Math.max(...vals))];
    }
  });
  return { shape: outShape, dtype: kind === 'argmax' ? 'i32' : x.dtype, values };
}

function softmaxRef(x: Data, axis: number, log: boolean): Data {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const stride = stridesOf(x.shape)[a];
  const len = x.shape[a];
  const values = x.values.slice();
  for (let i = 0; i < x.values.length; i++) {
    if (unravel(i, x.shape)[a] !== 0) continue; // the first element of each row along the axis
    const row = Array.from({ length: len }, (_, j) => x.values[i + j * stride]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    row.forEach((v, j) => { values[i + j * stride] = log ? v - lse : Math.exp(v - lse); });
  }
  return { ...x, values };
}

function permuteRef(x: Data, perm: number[]): Data {
  const shape = perm.map((p) => x.shape[p]);
  const s = stridesOf(x.shape);
  const values = Array.from({ length: x.values.length }, (_, i) => {
    const idx = unravel(i, shape);
    return x.values[perm.reduce((off, p, d) => off + idx[d] * s[p], 0)];
  });
  return { shape, dtype: x.dtype, values };
}

function sliceRef(x: Data, begin: number[], size: number[]): Data {
  const s = stridesOf(x.shape);
  const values = Array.from({ length: numel(size) }, (_, i) => {
    const idx = unravel(i, size);
    return x.values[idx.reduce((off, v, d) => off + (v + begin[d]) * s[d], 0)];
  });
  return { shape: size, dtype: x.dtype, values };
}

function concatRef(xs: Data[], axis: number): Data {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((t, x) => t + x.shape[axis], 0);
  const values = Array.from({ length: numel(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    let at = idx[axis];
    const x = xs.find((p) => (at < p.shape[axis] ? true : ((at -= p.shape[axis]), false)))!;
    const local = idx.map((v, d) => (d === axis ? at : v));
    return x.values[local.reduce((off, v, d) => off + v * stridesOf(x.shape)[d], 0)];
  });
  return { shape, dtype: xs[0].dtype, values };
}

/** torch.matmul: 1-D operands become a row / a column, batch dims broadcast, the added dims go away. */
function matmulRef(a: Data, b: Data): Data {
  const A = a.shape.length === 1 ? { ...a, shape: [1, a.shape[0]] } : a;
  const B = b.shape.length === 1 ? { ...b, shape: [b.shape[0], 1] } : b;
  const [m, k] = A.shape.slice(-2);
  const n = B.shape[B.shape.length - 1];
  const batchA = { shape: A.shape.slice(0, -2), dtype: 'f32' as DT, values: [...Array(numel(A.shape.slice(0, -2))).keys()] };
  const batchB = { shape: B.shape.slice(0, -2), dtype: 'f32' as DT, values: [...Array(numel(B.shape.slice(0, -2))).keys()] };
  const pairs: number[][] = [];
  const batch = broadcastMap([batchA, batchB], (v) => { pairs.push(v); return 0; }, 'f32').shape;
  const values: number[] = [];
  for (const [ia, ib] of pairs) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += A.values[ia * m * k + i * k + p] * B.values[ib * k * n + p * n + j];
        values.push(acc);
      }
    }
  }
  const shape = [...batch, ...(a.shape.length > 1 ? [m] : []), ...(b.shape.length > 1 ? [n] : [])];
  return { shape, dtype: 'f32', values };
}

function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
