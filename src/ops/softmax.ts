/** softmax and logSoftmax along one axis, numerically stable (the row max is subtracted first). */
import { fail } from '../errors';
import { normalizeAxis, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { checkDtype } from './elementwise';
import type { CpuKernelArgs, GpuKernelArgs, OpDef, Sample, TensorMeta } from './op-def';
import { ROW_PATHS, rowKernel, type RowPath } from './reduce';

export interface SoftmaxAttrs { axis: number }

/** x viewed as [outer, n, inner] around the softmax axis. */
function rows(shape: readonly number[], axis: number) {
  const a = normalizeAxis('softmax', axis, shape.length);
  return { outer: numel(shape.slice(0, a)), n: shape[a], inner: numel(shape.slice(a + 1)) };
}

function softmaxCpu(log: boolean, { inputs: [x], out, attrs }: CpuKernelArgs<SoftmaxAttrs>): void {
  const { outer, n, inner } = rows(x.shape, attrs.axis);
  const xd = x.data;
  const od = out.data;
  // exp(x - m) per row in float64, computed once and reused for the sum and the output.
  const e = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0, q = base; k < n; k++, q += inner) m = Math.max(m, xd[q]);
      let s = 0;
      for (let k = 0, q = base; k < n; k++, q += inner) {
        const v = Math.exp(xd[q] - m);
        e[k] = v;
        s += v;
      }
      if (log) {
        const logS = Math.log(s);
        for (let k = 0, q = base; k < n; k++, q += inner) od[q] = (xd[q] - m) - logS;
      } else {
        for (let k = 0, q = base; k < n; k++, q += inner) od[q] = e[k] / s;
      }
    }
  }
}

function softmaxGpu(log: boolean, { gpu, inputs: [x], out, attrs }: GpuKernelArgs<SoftmaxAttrs>): void {
  const { outer, n, inner } = rows(x.shape, attrs.axis);
  const rowCount = outer * inner;
  const { path, workgroups } = rowKernel(gpu, rowCount, n);
  gpu.dispatch({
    label: log ? 'logSoftmax' : 'softmax',
    shader: 'softmax',
    defines: softmaxDefines(log, path),
    uniforms: new Uniforms().u32(rowCount).u32(n).u32(inner),
    bindings: [out.buffer, x.buffer],
    workgroups,
  });
}

const softmaxDefines = (LOG: boolean, path: RowPath) => ({ T: 'f32', LOG, ...path });
const variants = (log: boolean) => ROW_PATHS.map((path) => ({ shader: 'softmax', defines: softmaxDefines(log, path) }));

/** The shape rule of softmax and logSoftmax (errors name the op that was called). */
const inferFor = (op: string) => ([x]: TensorMeta[], { axis }: SoftmaxAttrs) => {
  checkDtype(op, x, false);
  if (x.shape.length === 0) fail(op, 'needs a tensor of rank >= 1, got a scalar');
  normalizeAxis(op, axis, x.shape.length);
  return { shape: [...x.shape], dtype: x.dtype };
};

const samples: Sample<SoftmaxAttrs>[] = [
  { inputs: [{ shape: [3, 5], range: [-4, 4] }], attrs: { axis: -1 } },
  { inputs: [{ shape: [2, 4, 3], range: [-4, 4] }], attrs: { axis: 1 } },
  { inputs: [{ shape: [2, 300], range: [-4, 4] }], attrs: { axis: 1 }, note: 'workgroup path, every lane' },
  { inputs: [{ shape: [2, 3], values: [1000, 1001, 1002, -1000, -1001, -1002] }], attrs: { axis: 1 }, note: 'large logits' },
];

export const softmax: OpDef<SoftmaxAttrs> = {
  name: 'softmax',
  infer: inferFor('softmax'),
  cpu: (args) => softmaxCpu(false, args),
  webgpu: (args) => softmaxGpu(false, args),
  // d softmax: dx = y * (dy - sum(dy * y))
  vjp: ({ y, attrs }, gy) => [y.mul(gy.sub(gy.mul(y).sum(attrs.axis, true)))],
  save: 'output',
  shaderVariants: variants(false),
  samples,
};

export const logSoftmax: OpDef<SoftmaxAttrs> = {
  name: 'logSoftmax',
  infer: inferFor('logSoftmax'),
  cpu: (args) => softmaxCpu(true, args),
  webgpu: (args) => softmaxGpu(true, args),
  // d logSoftmax: dx = dy - exp(y) * sum(dy)
  vjp: ({ y, attrs }, gy) => [gy.sub(y.exp().mul(gy.sum(attrs.axis, true)))],
  save: 'output',
  shaderVariants: variants(true),
  samples,
};
