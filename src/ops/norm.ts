/**
 * Normalization ops: one family for BatchNorm, LayerNorm, GroupNorm and InstanceNorm (the modules
 * are in src/nn/norm.ts). Each is an optimization of the composition
 * `(x - x.mean(axes)) / sqrt(x.var(axes) + eps) * weight + bias` (biased variance), which stays the
 * reference (test/losses-norm.test.ts).
 *
 * Every kind is x viewed as [A, G, B] with statistics per group g over its n = A·B elements:
 *   'batch'  x [N, C, *spatial]: A = N, G = C, B = spatial (per channel over N and spatial dims);
 *   'group'  x [N, C, *spatial] with `groups` groups of C/groups channels: A = 1, G = N·groups,
 *            B = (C/groups)·spatial (InstanceNorm is groups = C);
 *   'layer'  x [..., *normalized] with `normalizedRank` trailing dims: A = 1, G = rows, B = their size.
 * weight and bias are per channel ([C]) for 'batch'/'group' and per normalized element for 'layer'.
 *
 * Ops (each one dispatch on WebGPU; statistics by workgroup tree reduction, or one thread per group
 * for groups of at most 64 elements):
 *   norm(x, weight?, bias?)        y = (x - mean) · rsqrt(var + eps) · weight + bias, with the
 *                                  group's own (batch) statistics; its gradient is the fused
 *   normGrad(x, gy, weight?)       gx = r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)), ĝ = gy · weight, x̂ = (x - mean) r;
 *   normStats(x)                   [G, 2]: (mean, biased var) per group, for running statistics;
 *   normEval(x, mean, var, weight?, bias?)   the same affine map with given per-channel statistics
 *                                  (BatchNorm / InstanceNorm in eval mode).
 * Why no saved statistics: the runtime gives an op one output, and the statistics are cheap to
 * recompute inside the kernels that need them (normGrad re-reads its group), so the forward stays
 * one dispatch and backward one more, with no extra tensor kept alive between them. `normStats` is
 * dispatched only when running statistics are tracked, and `updateRunningStats` then folds them
 * into the buffers in place in one more dispatch.
 * NOTE: one workgroup reduces one group, so few groups over many elements (BatchNorm with a few
 * channels and a large batch × spatial size) use only that many workgroups of the GPU.
 */
import { fail, fmtShape } from '../errors';
import { numel, shapesEqual } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { apply, cpuView, sliceOf } from '../runtime';
import type { Tensor } from '../tensor';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';
import { checkDtype } from './elementwise';
import type { CpuKernelArgs, GpuKernelArgs, InputSpec, OpDef, Sample, ShaderVariant, TensorMeta } from './op-def';
import { ROW_PATHS, rowKernel, type RowPath } from './reduce';

/** Which elements share statistics: see the file comment. */
export type NormKind = 'batch' | 'group' | 'layer';

/** Attributes shared by the norm ops (normEval has its own). */
export interface NormAttrs {
  kind: NormKind;
  /** 'group': the number of channel groups (InstanceNorm: the channel count). */
  groups?: number;
  /** 'layer': how many trailing dims are normalized together. */
  normalizedRank?: number;
  eps: number;
  /** A weight input follows x (norm, normEval: after x / the statistics; normGrad: after gy). */
  weight?: boolean;
  /** A bias input follows (norm, normEval). */
  bias?: boolean;
}

/** How a kind lays x out: groups, where weight/bias apply, and the axes they are reduced over. */
export interface NormLayout {
  A: number;
  G: number;
  B: number;
  /** Elements per group. */
  n: number;
  /** weight/bias index of the element at flat offset o: floor(o / affInner) % affCount. */
  affInner: number;
  affCount: number;
  /** weight/bias shape, the shape they broadcast as against x, and the axes of x they don't cover. */
  affShape: number[];
  affBroadcast: number[];
  affAxes: number[];
}

/** x's [A, G, B] grouping and the affine layout for a kind; throws (naming `op`) on a shape the kind can't take. */
export function normLayout(op: string, shape: readonly number[], attrs: NormAttrs): NormLayout {
  const rank = shape.length;
  if (attrs.kind === 'layer') {
    const k = attrs.normalizedRank ?? 1;
    if (!Number.isInteger(k) || k < 1 || k > rank) fail(op, `cannot normalize the last ${k} dims of ${fmtShape(shape)}`);
    const affShape = shape.slice(rank - k);
    const B = numel(affShape);
    return { A: 1, G: numel(shape.slice(0, rank - k)), B, n: B, affInner: 1, affCount: B, affShape,
      affBroadcast: affShape, affAxes: [...Array(rank - k).keys()] };
  }
  if (rank < 2) fail(op, `expects input [N, C, ...], got ${fmtShape(shape)}`);
  const [N, C] = shape;
  const S = numel(shape.slice(2));
  const channelwise = {
    affInner: S, affCount: C, affShape: [C], affBroadcast: shape.map((d, i) => (i === 1 ? d : 1)),
    affAxes: [...Array(rank).keys()].filter((i) => i !== 1),
  };
  if (attrs.kind === 'batch') return { A: N, G: C, B: S, n: N * S, ...channelwise };
  if (attrs.kind !== 'group') fail(op, `unknown normalization kind '${attrs.kind}'`);
  const g = attrs.groups ?? 1;
  if (!Number.isInteger(g) || g < 1 || C % g !== 0) fail(op, `${C} channels cannot be split into ${g} groups (input ${fmtShape(shape)})`);
  return { A: 1, G: N * g, B: (C / g) * S, n: (C / g) * S, ...channelwise };
}

// ---------------------------------------------------------------------------------------------
// Shape rules

function checkAffine(op: string, x: TensorMeta, params: (TensorMeta | undefined)[], names: string[], want: number[]): void {
  params.forEach((t, i) => {
    if (!t) fail(op, `missing ${names[i]} input`);
    if (t.dtype !== x.dtype || !shapesEqual(t.shape, want)) {
      fail(op, `${names[i]} must be ${x.dtype} ${fmtShape(want)} for input ${fmtShape(x.shape)}, got ${t.dtype} ${fmtShape(t.shape)}`);
    }
  });
}

/** The optional weight/bias inputs starting at `from`, by the attrs' flags. */
function affineInputs<T>(inputs: T[], from: number, attrs: NormAttrs): { w?: T; b?: T; count: number } {
  const w = attrs.weight ? inputs[from] : undefined;
  const b = attrs.bias ? inputs[from + (attrs.weight ? 1 : 0)] : undefined;
  return { w, b, count: from + (attrs.weight ? 1 : 0) + (attrs.bias ? 1 : 0) };
}

function checkCount(op: string, inputs: unknown[], count: number): void {
  if (inputs.length !== count) fail(op, `expected ${count} inputs for these attributes, got ${inputs.length}`);
}

// ---------------------------------------------------------------------------------------------
// CPU reference (float64 arithmetic)

const offsetIn = (L: NormLayout, g: number, j: number) => Math.floor(j / L.B) * L.G * L.B + g * L.B + (j % L.B);
const channelOf = (L: NormLayout, o: number) => Math.floor(o / L.affInner) % L.affCount;

function groupStats(x: ArrayLike<number>, L: NormLayout, g: number) {
  let s = 0;
  for (let j = 0; j < L.n; j++) s += x[offsetIn(L, g, j)];
  const mean = s / L.n;
  let q = 0;
  for (let j = 0; j < L.n; j++) q += (x[offsetIn(L, g, j)] - mean) ** 2;
  return { mean, variance: q / L.n };
}

type Mode = 'stats' | 'forward' | 'grad';

function normCpu(mode: Mode, { inputs, out, attrs }: CpuKernelArgs<NormAttrs>): void {
  const x = inputs[0];
  const L = normLayout(mode, x.shape, attrs);
  const gy = mode === 'grad' ? inputs[1] : undefined;
  const { w, b } = affineInputs(inputs, mode === 'grad' ? 2 : 1, attrs);
  const scale = (v: number, o: number) => (w ? v * w.data[channelOf(L, o)] : v);
  for (let g = 0; g < L.G; g++) {
    const { mean, variance } = groupStats(x.data, L, g);
    if (mode === 'stats') {
      out.data[2 * g] = mean;
      out.data[2 * g + 1] = variance;
      continue;
    }
    const r = 1 / Math.sqrt(variance + attrs.eps);
    if (mode === 'forward') {
      for (let j = 0; j < L.n; j++) {
        const o = offsetIn(L, g, j);
        out.data[o] = scale((x.data[o] - mean) * r, o) + (b ? b.data[channelOf(L, o)] : 0);
      }
      continue;
    }
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < L.n; j++) {
      const o = offsetIn(L, g, j);
      const gh = scale(gy!.data[o], o);
      sumG += gh;
      sumGX += gh * (x.data[o] - mean) * r;
    }
    for (let j = 0; j < L.n; j++) {
      const o = offsetIn(L, g, j);
      out.data[o] = r * (scale(gy!.data[o], o) - sumG / L.n - (x.data[o] - mean) * r * (sumGX / L.n));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WebGPU

type GpuMode = 'STATS' | 'FORWARD' | 'GRAD' | 'EVAL' | 'RUNNING';

function normDefines(mode: GpuMode, opts: { weight?: boolean; bias?: boolean; path?: RowPath; count?: boolean; cumulative?: boolean } = {}) {
  const first = mode === 'FORWARD' ? 3 : mode === 'GRAD' ? 4 : 5; // after x; after gy; after mean and var
  return {
    STATS: mode === 'STATS', FORWARD: mode === 'FORWARD', GRAD: mode === 'GRAD', EVAL: mode === 'EVAL', RUNNING: mode === 'RUNNING',
    HAS_WEIGHT: opts.weight ?? false, HAS_BIAS: opts.bias ?? false, ...(opts.path ?? { PER_THREAD: false, SUBGROUPS: false }), // EVAL and RUNNING have no rows
    HAS_COUNT: opts.count ?? false, CUMULATIVE: opts.cumulative ?? false,
    WEIGHT_BINDING: first, BIAS_BINDING: first + (opts.weight ? 1 : 0),
  };
}

function params(L: NormLayout, eps: number, n = L.n) {
  return new Uniforms().u32(L.G).u32(n).u32(L.B).u32(L.G * L.B).u32(L.affInner).u32(L.affCount).f32(eps)
    .f32(0).u32(0).f32(0);
}

function normGpu(mode: 'STATS' | 'FORWARD' | 'GRAD', { gpu, inputs, out, attrs }: GpuKernelArgs<NormAttrs>): void {
  const x = inputs[0];
  const L = normLayout(mode, x.shape, attrs);
  const { path, workgroups } = rowKernel(gpu, L.G, L.n);
  const weight = mode !== 'STATS' && (attrs.weight ?? false);
  const bias = mode === 'FORWARD' && (attrs.bias ?? false);
  gpu.dispatch({
    label: { STATS: 'normStats', FORWARD: 'norm', GRAD: 'normGrad' }[mode],
    shader: 'norm',
    defines: normDefines(mode, { weight, bias, path }),
    uniforms: params(L, attrs.eps),
    bindings: [out.buffer, ...inputs.map((t) => t.buffer)],
    workgroups,
  });
}

const bools = [false, true];
const groupVariants = (mode: 'STATS' | 'FORWARD' | 'GRAD'): ShaderVariant[] => bools.flatMap((weight) => bools.flatMap((bias) =>
  ROW_PATHS.map((path) => ({ shader: 'norm', defines: normDefines(mode, { weight: mode !== 'STATS' && weight, bias: mode === 'FORWARD' && bias, path }) }))))
  .filter((v, i, all) => all.findIndex((u) => JSON.stringify(u) === JSON.stringify(v)) === i);

// ---------------------------------------------------------------------------------------------
// vjp helpers (ops only)

const sumOver = (t: Tensor, axes: number[]) => (axes.length ? t.sum(axes) : t);
/** Per-group sums of a tensor viewed as [A, G, B], kept as [1, G, 1]. */
const groupSum = (t3: Tensor) => t3.sum([0, 2], true);

// ---------------------------------------------------------------------------------------------
// Rows

const sample = (kind: NormKind, shape: number[], extra: Partial<NormAttrs>, note?: string): Sample<NormAttrs> => {
  const attrs: NormAttrs = { kind, eps: 1e-5, weight: true, bias: true, ...extra };
  const L = normLayout('sample', shape, attrs);
  const inputs: InputSpec[] = [{ shape }];
  if (attrs.weight) inputs.push({ shape: L.affShape, range: [0.5, 2] });
  if (attrs.bias) inputs.push({ shape: L.affShape });
  return { inputs, attrs, note };
};

/** Layouts for every op of the family: each kind, with and without affine, both kernel paths. */
const layouts: Sample<NormAttrs>[] = [
  sample('batch', [4, 3], {}, 'BatchNorm1d [N, C]'),
  sample('batch', [2, 3, 5], { bias: false }, 'BatchNorm1d [N, C, L], weight only'),
  sample('batch', [3, 2, 2, 2], { weight: false }, 'BatchNorm2d, bias only'),
  sample('batch', [3, 2, 100], {}, 'batch, workgroup path, every lane'),
  sample('layer', [3, 4], {}, 'LayerNorm'),
  sample('layer', [2, 3, 4], { normalizedRank: 2, bias: false }, 'LayerNorm over 2 dims'),
  sample('layer', [2, 80], { weight: false, bias: false }, 'LayerNorm, no affine, workgroup path'),
  sample('group', [2, 4, 3], { groups: 2 }, 'GroupNorm'),
  sample('group', [2, 3, 4], { groups: 3, weight: false, bias: false }, 'InstanceNorm'),
  sample('group', [2, 4, 40], { groups: 2 }, 'GroupNorm, workgroup path'),
];

/** The same layouts with gy in place of bias: normGrad's inputs (x, gy, weight?). */
const gradSamples: Sample<NormAttrs>[] = layouts.map((s) => {
  const a = s.attrs!;
  const inputs: InputSpec[] = [s.inputs[0], { shape: s.inputs[0].shape }];
  if (a.weight) inputs.push(s.inputs[1]);
  return { ...s, inputs, attrs: { ...a, bias: false } };
});

/** y = (x - mean) · rsqrt(var + eps) · weight + bias with each group's own statistics; inputs x, weight?, bias?. */
export const norm: OpDef<NormAttrs> = {
  name: 'norm',
  infer: (inputs, attrs) => {
    const x = inputs[0];
    checkDtype('norm', x, false);
    const L = normLayout('norm', x.shape, attrs);
    const { w, b, count } = affineInputs(inputs, 1, attrs);
    checkCount('norm', inputs, count);
    checkAffine('norm', x, [w, b].filter((t) => t !== undefined), [...(w ? ['weight'] : []), ...(b ? ['bias'] : [])], L.affShape);
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: (args) => normCpu('forward', args),
  webgpu: (args) => normGpu('FORWARD', args),
  // dx: the fused normGrad kernel (the full derivative: mean and variance depend on x);
  // d weight = Σ gy x̂, d bias = Σ gy over the dims weight/bias don't cover.
  vjp: ({ inputs, attrs }, gy) => {
    const x = inputs[0];
    const L = normLayout('norm', x.shape, attrs);
    const { w } = affineInputs(inputs, 1, attrs);
    const gx = apply(normGrad, w ? [x, gy, w] : [x, gy], { ...attrs, bias: false });
    const xhat = w ? apply(norm, [x], { ...attrs, weight: false, bias: false }) : null;
    const gw = xhat ? sumOver(gy.mul(xhat), L.affAxes).reshape(L.affShape) : null;
    const gb = attrs.bias ? sumOver(gy, L.affAxes).reshape(L.affShape) : null;
    return [gx, ...(attrs.weight ? [gw] : []), ...(attrs.bias ? [gb] : [])];
  },
  save: 'inputs',
  shaderVariants: groupVariants('FORWARD'),
  samples: layouts,
};

/** norm's input gradient r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)), ĝ = gy · weight; inputs x, gy, weight?. */
export const normGrad: OpDef<NormAttrs> = {
  name: 'normGrad',
  infer: (inputs, attrs) => {
    const [x, gy] = inputs;
    checkDtype('normGrad', x, false);
    const L = normLayout('normGrad', x.shape, attrs);
    if (attrs.bias) fail('normGrad', 'takes no bias');
    checkCount('normGrad', inputs, attrs.weight ? 3 : 2);
    checkAffine('normGrad', x, [gy], ['gy'], [...x.shape]);
    if (attrs.weight) checkAffine('normGrad', x, [inputs[2]], ['weight'], L.affShape);
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: (args) => normCpu('grad', args),
  webgpu: (args) => normGpu('GRAD', args),
  // G = J ĝ with ĝ = gy·w and J = dx̂/dx = r (I - 11ᵀ/n - x̂ x̂ᵀ/n) per group (symmetric). For an upstream V:
  //   d/dĝ = J V (normGrad itself, without weight), so d/dgy = w ⊙ J V and d/dw = Σ gy ⊙ J V;
  //   d/dx = -(r/n) [(V·G) x̂ + (V·x̂) G] - r b J V, with b = mean(ĝ x̂) and per-group dots,
  //   from dr = -(r²/n) Σ x̂ dx and db = (1/n) ĝᵀ J dx (mean, r and x̂ recomputed with ops that
  //   are differentiable in turn).
  vjp: ({ inputs, y, attrs }, v) => {
    const [x, gy] = inputs;
    const w = attrs.weight ? inputs[2] : undefined;
    const L = normLayout('normGrad', x.shape, attrs);
    const plain: NormAttrs = { ...attrs, weight: false, bias: false };
    const v3 = (t: Tensor) => t.reshape([L.A, L.G, L.B]);
    const wb = w?.reshape(L.affBroadcast);
    const jv = apply(normGrad, [x, v], plain);
    const ggy = wb ? jv.mul(wb) : jv;
    const gw = w ? sumOver(jv.mul(gy), L.affAxes).reshape(L.affShape) : null;
    const stats = apply(normStats, [x], plain);
    const r = stats.slice([0, 1], [L.G, 1]).reshape([1, L.G, 1]).add(attrs.eps).pow(-0.5);
    const xhat = v3(apply(norm, [x], plain));
    const b = groupSum(v3(wb ? gy.mul(wb) : gy).mul(xhat)).div(L.n);
    const V = v3(v);
    const G = v3(y);
    const gx = xhat.mul(groupSum(V.mul(G))).add(G.mul(groupSum(V.mul(xhat)))).mul(r.div(-L.n))
      .sub(v3(jv).mul(r.mul(b)));
    return [gx.reshape([...x.shape]), ggy, ...(w ? [gw] : [])];
  },
  save: 'both',
  shaderVariants: groupVariants('GRAD'),
  samples: gradSamples,
};

/** [G, 2]: each group's mean and biased variance (for running statistics). */
export const normStats: OpDef<NormAttrs> = {
  name: 'normStats',
  infer: ([x], attrs) => {
    checkDtype('normStats', x, false);
    const L = normLayout('normStats', x.shape, attrs);
    return { shape: [L.G, 2], dtype: x.dtype };
  },
  cpu: (args) => normCpu('stats', args),
  webgpu: (args) => normGpu('STATS', args),
  // d mean / dx = 1/n, d var / dx = 2 (x - mean) / n, per group.
  vjp: ({ inputs: [x], y, attrs }, gy) => {
    const L = normLayout('normStats', x.shape, attrs);
    const col = (t: Tensor, k: number) => t.slice([0, k], [L.G, 1]).reshape([1, L.G, 1]);
    const gx = x.reshape([L.A, L.G, L.B]).sub(col(y, 0)).mul(col(gy, 1).mul(2 / L.n)).add(col(gy, 0).div(L.n));
    return [gx.reshape([...x.shape])];
  },
  save: 'both',
  // The in-place running-statistics update (updateRunningStats) is listed here: it consumes these stats.
  shaderVariants: [
    ...groupVariants('STATS'),
    ...bools.flatMap((count) => bools.filter((c) => count || !c).map((cumulative) =>
      ({ shader: 'norm', defines: normDefines('RUNNING', { count, cumulative }) }))),
  ],
  samples: layouts.map((s) => ({ ...s, inputs: [s.inputs[0]], attrs: { ...s.attrs!, weight: false, bias: false } })),
};

// ---------------------------------------------------------------------------------------------
// Eval mode: given per-channel statistics

/** normEval: eps, and whether weight / bias inputs follow the statistics. */
export interface NormEvalAttrs {
  eps: number;
  weight?: boolean;
  bias?: boolean;
}

const evalLayout = (op: string, shape: readonly number[]) => normLayout(op, shape, { kind: 'batch', eps: 0 });

/**
 * (x - mean[c]) / sqrt(var[c] + eps) · weight[c] + bias[c] with given per-channel statistics (channel
 * axis 1): BatchNorm / InstanceNorm in eval mode. Inputs x, mean, var, weight?, bias?; one dispatch.
 */
export const normEval: OpDef<NormEvalAttrs> = {
  name: 'normEval',
  infer: (inputs, attrs) => {
    const [x, mean, variance] = inputs;
    checkDtype('normEval', x, false);
    const L = evalLayout('normEval', x.shape);
    const a = { kind: 'batch' as const, ...attrs };
    const { w, b, count } = affineInputs(inputs, 3, a);
    checkCount('normEval', inputs, count);
    checkAffine('normEval', x, [mean, variance, ...[w, b].filter((t) => t !== undefined)],
      ['mean', 'var', ...(w ? ['weight'] : []), ...(b ? ['bias'] : [])], L.affShape);
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: ({ inputs, out, attrs }) => {
    const [x, mean, variance] = inputs;
    const L = evalLayout('normEval', x.shape);
    const { w, b } = affineInputs(inputs, 3, { kind: 'batch', ...attrs });
    for (let o = 0; o < x.data.length; o++) {
      const c = channelOf(L, o);
      const v = (x.data[o] - mean.data[c]) / Math.sqrt(variance.data[c] + attrs.eps);
      out.data[o] = (w ? v * w.data[c] : v) + (b ? b.data[c] : 0);
    }
  },
  webgpu: ({ gpu, inputs, out, attrs }) => {
    const x = inputs[0];
    const L = evalLayout('normEval', x.shape);
    gpu.dispatch({
      label: 'normEval', shader: 'norm', defines: normDefines('EVAL', attrs),
      uniforms: params(L, attrs.eps, numel(x.shape)),
      bindings: [out.buffer, ...inputs.map((t) => t.buffer)],
      threads: numel(x.shape),
    });
  },
  // y = (x - m) r w + b with r = (var + eps)^(-1/2), per channel c:
  //   dx = gy r w;  dm = -Σ gy r w;  dvar = Σ gy (x - m) w · (-r³/2);  dw = Σ gy (x - m) r;  db = Σ gy.
  vjp: ({ inputs, attrs }, gy) => {
    const [x, mean, variance] = inputs;
    const L = evalLayout('normEval', x.shape);
    const { w } = affineInputs(inputs, 3, { kind: 'batch', ...attrs });
    const bc = (t: Tensor) => t.reshape(L.affBroadcast);
    const r = variance.add(attrs.eps).pow(-0.5);
    const scale = w ? r.mul(w) : r;
    const gx = gy.mul(bc(scale));
    const t = sumOver(gy.mul(x.sub(bc(mean))), L.affAxes);
    const gm = sumOver(gx, L.affAxes).neg();
    const gv = t.mul(scale).mul(r.square()).mul(-0.5);
    return [gx, gm, gv, ...(w ? [t.mul(r)] : []), ...(attrs.bias ? [sumOver(gy, L.affAxes)] : [])];
  },
  save: 'inputs',
  shaderVariants: bools.flatMap((weight) => bools.map((bias) => ({ shader: 'norm', defines: normDefines('EVAL', { weight, bias }) }))),
  samples: [
    { inputs: [{ shape: [4, 3] }, { shape: [3] }, { shape: [3], range: [0.5, 2] }, { shape: [3], range: [0.5, 2] }, { shape: [3] }],
      attrs: { eps: 1e-5, weight: true, bias: true } },
    { inputs: [{ shape: [2, 3, 4] }, { shape: [3] }, { shape: [3], range: [0.5, 2] }], attrs: { eps: 1e-5 }, note: 'no affine' },
    { inputs: [{ shape: [2, 2, 2, 3] }, { shape: [2] }, { shape: [2], range: [0.5, 2] }, { shape: [2] }],
      attrs: { eps: 1e-5, bias: true }, note: 'bias only' },
  ],
};

// ---------------------------------------------------------------------------------------------
// Running statistics, in place

/** The buffers and batch statistics of one running-statistics update. */
export interface RunningStatsUpdate {
  runningMean: Tensor;
  runningVar: Tensor;
  /** Incremented by one (i32 scalar); the count of the cumulative average when momentum is null. */
  numBatchesTracked?: Tensor | null;
  /** normStats output [rows · C, 2]: each channel's statistics are averaged over its `rowsPerChannel` rows. */
  stats: Tensor;
  rowsPerChannel: number;
  /** EMA factor (PyTorch's momentum), or null for the cumulative average 1 / numBatchesTracked. */
  momentum: number | null;
  /** Elements each variance was computed over: the running variance stores var · n / (n - 1). */
  n: number;
}

/**
 * PyTorch's running-statistics update, in place (outside the tape, like `assign`; the buffers stay
 * the same tensors): numBatchesTracked += 1; f = momentum ?? 1 / numBatchesTracked;
 * runningMean = (1 - f) runningMean + f mean, runningVar = (1 - f) runningVar + f var · n / (n - 1).
 * One dispatch on WebGPU for all three buffers.
 */
export function updateRunningStats(u: RunningStatsUpdate): void {
  const { runningMean: rm, runningVar: rv, numBatchesTracked: nbt, stats } = u;
  const C = rm.size;
  const op = 'updateRunningStats';
  for (const t of [rm, rv, stats, ...(nbt ? [nbt] : [])]) {
    if (t.isDisposed || !t.life.storage) fail(op, `a tensor of shape ${fmtShape(t.shape)} was used after dispose()`);
    if (t.backend !== stats.backend) fail(op, `all tensors must live on one backend`);
  }
  if (!shapesEqual(rv.shape, rm.shape) || rm.dtype !== stats.dtype || rv.dtype !== stats.dtype ||
    !shapesEqual(stats.shape, [C * u.rowsPerChannel, 2])) {
    fail(op, `running statistics ${fmtShape(rm.shape)} ${rm.dtype} and ${fmtShape(rv.shape)} ${rv.dtype} do not match stats ` +
      `${fmtShape(stats.shape)} ${stats.dtype} (${u.rowsPerChannel} rows per channel)`);
  }
  if (nbt && (nbt.dtype !== 'i32' || nbt.size !== 1)) fail(op, `numBatchesTracked must be one i32, got ${nbt.dtype} ${fmtShape(nbt.shape)}`);
  if (u.momentum === null && !nbt) fail(op, 'momentum null (a cumulative average) needs numBatchesTracked');
  const unbias = u.n > 1 ? u.n / (u.n - 1) : Infinity;
  if (stats.backend.name === 'cpu') {
    const view = (t: Tensor) => cpuView(t.life.storage!, t.dtype, t.size, t.life.byteOffset);
    const [m, v, s] = [view(rm), view(rv), view(stats)];
    let count = 1;
    if (nbt) {
      const c = view(nbt);
      count = c[0] = c[0] + 1;
    }
    const f = u.momentum ?? 1 / count;
    for (let c = 0; c < C; c++) {
      let sm = 0;
      let sv = 0;
      for (let r = 0; r < u.rowsPerChannel; r++) {
        sm += s[2 * (r * C + c)];
        sv += s[2 * (r * C + c) + 1];
      }
      m[c] = (1 - f) * m[c] + f * (sm / u.rowsPerChannel);
      v[c] = (1 - f) * v[c] + f * ((sv / u.rowsPerChannel) * unbias);
    }
  } else {
    const gpu = stats.backend as WebGPUBackend;
    gpu.dispatch({
      label: op, shader: 'norm',
      defines: normDefines('RUNNING', { count: !!nbt, cumulative: u.momentum === null }),
      uniforms: new Uniforms().u32(C).u32(0).u32(0).u32(0).u32(0).u32(0).f32(0)
        .f32(u.momentum ?? 0).u32(u.rowsPerChannel).f32(unbias),
      bindings: [sliceOf(rm), sliceOf(rv), sliceOf(stats), ...(nbt ? [sliceOf(nbt)] : [])],
      workgroups: [1],
    });
  }
  for (const t of [rm, rv, ...(nbt ? [nbt] : [])]) t.life.storage!.version++;
}
