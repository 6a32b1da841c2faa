/**
 * torch.index_select and its adjoint torch.index_add (into zeros). indexSelect picks whole slices of
 * x along one axis by a 1-D i32 index (repeats allowed): it is how wt.data gathers a mini-batch of
 * rows on the device. indexAdd sums slices back into their source positions; like scatterAdd it loops
 * over the index per output element instead of using atomics, so it is deterministic.
 */
import { fail, fmtShape } from '../errors';
import { normalizeAxis, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { apply } from '../runtime';
import { wgslType } from './elementwise';
import type { OpDef, TensorMeta } from './op-def';

/** The axis to select along. */
export interface IndexSelectAttrs { axis: number }
/** `shape`: the output's shape (the selected-from tensor's); the source has index.length along `axis`. */
export interface IndexAddAttrs { axis: number; shape: number[] }

/** out = x with the slices at index[k] along `axis` (index: 1-D i32, repeats allowed). */
export const indexSelect: OpDef<IndexSelectAttrs> = {
  name: 'indexSelect',
  infer: ([x, index], { axis }) => {
    const a = checkArgs('indexSelect', x, index, axis);
    if (x.shape[a] === 0 && index.shape[0] > 0) {
      fail('indexSelect', `cannot select ${index.shape[0]} entries from axis ${axis} of ${fmtShape(x.shape)}, which is empty`);
    }
    const shape = [...x.shape];
    shape[a] = index.shape[0];
    return { shape, dtype: x.dtype };
  },
  cpu: ({ inputs: [x, index], out, attrs }) => {
    const { outer, size, inner } = around(x.shape, normalizeAxis('indexSelect', attrs.axis, x.shape.length));
    const len = index.data.length;
    for (let k = 0; k < len; k++) {
      const j = index.data[k];
      if (!Number.isInteger(j) || j < 0 || j >= size) {
        fail('indexSelect', `index ${j} (at position ${k}) is out of range for axis ${attrs.axis} of size ${size}`);
      }
    }
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < len; k++) {
        const from = (o * size + index.data[k]) * inner;
        out.data.set(x.data.subarray(from, from + inner), (o * len + k) * inner);
      }
    }
  },
  webgpu: ({ gpu, inputs: [x, index], out, attrs }) => {
    const { size, inner } = around(x.shape, normalizeAxis('indexSelect', attrs.axis, x.shape.length));
    const n = numel(out.shape);
    gpu.dispatch({
      label: 'indexSelect', shader: 'index-select', defines: defines(x.dtype, false),
      uniforms: new Uniforms().u32(n).u32(size).u32(index.shape[0]).u32(inner),
      bindings: [out.buffer, x.buffer, index.buffer], threads: n,
    });
  },
  // Each selected slice's gradient flows back to the slice it was copied from; repeats sum.
  vjp: ({ inputs: [x, index], attrs }, gy) => [apply(indexAdd, [gy, index], { axis: attrs.axis, shape: [...x.shape] }), null],
  save: 'inputs',
  differentiable: [0],
  shaderVariants: ['f32', 'i32'].map((T) => ({ shader: 'index-select', defines: { T, ADD: false } })),
  samples: [
    { inputs: [{ shape: [5, 3] }, { shape: [4], dtype: 'i32', values: [1, 3, 1, 4] }], attrs: { axis: 0 }, note: 'repeated rows' },
    { inputs: [{ shape: [2, 4, 3] }, { shape: [5], dtype: 'i32', values: [3, 0, 3, 3, 1] }], attrs: { axis: 1 }, note: 'middle axis, repeats' },
    { inputs: [{ shape: [3, 4] }, { shape: [2], dtype: 'i32', values: [2, 0] }], attrs: { axis: -1 } },
    { inputs: [{ shape: [6], dtype: 'i32', intBelow: 100 }, { shape: [3], dtype: 'i32', values: [5, 0, 5] }], attrs: { axis: 0 }, note: 'i32 labels' },
  ],
};

/** zeros(shape) with g's slices k added at index[k] along `axis` (repeats sum). */
export const indexAdd: OpDef<IndexAddAttrs> = {
  name: 'indexAdd',
  infer: ([g, index], { axis, shape }) => {
    const a = checkArgs('indexAdd', { shape, dtype: g.dtype }, index, axis);
    const want = [...shape];
    want[a] = index.shape[0];
    if (g.shape.length !== want.length || g.shape.some((d, i) => d !== want[i])) {
      fail('indexAdd', `source ${fmtShape(g.shape)} does not match: adding along axis ${axis} of ${fmtShape(shape)} with ` +
        `an index of length ${index.shape[0]} needs a source of shape ${fmtShape(want)}`);
    }
    return { shape: [...shape], dtype: g.dtype };
  },
  cpu: ({ inputs: [g, index], out, attrs }) => {
    const { outer, size, inner } = around(out.shape, normalizeAxis('indexAdd', attrs.axis, out.shape.length));
    const len = index.data.length;
    out.data.fill(0);
    for (let k = 0; k < len; k++) {
      const j = index.data[k];
      if (j < 0 || j >= size) fail('indexAdd', `index ${j} (at position ${k}) is out of range for axis ${attrs.axis} of size ${size}`);
      for (let o = 0; o < outer; o++) {
        const to = (o * size + j) * inner;
        const from = (o * len + k) * inner;
        for (let i = 0; i < inner; i++) out.data[to + i] += g.data[from + i];
      }
    }
  },
  webgpu: ({ gpu, inputs: [g, index], out, attrs }) => {
    const { size, inner } = around(out.shape, normalizeAxis('indexAdd', attrs.axis, out.shape.length));
    const n = numel(out.shape);
    gpu.dispatch({
      label: 'indexAdd', shader: 'index-select', defines: defines(g.dtype, true),
      uniforms: new Uniforms().u32(n).u32(size).u32(index.shape[0]).u32(inner),
      bindings: [out.buffer, g.buffer, index.buffer], threads: n,
    });
  },
  // indexAdd is linear in g and its adjoint is indexSelect: out[j] = Σ_{k: index[k] = j} g[k].
  vjp: ({ inputs: [, index], attrs }, gy) => [apply(indexSelect, [gy, index], { axis: attrs.axis }), null],
  save: 'inputs',
  differentiable: [0],
  shaderVariants: ['f32', 'i32'].map((T) => ({ shader: 'index-select', defines: { T, ADD: true } })),
  samples: [
    { inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'i32', values: [1, 3, 1, 1] }], attrs: { axis: 0, shape: [5, 3] }, note: 'repeated indices' },
    { inputs: [{ shape: [2, 3, 2] }, { shape: [3], dtype: 'i32', values: [2, 0, 2] }], attrs: { axis: 1, shape: [2, 4, 2] }, note: 'middle axis' },
    { inputs: [{ shape: [3, 2] }, { shape: [2], dtype: 'i32', values: [0, 0] }], attrs: { axis: -1, shape: [3, 3] }, note: 'last axis, untouched columns' },
  ],
};

/** The WGSL defines of both kernels (the shader test compiles every combination listed above). */
function defines(dtype: TensorMeta['dtype'], add: boolean) {
  return { T: wgslType(dtype), ADD: add };
}

function checkArgs(op: string, x: TensorMeta, index: TensorMeta, axis: number): number {
  if (index.dtype !== 'i32') fail(op, `index must be i32, got ${index.dtype} ${fmtShape(index.shape)}`);
  if (index.shape.length !== 1) fail(op, `index must be 1-D, got shape ${fmtShape(index.shape)}`);
  if (x.shape.length === 0) fail(op, 'needs a tensor of rank >= 1, got a 0-d tensor');
  return normalizeAxis(op, axis, x.shape.length);
}

/** The shape seen as [outer, size, inner] around `axis`. */
function around(shape: readonly number[], axis: number) {
  return { outer: numel(shape.slice(0, axis)), size: shape[axis], inner: numel(shape.slice(axis + 1)) };
}
