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

/**
 * Walks an index tensor (contiguous, of `shape`) in row-major order, one run of its last dim at a
 * time: run(i, base, step, len) for the elements i..i+len-1, whose target offsets in a tensor of
 * `strides` are base + j*step + index*strides[axis] (the axis's own coordinate comes from the index).
 */
function forEachIndexRow(shape: readonly number[], strides: readonly number[], axis: number,
  run: (i: number, base: number, step: number, len: number) => void): void {
  const r = shape.length;
  const n = numel(shape);
  if (n === 0) return;
  const len = shape[r - 1];
  const step = r - 1 === axis ? 0 : strides[r - 1];
  const w = (d: number) => (d === axis ? 0 : strides[d]);
  const idx = new Array<number>(r).fill(0);
  let base = 0;
  for (let i = 0; i < n; i += len) {
    run(i, base, step, len);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      base += w(d);
      if (idx[d] < shape[d]) break;
      base -= w(d) * shape[d];
      idx[d] = 0;
    }
  }
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
    const xd = x.data;
    const id = index.data;
    const od = out.data;
    if (x.shape.length === 0) { od[0] = xd[0]; return; } // a 0-d tensor has no axis to index
    const size = x.shape[a];
    forEachIndexRow(index.shape, xs, a, (i, base, step, len) => {
      for (let j = 0; j < len; j++) {
        const k = id[i + j];
        if (k < 0 || k >= size) fail('gather', `index ${k} is out of range for axis ${attrs.axis} of size ${size}`);
        od[i + j] = xd[base + j * step + k * xs[a]];
      }
    });
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
    const gd = g.data;
    const id = index.data;
    const od = out.data;
    od.fill(0);
    if (out.shape.length === 0) { od[0] = gd[0]; return; }
    forEachIndexRow(index.shape, os, a, (i, base, step, len) => {
      for (let j = 0; j < len; j++) od[base + j * step + id[i + j] * os[a]] += gd[i + j];
    });
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
