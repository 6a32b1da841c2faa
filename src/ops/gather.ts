/**
 * torch.gather along an axis (index: i32, same rank as x; out[i][j] = x[index[i][j]][j] for axis 0)
 * and its adjoint scatterAdd, which sums gradients into the gathered positions. scatterAdd loops over
 * the index axis per output element instead of using atomics: deterministic, and WGSL has no f32 atomics.
 */
import { fail, fmtShape } from '../errors';
import { contiguousStrides, normalizeAxis, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { MAX_RANK, wgslType } from './elementwise';
import type { OpDef, TensorMeta } from './op-def';
import { gatherRaw, scatterAddRaw } from './functional';

export interface GatherAttrs { axis: number }
export interface ScatterAddAttrs { axis: number; shape: number[] }

function checkIndex(op: string, x: TensorMeta, index: TensorMeta, axis: number): number {
  if (index.dtype !== 'i32') fail(op, `index must be i32, got ${index.dtype} ${fmtShape(index.shape)}`);
  const a = normalizeAxis(op, axis, x.shape.length);
  if (index.shape.length !== x.shape.length || index.shape.some((d, i) => i !== a && d > x.shape[i])) {
    fail(op, `index of shape ${fmtShape(index.shape)} does not fit ${fmtShape(x.shape)} along axis ${axis} ` +
      `(expected the same rank and index.shape[d] <= shape[d] for every other axis d)`);
  }
  return a;
}

function gpuParams(xShape: readonly number[], indexShape: readonly number[], axis: number, n: number) {
  if (xShape.length > MAX_RANK) fail('gather', `tensors of rank ${xShape.length} exceed the WebGPU limit of ${MAX_RANK}`);
  return new Uniforms().u32(n).u32(xShape.length).u32(axis).u32(0)
    .array(xShape, MAX_RANK).array(contiguousStrides(xShape), MAX_RANK)
    .array(indexShape, MAX_RANK).array(contiguousStrides(indexShape), MAX_RANK);
}

export const gather: OpDef<GatherAttrs> = {
  name: 'gather',
  infer: ([x, index], { axis }) => {
    checkIndex('gather', x, index, axis);
    return { shape: [...index.shape], dtype: x.dtype };
  },
  cpu: ({ inputs: [x, index], out, attrs }) => {
    const a = normalizeAxis('gather', attrs.axis, x.shape.length);
    const xs = contiguousStrides(x.shape);
    const is = contiguousStrides(index.shape);
    for (let i = 0; i < out.data.length; i++) {
      let off = 0;
      for (let d = 0; d < is.length; d++) {
        const k = Math.floor(i / is[d]) % index.shape[d];
        if (d === a) {
          const j = index.data[i];
          if (j < 0 || j >= x.shape[a]) fail('gather', `index ${j} is out of range for axis ${attrs.axis} of size ${x.shape[a]}`);
          off += j * xs[d];
        } else off += k * xs[d];
      }
      out.data[i] = x.data[off];
    }
  },
  webgpu: ({ gpu, inputs: [x, index], out, attrs }) => {
    const a = normalizeAxis('gather', attrs.axis, x.shape.length);
    const n = numel(index.shape);
    gpu.dispatch({
      label: 'gather', shader: 'gather', defines: { T: wgslType(x.dtype), SCATTER: false },
      uniforms: gpuParams(x.shape, index.shape, a, n), bindings: [out.buffer, x.buffer, index.buffer], threads: n,
    });
  },
  // The gathered values' gradients are summed back into their source positions.
  vjp: ({ inputs: [x, index], attrs }, gy) => [scatterAddRaw(gy, index, { axis: attrs.axis, shape: [...x.shape] }), null],
  save: 'inputs',
  differentiable: [0],
  shaderVariants: ['f32', 'i32'].map((T) => ({ shader: 'gather', defines: { T, SCATTER: false } })),
  samples: [
    { inputs: [{ shape: [4, 3] }, { shape: [4, 1], dtype: 'i32', intBelow: 3 }], attrs: { axis: 1 }, note: 'labels' },
    { inputs: [{ shape: [3, 4] }, { shape: [5, 4], dtype: 'i32', intBelow: 3 }], attrs: { axis: 0 }, note: 'repeated indices' },
    { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 2, 4], dtype: 'i32', intBelow: 3 }], attrs: { axis: -2 } },
  ],
};

export const scatterAdd: OpDef<ScatterAddAttrs> = {
  name: 'scatterAdd',
  infer: ([g, index], { axis, shape }) => {
    checkIndex('scatterAdd', { shape, dtype: g.dtype }, index, axis);
    if (g.shape.length !== index.shape.length || g.shape.some((d, i) => d !== index.shape[i])) {
      fail('scatterAdd', `values ${fmtShape(g.shape)} and index ${fmtShape(index.shape)} must have the same shape`);
    }
    return { shape: [...shape], dtype: g.dtype };
  },
  cpu: ({ inputs: [g, index], out, attrs }) => {
    const a = normalizeAxis('scatterAdd', attrs.axis, out.shape.length);
    const os = contiguousStrides(out.shape);
    const is = contiguousStrides(index.shape);
    out.data.fill(0);
    for (let i = 0; i < index.data.length; i++) {
      let off = 0;
      for (let d = 0; d < is.length; d++) {
        const k = d === a ? index.data[i] : Math.floor(i / is[d]) % index.shape[d];
        off += k * os[d];
      }
      out.data[off] += g.data[i];
    }
  },
  webgpu: ({ gpu, inputs: [g, index], out, attrs }) => {
    const a = normalizeAxis('scatterAdd', attrs.axis, out.shape.length);
    const n = numel(out.shape);
    gpu.dispatch({
      label: 'scatterAdd', shader: 'gather', defines: { T: wgslType(g.dtype), SCATTER: true },
      uniforms: gpuParams(out.shape, index.shape, a, n), bindings: [out.buffer, g.buffer, index.buffer], threads: n,
    });
  },
  // scatterAdd is linear in g; its adjoint is gather.
  vjp: ({ inputs: [, index], attrs }, gy) => [gatherRaw(gy, index, { axis: attrs.axis }), null],
  save: 'inputs',
  differentiable: [0],
  shaderVariants: [{ shader: 'gather', defines: { T: 'f32', SCATTER: true } }],
  samples: [
    { inputs: [{ shape: [5, 4] }, { shape: [5, 4], dtype: 'i32', intBelow: 3 }], attrs: { axis: 0, shape: [3, 4] } },
    { inputs: [{ shape: [4, 1] }, { shape: [4, 1], dtype: 'i32', intBelow: 3 }], attrs: { axis: 1, shape: [4, 3] } },
  ],
};
