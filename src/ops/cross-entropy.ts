/**
 * Fused softmax cross-entropy (DESIGN.md section 1: an optimization of `-logSoftmax(x).gather(labels)`,
 * tested against that composition in test/losses-norm.test.ts).
 *
 * `crossEntropy(logits, labels)` gives the per-sample losses, PyTorch's
 * `F.cross_entropy(..., reduction='none')`, in ONE kernel per row: the stable log-sum-exp
 * lse = m + log Σ_c exp(x_c - m), m = max_c x_c, then
 *   hard labels (i32 class indices):     loss = lse - x[label]
 *   soft labels (probability rows p):    loss = Σ_c p_c (lse - x_c)
 * Its gradient is the fused `crossEntropyGrad(logits, labels, gy)`:
 *   d loss / d x_c = (softmax(x)_c · Σ_j p_j - p_c) · gy      (hard: softmax - onehot)
 * whose own vjp is written with ops, so double backward (wt.hvp) works.
 *
 * Layout as PyTorch: logits [N, C] or [N, C, d1, ...] (class axis 1) or unbatched [C]; hard labels
 * [N, d1, ...] (i32), soft labels the logits' shape and dtype. Labels equal to `ignoreIndex`
 * (PyTorch's -100) give loss 0 and gradient 0.
 * With `logProbs` the input is already log-probabilities (`nll`): loss = -x[label] (or -Σ p_c x_c).
 *
 * Labels out of range: the CPU kernel throws ('crossEntropy: label 12 is out of range for 10
 * classes'). A GPU kernel cannot throw, so such a row's loss (and gradient) is NaN there; reading the
 * loss shows it. `nn.functional.crossEntropy` also checks labels given as a JS array synchronously.
 */
import { fail, fmtShape } from '../errors';
import { numel, shapesEqual } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { apply } from '../runtime';
import type { Tensor } from '../tensor';
import { checkDtype } from './elementwise';
import type { CpuKernelArgs, GpuKernelArgs, InputSpec, OpDef, Sample, TensorMeta } from './op-def';
import { onesLike } from '../create';
import { ROW_PATHS, rowKernel, workgroupSubgroups, type RowPath } from './reduce';

export interface CrossEntropyAttrs {
  /** Hard labels equal to this contribute loss 0 and gradient 0 (PyTorch's default is -100). */
  ignoreIndex: number;
  /** The input holds log-probabilities already (nll): the log-sum-exp term is dropped. */
  logProbs?: boolean;
}

/** PyTorch's default ignore_index. */
export const IGNORE_INDEX = -100;

/** logits viewed as [outer, C, inner] around the class axis (1, or 0 for unbatched [C] logits). */
export function classLayout(shape: readonly number[]) {
  const axis = shape.length >= 2 ? 1 : 0;
  return { axis, outer: numel(shape.slice(0, axis)), n: shape[axis], inner: numel(shape.slice(axis + 1)) };
}

/** The per-sample loss shape: the logits' shape without the class axis. */
export function lossShape(shape: readonly number[]): number[] {
  const { axis } = classLayout(shape);
  return shape.filter((_, i) => i !== axis);
}

/** Checks logits and labels; returns whether the labels are soft (probability rows). */
export function checkLabels(op: string, x: TensorMeta, labels: TensorMeta | undefined): boolean {
  if (!labels) fail(op, 'takes logits and labels');
  checkDtype(op, x, false);
  if (x.shape.length === 0) fail(op, `logits must be [N, C], [N, C, d1, ...] or [C], got a scalar`);
  const { n } = classLayout(x.shape);
  if (n === 0) fail(op, `logits ${fmtShape(x.shape)} have no classes`);
  const hardShape = lossShape(x.shape);
  if (labels.dtype === 'i32') {
    if (!shapesEqual(labels.shape, hardShape)) {
      fail(op, `class-index labels must have shape ${fmtShape(hardShape)} for logits ${fmtShape(x.shape)}, got ${fmtShape(labels.shape)}` +
        (labels.shape.length === hardShape.length + 1 && labels.shape[labels.shape.length - 1] === 1 ? ' (squeeze the trailing 1)' : ''));
    }
    return false;
  }
  if (labels.dtype !== x.dtype || !shapesEqual(labels.shape, x.shape)) {
    const hint = shapesEqual(labels.shape, hardShape) ? `; class indices must be i32: use labels.cast('i32')` : '';
    fail(op, `labels must be i32 class indices of shape ${fmtShape(hardShape)} or ${x.dtype} probabilities of shape ` +
      `${fmtShape(x.shape)} for logits ${fmtShape(x.shape)} (${x.dtype}); got ${labels.dtype} ${fmtShape(labels.shape)}${hint}`);
  }
  return true;
}

/** The error for a label outside [0, C) that is not the ignore index. */
export function labelRangeError(op: string, label: number, n: number, row: number, ignoreIndex: number | null): never {
  fail(op, `label ${label} is out of range for ${n} classes (sample ${row}; expected 0 <= label < ${n}` +
    `${ignoreIndex === null ? '' : ` or the ignoreIndex ${ignoreIndex}`})`);
}

// ---------------------------------------------------------------------------------------------
// CPU reference (float64 arithmetic whatever the storage type)

/** Per row: the max m, log Σ exp(x - m), and (soft) Σ p and Σ p (m - x). */
function rowStats(x: CpuKernelArgs<CrossEntropyAttrs>['inputs'][number]['data'], p: ArrayLike<number> | null,
  base: number, n: number, inner: number, logProbs: boolean) {
  let m = 0;
  let logS = 0;
  if (!logProbs) {
    m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner] - m);
    logS = Math.log(s);
  }
  let sumP = 0;
  let sumPD = 0;
  if (p) {
    for (let k = 0; k < n; k++) {
      const i = base + k * inner;
      sumP += p[i];
      sumPD += p[i] * (m - x[i]);
    }
  }
  return { m, logS, sumP, sumPD };
}

function crossEntropyCpu(grad: boolean, { inputs: [x, labels, gy], out, attrs }: CpuKernelArgs<CrossEntropyAttrs>): void {
  const op = grad ? 'crossEntropyGrad' : 'crossEntropy';
  const soft = labels.dtype !== 'i32';
  const logProbs = attrs.logProbs ?? false;
  const { outer, n, inner } = classLayout(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const r = o * inner + q;
      const base = o * n * inner + q;
      let label = -1;
      if (!soft) {
        label = labels.data[r];
        if (label === attrs.ignoreIndex) {
          if (grad) for (let k = 0; k < n; k++) out.data[base + k * inner] = 0;
          else out.data[r] = 0;
          continue;
        }
        if (label < 0 || label >= n) labelRangeError(op, label, n, r, attrs.ignoreIndex);
      }
      const { m, logS, sumP, sumPD } = rowStats(x.data, soft ? labels.data : null, base, n, inner, logProbs);
      if (!grad) {
        // lse - x_c = (m - x_c) + log s: no cancellation between two large numbers.
        out.data[r] = soft ? sumPD + logS * sumP : (m - x.data[base + label * inner]) + logS;
        continue;
      }
      const g = gy.data[r];
      const total = soft ? sumP : 1;
      for (let k = 0; k < n; k++) {
        const i = base + k * inner;
        const sm = logProbs ? 0 : Math.exp(x.data[i] - m - logS);
        const pk = soft ? labels.data[i] : k === label ? 1 : 0;
        out.data[i] = (sm * total - pk) * g;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WebGPU

function crossEntropyGpu(grad: boolean, { gpu, inputs, out, attrs }: GpuKernelArgs<CrossEntropyAttrs>): void {
  const [x, labels] = inputs;
  const { outer, n, inner } = classLayout(x.shape);
  const rows = outer * inner;
  const { path, workgroups } = rowKernel(gpu, rows, n);
  gpu.dispatch({
    label: grad ? 'crossEntropyGrad' : 'crossEntropy',
    shader: 'cross-entropy',
    defines: crossEntropyDefines(grad, labels.dtype !== 'i32', attrs.logProbs ?? false, path),
    uniforms: new Uniforms().u32(rows).u32(n).u32(inner).i32(attrs.ignoreIndex),
    bindings: [out.buffer, ...inputs.map((t) => t.buffer)],
    workgroups,
  });
}

const crossEntropyDefines = (GRAD: boolean, SOFT: boolean, LOG_PROBS: boolean, path: RowPath) =>
  ({ VALID_MEAN: false, GRAD, SOFT, LOG_PROBS, ...path, LABEL_T: SOFT ? 'f32' : 'i32' });
// One workgroup over all rows: the workgroup path of common/rows.
const validMeanDefines = (GRAD: boolean, SUBGROUPS: boolean) => ({ VALID_MEAN: true, GRAD, SOFT: false, LOG_PROBS: false, PER_THREAD: false, SUBGROUPS, LABEL_T: 'i32' });

const variants = (grad: boolean) => [false, true].flatMap((soft) => [false, true].flatMap((logProbs) =>
  ROW_PATHS.map((path) => ({ shader: 'cross-entropy', defines: crossEntropyDefines(grad, soft, logProbs, path) }))));

// ---------------------------------------------------------------------------------------------
// Rows

const hard = (shape: number[], classes: number): InputSpec => ({ shape, dtype: 'i32', intBelow: classes });
const soft = (shape: number[]): InputSpec => ({ shape, range: [0, 1] });
const attrs = (logProbs = false): CrossEntropyAttrs => ({ ignoreIndex: IGNORE_INDEX, logProbs });

/** Logits/label layouts shared by both rows; `gy` appends the upstream gradient for crossEntropyGrad. */
function samples(gy: boolean): Sample<CrossEntropyAttrs>[] {
  const withGy = (s: Sample<CrossEntropyAttrs>): Sample<CrossEntropyAttrs> =>
    (gy ? { ...s, inputs: [...s.inputs, { shape: lossShape(s.inputs[0].shape), range: [-1, 1] }] } : s);
  const base: Sample<CrossEntropyAttrs>[] = [
    { inputs: [{ shape: [4, 5], range: [-4, 4] }, hard([4], 5)], attrs: attrs() },
    { inputs: [{ shape: [3, 4], range: [-4, 4] }, soft([3, 4])], attrs: attrs(), note: 'soft labels' },
    { inputs: [{ shape: [2, 3, 4], range: [-4, 4] }, hard([2, 4], 3)], attrs: attrs(), note: 'class axis 1 of [N, C, d]' },
    { inputs: [{ shape: [2, 3, 2], range: [-4, 4] }, soft([2, 3, 2])], attrs: attrs(), note: 'soft, [N, C, d]' },
    { inputs: [{ shape: [5], range: [-4, 4] }, hard([], 5)], attrs: attrs(), note: 'unbatched [C]' },
    { inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'i32', values: [1, -100, 0, 2] }], attrs: attrs(), note: 'ignoreIndex -100' },
    { inputs: [{ shape: [2, 3], values: [1000, 1001, 1002, -1000, -1001, -1002] }, { shape: [2], dtype: 'i32', values: [0, 2] }],
      attrs: attrs(), note: 'large logits' },
    { inputs: [{ shape: [2, 300], range: [-4, 4] }, hard([2], 300)], attrs: attrs(), note: 'workgroup path, every lane' },
    { inputs: [{ shape: [2, 70], range: [-4, 4] }, soft([2, 70])], attrs: attrs(), note: 'soft, workgroup path' },
    { inputs: [{ shape: [4, 5], range: [-4, 0] }, hard([4], 5)], attrs: attrs(true), note: 'logProbs (nll)' },
    { inputs: [{ shape: [2, 3, 2], range: [-4, 0] }, soft([2, 3, 2])], attrs: attrs(true), note: 'logProbs, soft' },
    { inputs: [{ shape: [2, 80], range: [-4, 0] }, { shape: [2], dtype: 'i32', values: [79, -100] }], attrs: attrs(true),
      note: 'logProbs, workgroup path, ignoreIndex' },
  ];
  return base.map(withGy);
}

function infer([x, labels]: TensorMeta[], _attrs: CrossEntropyAttrs) {
  checkLabels('crossEntropy', x, labels);
  return { shape: lossShape(x.shape), dtype: x.dtype };
}

/** gy [N, d...] broadcast against logits [N, C, d...]: a 1 inserted at the class axis. */
const perClass = (gy: Tensor, xShape: readonly number[]) => gy.unsqueeze(classLayout(xShape).axis);

/** Per-sample softmax cross-entropy (or nll with `logProbs`): logits [N, C, ...] and labels → losses [N, ...]. */
export const crossEntropy: OpDef<CrossEntropyAttrs> = {
  name: 'crossEntropy',
  infer,
  cpu: (args) => crossEntropyCpu(false, args),
  webgpu: (args) => crossEntropyGpu(false, args),
  // d loss / d x = (softmax(x) Σp - p) gy (fused kernel); d loss / d p_c = (lse - x_c) gy = -logSoftmax(x)_c gy
  // (logProbs: -x_c gy). Hard labels carry no gradient.
  vjp: ({ inputs: [x, labels], attrs: a }, gy) => {
    const gx = apply(crossEntropyGrad, [x, labels, gy], a);
    if (labels.dtype === 'i32') return [gx, null];
    const g = perClass(gy, x.shape);
    const logP = a.logProbs ? x : x.logSoftmax(classLayout(x.shape).axis);
    return [gx, logP.mul(g).neg()];
  },
  save: 'inputs',
  shaderVariants: variants(false),
  samples: samples(false),
};

/** crossEntropy's input gradient (softmax(x) Σp - p) · gy, one fused kernel; differentiable again with ops. */
export const crossEntropyGrad: OpDef<CrossEntropyAttrs> = {
  name: 'crossEntropyGrad',
  infer: ([x, labels, gy], attrs) => {
    infer([x, labels], attrs);
    const want = lossShape(x.shape);
    if (!gy || gy.dtype !== x.dtype || !shapesEqual(gy.shape, want)) {
      fail('crossEntropyGrad', `gy must be ${x.dtype} ${fmtShape(want)} for logits ${fmtShape(x.shape)}, got ${gy ? `${gy.dtype} ${fmtShape(gy.shape)}` : 'nothing'}`);
    }
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: (args) => crossEntropyCpu(true, args),
  webgpu: (args) => crossEntropyGpu(true, args),
  // The output is G = (S P - p) g per row, S = softmax(x), P = Σ_c p_c (hard: 1, or 0 on ignored
  // rows, where p = onehot is 0 too), g = gy. For an upstream V:
  //   d/dx:  g P S ⊙ (V - Σ_c V_c S_c)          (the softmax Jacobian-vector product, scaled by g P)
  //   d/dgy: Σ_c V_c (S_c P - p_c)              (G / g, from the op itself with gy = 1)
  //   d/dp:  g (Σ_c V_c S_c - V_j)              (soft labels)
  // logProbs: G = -p g does not depend on x; d/dp = -V g.
  vjp: ({ inputs: [x, labels, gy], attrs: a }, v) => {
    const axis = classLayout(x.shape).axis;
    const g = perClass(gy, x.shape);
    const unit = apply(crossEntropyGrad, [x, labels, onesLike(gy)], a);
    const ggy = v.mul(unit).sum(axis);
    const isSoft = labels.dtype !== 'i32';
    if (a.logProbs) return [null, isSoft ? v.mul(g).neg() : null, ggy];
    const s = x.softmax(axis);
    const vs = v.mul(s).sum(axis, true);
    const total = isSoft ? labels.sum(axis, true) : perClass(labels.ne(a.ignoreIndex).cast(x.dtype), x.shape);
    const gx = s.mul(v.sub(vs)).mul(g.mul(total));
    return [gx, isSoft ? vs.sub(v).mul(g) : null, ggy];
  },
  save: 'inputs',
  shaderVariants: variants(true),
  samples: samples(true),
};

// ---------------------------------------------------------------------------------------------
// The 'mean' reduction over the labels that count

/** validMean's attribute: labels equal to `ignoreIndex` are not counted. */
export interface ValidMeanAttrs {
  ignoreIndex: number;
}

function checkValidMean(op: string, values: TensorMeta, labels: TensorMeta | undefined): void {
  checkDtype(op, values, false);
  if (!labels || labels.dtype !== 'i32' || !shapesEqual(labels.shape, values.shape)) {
    fail(op, `labels must be i32 of the values' shape ${fmtShape(values.shape)}, got ${labels ? `${labels.dtype} ${fmtShape(labels.shape)}` : 'nothing'}`);
  }
}

function validMeanCpu(grad: boolean, { inputs: [a, b], out, attrs }: CpuKernelArgs<ValidMeanAttrs>): void {
  const [src, labels] = grad ? [b, a] : [a, b];
  let total = 0;
  let count = 0;
  labels.data.forEach((l, i) => {
    if (l === attrs.ignoreIndex) return;
    count++;
    if (!grad) total += src.data[i];
  });
  if (!grad) {
    out.data[0] = total / count;
    return;
  }
  labels.data.forEach((l, i) => { out.data[i] = l === attrs.ignoreIndex ? 0 : src.data[0] / count; });
}

function validMeanGpu(grad: boolean, { gpu, inputs: [a, b], out, attrs }: GpuKernelArgs<ValidMeanAttrs>): void {
  const [src, labels] = grad ? [b, a] : [a, b];
  gpu.dispatch({
    label: grad ? 'validMeanGrad' : 'validMean',
    shader: 'cross-entropy',
    defines: validMeanDefines(grad, workgroupSubgroups(gpu)),
    uniforms: new Uniforms().u32(numel(labels.shape)).u32(0).u32(0).i32(attrs.ignoreIndex),
    bindings: [out.buffer, src.buffer, labels.buffer],
    workgroups: [1],
  });
}

const validMeanSamples: Sample<ValidMeanAttrs>[] = [
  { inputs: [{ shape: [4] }, { shape: [4], dtype: 'i32', values: [1, -100, 3, 0] }], attrs: { ignoreIndex: -100 } },
  { inputs: [{ shape: [3, 2] }, hard([3, 2], 5)], attrs: { ignoreIndex: -100 }, note: 'none ignored' },
  { inputs: [{ shape: [600] }, { shape: [600], dtype: 'i32', values: Array.from({ length: 600 }, (_, i) => (i % 7 === 3 ? 2 : i % 5)) }],
    attrs: { ignoreIndex: 2 }, note: 'several rows per thread' },
];

/**
 * The mean of `values` over the elements whose label is not `ignoreIndex`: PyTorch's 'mean' for
 * cross_entropy / nll_loss with ignore_index (Σ loss / number of counted labels), in ONE dispatch
 * (the unfused form is sum, ne, sum, cast, div). NaN when every label is ignored, as PyTorch.
 */
export const validMean: OpDef<ValidMeanAttrs> = {
  name: 'validMean',
  infer: ([values, labels]) => {
    checkValidMean('validMean', values, labels);
    return { shape: [], dtype: values.dtype };
  },
  cpu: (args) => validMeanCpu(false, args),
  webgpu: (args) => validMeanGpu(false, args),
  // d/dvalues_i = [label_i counts] gy / count
  vjp: ({ inputs: [, labels], attrs }, gy) => [apply(validMeanGrad, [labels, gy], attrs), null],
  save: 'inputs',
  differentiable: [0],
  shaderVariants: [false, true].map((sub) => ({ shader: 'cross-entropy', defines: validMeanDefines(false, sub) })),
  samples: validMeanSamples,
};

/** validMean's gradient: [label_i counts] · gy / count, for labels [..] and a one-element gy. */
export const validMeanGrad: OpDef<ValidMeanAttrs> = {
  name: 'validMeanGrad',
  infer: ([labels, gy]) => {
    if (!gy || gy.shape.length !== 0) fail('validMeanGrad', `gy must be a scalar, got ${gy ? fmtShape(gy.shape) : 'nothing'}`);
    checkValidMean('validMeanGrad', { shape: labels.shape, dtype: gy.dtype }, labels);
    return { shape: [...labels.shape], dtype: gy.dtype };
  },
  cpu: (args) => validMeanCpu(true, args),
  webgpu: (args) => validMeanGpu(true, args),
  // Linear in gy: d/dgy = Σ_i V_i [label_i counts] / count = validMean(V).
  vjp: ({ inputs: [labels], attrs }, v) => [null, apply(validMean, [v, labels], attrs)],
  save: 'inputs',
  differentiable: [1],
  shaderVariants: [false, true].map((sub) => ({ shader: 'cross-entropy', defines: validMeanDefines(true, sub) })),
  samples: validMeanSamples.map((s) => ({ ...s, inputs: [s.inputs[1], { shape: [] }] })),
};
