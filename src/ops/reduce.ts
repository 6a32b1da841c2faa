/** Reductions over one axis, several axes or all: sum mean max min (values), argmax. */
import type { DType } from '../dtype';
import { fail, fmtShape } from '../errors';
import { contiguousStrides, mergeDims, normalizeAxes, normalizeAxis, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { checkDtype, MAX_RANK, wgslType } from './elementwise';
import type { CpuKernelArgs, GpuKernelArgs, OpDef, Sample, TensorMeta } from './op-def';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';

export interface ReduceAttrs {
  /** Normalized, sorted axes (all axes when the user gave none). */
  axes: number[];
  keepdim: boolean;
}

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'argmax';

export function reduceAttrs(op: string, x: TensorMeta, axis: number | readonly number[] | undefined, keepdim: boolean): ReduceAttrs {
  if (op === 'argmax' && Array.isArray(axis)) fail(op, 'takes one axis (or none for the flattened tensor)');
  return { axes: normalizeAxes(op, axis, x.shape.length), keepdim };
}

function reducedShape(x: TensorMeta, { axes, keepdim }: ReduceAttrs): number[] {
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Splits x's dims into kept and reduced, each with its sizes and input strides. */
function layout(shape: readonly number[], axes: number[]) {
  const strides = contiguousStrides(shape);
  const kept = { shape: [] as number[], strides: [] as number[] };
  const red = { shape: [] as number[], strides: [] as number[] };
  shape.forEach((d, i) => {
    const part = axes.includes(i) ? red : kept;
    part.shape.push(d);
    part.strides.push(strides[i]);
  });
  return { kept, red };
}

/** Every offset of a sub-grid, in row-major order. */
function offsets(shape: number[], strides: number[]): number[] {
  let out = [0];
  shape.forEach((d, i) => {
    const next: number[] = [];
    for (const o of out) for (let k = 0; k < d; k++) next.push(o + k * strides[i]);
    out = next;
  });
  return out;
}

function reduceCpu(kind: Kind, args: CpuKernelArgs<ReduceAttrs>): void {
  const { inputs: [x], attrs } = args;
  const block = contiguousBlock(x.shape, attrs.axes);
  if (block) reduceBlockCpu(kind, args, block.outer, block.red, block.inner);
  else reduceGeneralCpu(kind, args);
}

/**
 * x viewed as [outer, red, inner] when the reduced axes (ignoring axes of size 1) are adjacent:
 * the last axis, the first, all of them, or a middle run. Null when kept axes sit between them.
 */
function contiguousBlock(shape: readonly number[], axes: number[]): { outer: number; red: number; inner: number } | null {
  let first = -1;
  let last = -1;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 || !axes.includes(d)) continue;
    if (first < 0) first = d;
    last = d;
  }
  if (first < 0) return { outer: numel(shape), red: 1, inner: 1 };
  for (let d = first; d <= last; d++) if (shape[d] !== 1 && !axes.includes(d)) return null;
  return { outer: numel(shape.slice(0, first)), red: numel(shape.slice(first, last + 1)), inner: numel(shape.slice(last + 1)) };
}

/**
 * out[o*inner + i] = reduce over r of x[(o*red + r)*inner + i], r ascending: the order of the
 * general loop below, so sums round the same way. NaN wins max/min (argmax: the first NaN's index).
 */
function reduceBlockCpu(kind: Kind, { inputs: [x], out }: CpuKernelArgs<ReduceAttrs>, outer: number, red: number, inner: number): void {
  const xd = x.data;
  const od = out.data;
  const sum = kind === 'sum' || kind === 'mean';
  const isMin = kind === 'min';
  const init = isMin ? Infinity : -Infinity;
  if (inner === 1) {
    // Contiguous rows of `red` elements.
    for (let o = 0; o < outer; o++) {
      const base = o * red;
      if (sum) {
        let acc = 0;
        for (let r = 0; r < red; r++) acc += xd[base + r];
        od[o] = kind === 'mean' ? acc / red : acc;
        continue;
      }
      let acc = init;
      let best = 0;
      for (let r = 0; r < red; r++) {
        const v = xd[base + r];
        if (v !== v) { acc = v; best = r; break; } // NaN wins, as in PyTorch
        if (isMin ? v < acc : v > acc) { acc = v; best = r; }
      }
      od[o] = kind === 'argmax' ? best : acc;
    }
    return;
  }
  // Reduce whole rows of `inner` elements into a float64 accumulator row (column-wise reduction).
  const acc = new Float64Array(inner);
  const best = kind === 'argmax' ? new Int32Array(inner) : null;
  for (let o = 0; o < outer; o++) {
    const base = o * red * inner;
    if (sum) {
      acc.fill(0);
      for (let r = 0; r < red; r++) {
        const row = base + r * inner;
        for (let i = 0; i < inner; i++) acc[i] += xd[row + i];
      }
      const oo = o * inner;
      if (kind === 'mean') for (let i = 0; i < inner; i++) od[oo + i] = acc[i] / red;
      else for (let i = 0; i < inner; i++) od[oo + i] = acc[i];
      continue;
    }
    acc.fill(init);
    best?.fill(0);
    for (let r = 0; r < red; r++) {
      const row = base + r * inner;
      for (let i = 0; i < inner; i++) {
        const v = xd[row + i];
        const a = acc[i];
        // Take v if it beats the current value, or if it is the first NaN (a NaN current value stays).
        if ((isMin ? v < a : v > a) || (v !== v && a === a)) {
          acc[i] = v;
          if (best) best[i] = r;
        }
      }
    }
    const oo = o * inner;
    if (best) for (let i = 0; i < inner; i++) od[oo + i] = best[i];
    else for (let i = 0; i < inner; i++) od[oo + i] = acc[i];
  }
}

/** Any set of axes: every kept position walks the reduced offsets in row-major order. */
function reduceGeneralCpu(kind: Kind, { inputs: [x], out, attrs }: CpuKernelArgs<ReduceAttrs>): void {
  const { kept, red } = layout(x.shape, attrs.axes);
  const bases = offsets(kept.shape, kept.strides);
  const inner = offsets(red.shape, red.strides);
  const xd = x.data;
  const n = inner.length;
  for (let o = 0; o < bases.length; o++) {
    const base = bases[o];
    if (kind === 'sum' || kind === 'mean') {
      let acc = 0;
      for (let r = 0; r < n; r++) acc += xd[base + inner[r]];
      out.data[o] = kind === 'mean' ? acc / n : acc;
      continue;
    }
    let acc = kind === 'min' ? Infinity : -Infinity;
    let best = 0;
    for (let r = 0; r < n; r++) {
      const v = xd[base + inner[r]];
      if (Number.isNaN(v)) { acc = v; best = r; break; } // NaN wins, as in PyTorch
      else if (kind === 'min' ? v < acc : v > acc) { acc = v; best = r; }
    }
    out.data[o] = kind === 'argmax' ? best : acc;
  }
}

/** Rows of at most this many elements are reduced by one thread each. */
const PER_THREAD_MAX = 64;

/**
 * Whether a kernel that reduces rows of `n` elements (a sum or max, softmax's max and sum, a
 * cross-entropy's, a norm's mean and variance) gives each row one thread rather than a workgroup
 * (a tree in workgroup memory): short rows always; long rows too when `tuning().reduceWorkgroups` is
 * off (software adapters, where the tree's barriers cost far more than the lost parallelism: a
 * [1024, 256] bias gradient takes ~170 ms on SwiftShader with a workgroup per output, ~95 ms with
 * subgroup sums, ~3 ms with a thread per output; a [1024, 256] logSoftmax 532 ms with a workgroup).
 */
export function rowsPerThread(gpu: WebGPUBackend, n: number): boolean {
  return n <= PER_THREAD_MAX || !gpu.tuning.reduceWorkgroups;
}

/** The path defines of shaders/common/rows.wgsl: a thread per row, or a workgroup with or without subgroups. */
export interface RowPath {
  PER_THREAD: boolean;
  SUBGROUPS: boolean;
}

/** Every path, for the shader variant lists. */
export const ROW_PATHS: readonly RowPath[] = [
  { PER_THREAD: true, SUBGROUPS: false }, { PER_THREAD: false, SUBGROUPS: false }, { PER_THREAD: false, SUBGROUPS: true },
];

/** Whether a workgroup's lanes combine through subgroups (common/rows.wgsl's SUBGROUPS; reduce's sums). */
export function workgroupSubgroups(gpu: WebGPUBackend): boolean {
  return gpu.tuning.subgroupReductions && gpu.subgroups;
}

/**
 * How a kernel that reduces `rows` rows of `n` elements is run (reduce, and the kernels built on
 * shaders/common/rows.wgsl: softmax, cross-entropy, norms): its path (rowsPerThread; the workgroup
 * path combines through subgroups where the device has them and `tuning().subgroupReductions` is on)
 * and its grid (a thread per row in workgroups of 64, or a workgroup per row).
 */
export function rowKernel(gpu: WebGPUBackend, rows: number, n: number): { path: RowPath; workgroups: [number, number] } {
  const perThread = rowsPerThread(gpu, n);
  return {
    path: { PER_THREAD: perThread, SUBGROUPS: !perThread && workgroupSubgroups(gpu) },
    workgroups: gpu.workgroupGrid(perThread ? Math.ceil(rows / 64) : rows),
  };
}

export function reduceGpu(kind: Kind, { gpu, inputs: [x], out, attrs }: GpuKernelArgs<ReduceAttrs>): void {
  const full = layout(x.shape, attrs.axes);
  // Fewer dimensions, same offsets and the same row-major order of the reduced index (argmax):
  // the common reductions (a bias gradient, a row sum) become 1-D walks without div/mod.
  const merge = (part: { shape: number[]; strides: number[] }) => {
    const m = mergeDims(part.shape, part.strides);
    return { shape: m.shape, strides: m.strides[0] };
  };
  const kept = merge(full.kept);
  const red = merge(full.red);
  const outN = numel(kept.shape);
  const redN = numel(red.shape);
  if (x.shape.length > MAX_RANK) fail(kind, `tensors of rank ${x.shape.length} exceed the WebGPU limit of ${MAX_RANK}`);
  const { path, workgroups } = rowKernel(gpu, outN, redN);
  const u = new Uniforms().u32(outN).u32(redN).u32(kept.shape.length).u32(red.shape.length)
    .f32(kind === 'mean' ? 1 / redN : 1).f32(1) // scale, one
    .array(kept.shape, MAX_RANK).array(kept.strides, MAX_RANK).array(red.shape, MAX_RANK).array(red.strides, MAX_RANK);
  gpu.dispatch({
    label: kind,
    shader: 'reduce',
    // Only sums combine through subgroups here (the tree also carries argmax's index).
    defines: reduceDefines(kind, x.dtype, path.PER_THREAD, path.SUBGROUPS && (kind === 'sum' || kind === 'mean')),
    uniforms: u,
    bindings: [out.buffer, x.buffer],
    workgroups,
  });
}

function reduceDefines(kind: Kind, dtype: DType, perThread: boolean, SUBGROUPS = false) {
  return {
    SUBGROUPS,
    // Accumulate in the input's type: an i32 sum through f32 would lose exactness above 2^24.
    T: wgslType(dtype), OUT_T: kind === 'argmax' ? 'i32' : wgslType(dtype), PER_THREAD: perThread,
    LOWEST: dtype === 'i32' ? 'i32(-2147483647 - 1)' : '-3.4028234663852886e38',
    HIGHEST: dtype === 'i32' ? '2147483647' : '3.4028234663852886e38',
    SUM: kind === 'sum' || kind === 'mean', MAX: kind === 'max' || kind === 'argmax', MIN: kind === 'min',
    COMPENSATED: perThread && (kind === 'sum' || kind === 'mean') && dtype !== 'i32',
    ARGMAX: kind === 'argmax', MEAN: kind === 'mean', FLOAT: dtype !== 'i32',
  };
}

const samples: Sample<ReduceAttrs>[] = [
  { inputs: [{ shape: [3, 4], distinct: true }], attrs: { axes: [1], keepdim: false } },
  { inputs: [{ shape: [3, 4], distinct: true }], attrs: { axes: [0], keepdim: true } },
  { inputs: [{ shape: [2, 3, 4], distinct: true }], attrs: { axes: [0, 2], keepdim: false } },
  { inputs: [{ shape: [2, 3, 4], distinct: true }], attrs: { axes: [0, 1, 2], keepdim: false } },
  { inputs: [{ shape: [2, 300], distinct: true }], attrs: { axes: [1], keepdim: true }, note: 'workgroup path' },
  { inputs: [{ shape: [700], distinct: true }], attrs: { axes: [0], keepdim: false }, note: 'all, workgroup path' },
];

/** i32 inputs: exact beyond 2^24 (the GPU accumulates in i32), on both kernel paths. */
const intSamples: Sample<ReduceAttrs>[] = [
  { inputs: [{ shape: [2, 3], dtype: 'i32', values: [16777217, 1, 2, -3, 16777216, 5] }], attrs: { axes: [1], keepdim: false }, note: 'i32 beyond 2^24' },
  { inputs: [{ shape: [300], dtype: 'i32', intBelow: 1 << 20 }], attrs: { axes: [0], keepdim: false }, note: 'i32, workgroup path' },
];

/** max, min and argmax propagate NaN (argmax: the first NaN's index), on both kernel paths. */
const nanSamples: Sample<ReduceAttrs>[] = [
  { inputs: [{ shape: [2, 3], values: [1, NaN, 3, 4, 5, NaN] }], attrs: { axes: [1], keepdim: false }, noGrad: true, note: 'NaN' },
  { inputs: [{ shape: [300], values: Array.from({ length: 300 }, (_, i) => (i === 170 || i === 230 ? NaN : i % 17)) }],
    attrs: { axes: [0], keepdim: false }, noGrad: true, note: 'NaN, workgroup path' },
];

function reduction(kind: Kind, vjp: OpDef<ReduceAttrs>['vjp'], save?: OpDef['save']): OpDef<ReduceAttrs> {
  return {
    name: kind,
    infer: ([x], attrs) => {
      checkDtype(kind, x, kind !== 'mean');
      for (const a of attrs.axes) normalizeAxis(kind, a, x.shape.length);
      if (kind !== 'sum' && kind !== 'mean' && attrs.axes.some((a) => x.shape[a] === 0)) {
        fail(kind, `cannot reduce an empty dimension of shape ${fmtShape(x.shape)}`);
      }
      return { shape: reducedShape(x, attrs), dtype: kind === 'argmax' ? 'i32' : x.dtype };
    },
    cpu: (args) => reduceCpu(kind, args),
    webgpu: (args) => reduceGpu(kind, args),
    vjp,
    save,
    shaderVariants: (kind === 'mean' ? ['f32'] as const : ['f32', 'i32'] as const).flatMap((dtype) =>
      [false, true].map((perThread) => ({ shader: 'reduce', defines: reduceDefines(kind, dtype, perThread) }))).concat(
      (kind === 'sum' ? ['f32', 'i32'] as const : kind === 'mean' ? ['f32'] as const : []).map((dtype) => ({ shader: 'reduce', defines: reduceDefines(kind, dtype, false, true) }))),
    samples: kind === 'argmax'
      ? [samples[0], samples[1], samples[4], { inputs: [{ shape: [3, 4], distinct: true }], attrs: { axes: [0, 1], keepdim: false } }, ...nanSamples]
      : kind === 'mean' ? samples : [...samples, ...intSamples, ...(kind === 'sum' ? [] : nanSamples)],
  };
}

/** gy reshaped to keepdim form, then broadcast over x's shape. */
function expandBack(gy: import('../tensor').Tensor, xShape: readonly number[], attrs: ReduceAttrs) {
  const kept = xShape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
  return gy.reshape(kept).broadcastTo([...xShape]);
}

// d sum(x) = 1 per element: the upstream gradient broadcast back over the reduced axes.
export const sum = reduction('sum', ({ inputs: [x], attrs }, gy) => [expandBack(gy, x.shape, attrs)]);

// d mean(x) = 1/n per element.
export const mean = reduction('mean', ({ inputs: [x], attrs }, gy) => {
  const n = attrs.axes.reduce((p, a) => p * x.shape[a], 1);
  return [expandBack(gy, x.shape, attrs).div(n)];
});

// d max(x) goes to the elements equal to the max, shared evenly among ties (torch.amax's rule).
const extremumVjp: OpDef<ReduceAttrs>['vjp'] = ({ inputs: [x], y, attrs }, gy) => {
  const hit = x.eq(expandBack(y, x.shape, attrs));
  const count = hit.sum(attrs.axes, true);
  return [hit.mul(expandBack(gy, x.shape, attrs)).div(count.broadcastTo([...x.shape]))];
};
export const max = reduction('max', extremumVjp, 'both');
export const min = reduction('min', extremumVjp, 'both');

export const argmax = reduction('argmax', undefined);
