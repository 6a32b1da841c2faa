/**
 * Shape and data-movement ops: reshape (a view), permute, slice and its adjoint padSlice, concat,
 * broadcastTo and copy. All but reshape run one strided-copy kernel (shaders/copy.wgsl).
 */
import type { DType } from '../dtype';
import { fail, fmtShape } from '../errors';
import { asRowsCols, broadcastShapes, broadcastStrides, contiguousStrides, inferReshape, mergeDims, normalizeAxis, numel, shapesEqual } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';
import type { TypedArray } from '../dtype';
import { checkSameDtype, MAX_RANK, unbroadcast } from './elementwise';
import type { BufferSlice, CpuKernelArgs, GpuKernelArgs, OpDef, TensorMeta } from './op-def';
import { padSliceRaw, sliceRaw } from './functional';

/** A strided view of a storage: element (i0, i1, ...) lives at offset + Σ i_d * strides[d]. */
export interface StridedView {
  offset: number;
  strides: number[];
}

/** Copies `shape` elements from a strided view of src into a strided view of dst (CPU). */
export function copyStridedCpu(dst: TypedArray, dv: StridedView, src: TypedArray, sv: StridedView, shape: readonly number[]): void {
  const n = numel(shape);
  if (n === 0) return;
  // Merge dims that are contiguous with their neighbour in both views; drop size-1 dims.
  const dims: number[] = [];
  const ds: number[] = [];
  const ss: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && ds[last] === dv.strides[d] * size && ss[last] === sv.strides[d] * size) {
      dims[last] *= size;
      ds[last] = dv.strides[d];
      ss[last] = sv.strides[d];
    } else {
      dims.push(size);
      ds.push(dv.strides[d]);
      ss.push(sv.strides[d]);
    }
  }
  if (dims.length === 0) {
    dst[dv.offset] = src[sv.offset];
    return;
  }
  const r = dims.length;
  const len = dims[r - 1];
  const dStep = ds[r - 1];
  const sStep = ss[r - 1];
  // Element assignment, TypedArray.set and fill convert values the same way (one rounding to dst's type).
  const run = dStep === 1 && sStep === 1 ? (d0: number, s0: number) => dst.set(src.subarray(s0, s0 + len), d0)
    : dStep === 1 && sStep === 0 ? (d0: number, s0: number) => dst.fill(src[s0], d0, d0 + len)
      : (d0: number, s0: number) => { for (let j = 0; j < len; j++, d0 += dStep, s0 += sStep) dst[d0] = src[s0]; };
  const idx = new Array<number>(r).fill(0);
  let so = sv.offset;
  let d0 = dv.offset;
  for (let i = 0; i < n; i += len) {
    run(d0, so);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      so += ss[d];
      d0 += ds[d];
      if (idx[d] < dims[d]) break;
      so -= ss[d] * idx[d];
      d0 -= ds[d] * idx[d];
      idx[d] = 0;
    }
  }
}

/** The same on the GPU: every 32-bit dtype is moved as raw u32 words. */
export function copyStridedGpu(gpu: WebGPUBackend, label: string, dst: BufferSlice, dv: StridedView, src: BufferSlice,
  sv: StridedView, shape: readonly number[], variant = COPY): void {
  if (shape.length > MAX_RANK) fail(label, `tensors of rank ${shape.length} exceed the WebGPU limit of ${MAX_RANK}`);
  const n = numel(shape);
  // Merged dimensions: a copy between contiguous views becomes 1-D (NOTE: the per-dimension loop
  // indexes uniform arrays and divides per element, which SwiftShader runs slowly).
  const merged = mergeDims(shape, sv.strides, dv.strides);
  const { shape: dims, strides: [srcStrides, dstStrides] } = merged;
  // One dimension left, the destination contiguous: an index linear in the thread (SwiftShader
  // then vectorizes the loads and stores; strided indices are 5x slower there even in 1-D).
  const linear = dims.length === 0 || (dims.length === 1 && dstStrides[0] === 1);
  const contiguous = linear && (dims.length === 0 || srcStrides[0] === 1);
  const scalarSource = linear && dims.length === 1 && srcStrides[0] === 0;
  const vec4 = contiguous && n % 4 === 0 && sv.offset % 4 === 0 && dv.offset % 4 === 0;
  // Otherwise up to two dimensions go as [rows, cols].
  const rowsCols = contiguous || scalarSource ? null : asRowsCols(merged);
  const walk = rowsCols ?? merged;
  const u = new Uniforms().u32(n).u32(walk.shape.length).u32(sv.offset).u32(dv.offset)
    .array(walk.shape, MAX_RANK).array(walk.strides[0], MAX_RANK).array(walk.strides[1], MAX_RANK);
  const defines = { ...variant.defines, CONTIGUOUS: contiguous, SCALAR_SOURCE: scalarSource, VEC4: vec4, RANK2: rowsCols !== null };
  gpu.dispatch({ label, shader: variant.shader, defines, uniforms: u, bindings: [dst, src], threads: vec4 ? n / 4 : n });
}

/** A copy variant with its index-path specializations (declared for the shader tests). */
export const copyVariants = (v: typeof COPY) => [
  v, { ...v, defines: { ...v.defines, CONTIGUOUS: true } }, { ...v, defines: { ...v.defines, SCALAR_SOURCE: true } },
  { ...v, defines: { ...v.defines, CONTIGUOUS: true, VEC4: true } }, { ...v, defines: { ...v.defines, RANK2: true } },
];

/** Fills a whole storage with one 32-bit pattern (zeros for padSlice); a vec4 per thread where n allows. */
export function fillGpu(gpu: WebGPUBackend, label: string, dst: BufferSlice, n: number, bits: number): void {
  const u = new Uniforms().u32(n).u32(bits >>> 0);
  const vec4 = n % 4 === 0;
  gpu.dispatch({ label, shader: FILL.shader, defines: { ...FILL.defines, VEC4: vec4 }, uniforms: u, bindings: [dst], threads: vec4 ? n / 4 : n });
}

/** Sources one pack dispatch takes (shaders/pack.wgsl binds 6: with dst, within the 8 storage buffers every device allows). */
export const PACK_SOURCES = 6;

/** One source of packGpu: a contiguous slice, and the element offset it goes to in the destination. */
export interface PackSource { src: BufferSlice; dstOffset: number; length: number }

/**
 * Copies (or, with `add`, adds as f32) up to PACK_SOURCES contiguous sources into dst, in one
 * dispatch; a vec4 per thread when every length and offset is a multiple of 4.
 */
export function packGpu(gpu: WebGPUBackend, label: string, dst: BufferSlice, sources: PackSource[], add: boolean): void {
  if (sources.length < 1 || sources.length > PACK_SOURCES) fail(label, `packs 1 to ${PACK_SOURCES} sources per dispatch, got ${sources.length}`);
  const vec4 = sources.every((s) => s.length % 4 === 0 && s.dstOffset % 4 === 0);
  const unit = vec4 ? 4 : 1;
  // Each source gets workgroups of its own (shaders/pack.wgsl): seg = [first workgroup, src offset, dst offset, length].
  const seg: number[] = [];
  let workgroups = 0;
  for (let j = 0; j < PACK_SOURCES; j++) {
    const s = sources[j];
    seg.push(s ? workgroups : 0xffffffff, 0, (s?.dstOffset ?? 0) / unit, (s?.length ?? 0) / unit);
    workgroups += s ? Math.ceil(s.length / unit / 256) : 0;
  }
  if (workgroups === 0) return;
  const bindings = [dst, ...Array.from({ length: PACK_SOURCES }, (_, j) => (sources[j] ?? sources[0]).src)];
  gpu.dispatch({
    label, shader: PACK.shader, defines: { ...PACK.defines, ADD_F32: add, VEC4: vec4 }, uniforms: new Uniforms().array(seg, 4 * PACK_SOURCES),
    bindings, workgroups: gpu.workgroupGrid(workgroups),
  });
}

/** The pack kernel's variants: copy or add, a word or a vec4 per element. */
const PACK = { shader: 'pack', defines: { ADD_F32: false, VEC4: false } };
export const PACK_VARIANTS = [false, true].flatMap((ADD_F32) => [false, true].map((VEC4) => ({ ...PACK, defines: { ...PACK.defines, ADD_F32, VEC4 } })));

/** The copy kernel's variants: a strided copy, a fill, and an in-place add (gradient accumulation). */
export const COPY = { shader: 'copy', defines: { FILL: false, ADD_F32: false, CONTIGUOUS: false, SCALAR_SOURCE: false, VEC4: false, RANK2: false } };
const FILL = { shader: 'copy', defines: { FILL: true, ADD_F32: false, CONTIGUOUS: false, SCALAR_SOURCE: false, VEC4: false, RANK2: false } };
/** The fill kernel's variants (a word or a vec4 per thread). */
export const FILL_VARIANTS = [FILL, { ...FILL, defines: { ...FILL.defines, VEC4: true } }];
export const ACCUMULATE = { shader: 'copy', defines: { FILL: false, ADD_F32: true, CONTIGUOUS: false, SCALAR_SOURCE: false, VEC4: false, RANK2: false } };

const contiguous = (shape: readonly number[]): StridedView => ({ offset: 0, strides: contiguousStrides(shape) });

/** Defines an op whose output is a strided read of input 0 into a contiguous tensor. */
function stridedRead<A>(name: string, view: (x: TensorMeta, attrs: A, outShape: readonly number[]) => StridedView) {
  return {
    shaderVariants: copyVariants(COPY),
    cpu: ({ inputs: [x], out, attrs }: CpuKernelArgs<A>) =>
      copyStridedCpu(out.data, contiguous(out.shape), x.data, view(x, attrs, out.shape), out.shape),
    webgpu: ({ gpu, inputs: [x], out, attrs }: GpuKernelArgs<A>) =>
      copyStridedGpu(gpu, name, out.buffer, contiguous(out.shape), x.buffer, view(x, attrs, out.shape), out.shape),
  };
}

// ---------------------------------------------------------------------------------------------

export interface ReshapeAttrs { shape: number[] }

export const reshape: OpDef<ReshapeAttrs> = {
  name: 'reshape',
  infer: ([x], { shape }) => ({ shape: inferReshape('reshape', x.shape, shape), dtype: x.dtype }),
  cpu: () => {},
  webgpu: () => {},
  shaderVariants: [],
  alias: true,
  // Reshape moves no values: the gradient is reshaped back.
  vjp: ({ inputs: [x] }, gy) => [gy.reshape([...x.shape])],
  samples: [
    { inputs: [{ shape: [3, 4] }], attrs: { shape: [2, 6] } },
    { inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [-1, 4] } },
  ],
};

export interface PermuteAttrs { axes: number[] }

export const permute: OpDef<PermuteAttrs> = {
  name: 'permute',
  infer: ([x], { axes }) => {
    const rank = x.shape.length;
    const norm = axes.map((a) => normalizeAxis('permute', a, rank));
    if (axes.length !== rank || new Set(norm).size !== rank) {
      fail('permute', `axes [${axes.join(', ')}] are not a permutation of the ${rank} axes of ${fmtShape(x.shape)}`);
    }
    return { shape: norm.map((a) => x.shape[a]), dtype: x.dtype };
  },
  ...stridedRead('permute', (x, { axes }) => {
    const s = contiguousStrides(x.shape);
    return { offset: 0, strides: axes.map((a: number) => s[a < 0 ? a + x.shape.length : a]) };
  }),
  // The inverse permutation carries the gradient back.
  vjp: ({ inputs: [x], attrs: { axes } }, gy) => {
    const inv = new Array<number>(x.rank);
    axes.forEach((a, i) => { inv[a < 0 ? a + x.rank : a] = i; });
    return [gy.permute(inv)];
  },
  samples: [
    { inputs: [{ shape: [3, 4] }], attrs: { axes: [1, 0] } },
    { inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [2, 0, 1] } },
    { inputs: [{ shape: [2, 3, 4, 2] }], attrs: { axes: [0, 2, 1, -1] } },
  ],
};

export interface SliceAttrs { begin: number[]; size: number[] }

/** Resolves negative begins and -1 sizes; checks bounds. */
export function sliceAttrs(x: TensorMeta, begin: number[], size?: number[]): SliceAttrs {
  const rank = x.shape.length;
  if (begin.length !== rank || (size && size.length !== rank)) {
    fail('slice', `begin [${begin}] and size [${size ?? ''}] must each have one entry per axis of ${fmtShape(x.shape)}`);
  }
  const b = begin.map((v, d) => (v < 0 ? v + x.shape[d] : v));
  const s = b.map((v, d) => (size && size[d] !== -1 ? size[d] : x.shape[d] - v));
  b.forEach((v, d) => {
    if (!Number.isInteger(v) || !Number.isInteger(s[d]) || v < 0 || s[d] < 0 || v + s[d] > x.shape[d]) {
      fail('slice', `begin [${begin}] with size [${size ?? 'to the end'}] falls outside ${fmtShape(x.shape)} on axis ${d}`);
    }
  });
  return { begin: b, size: s };
}

export const slice: OpDef<SliceAttrs> = {
  name: 'slice',
  infer: ([x], attrs) => ({ shape: sliceAttrs(x, attrs.begin, attrs.size).size, dtype: x.dtype }),
  ...stridedRead('slice', (x, { begin }) => {
    const s = contiguousStrides(x.shape);
    return { offset: begin.reduce((o: number, b: number, d: number) => o + b * s[d], 0), strides: s };
  }),
  // The slice's gradient lands in its window of a zero tensor of x's shape.
  vjp: ({ inputs: [x], attrs }, gy) => [padSliceRaw(gy, { begin: attrs.begin, shape: [...x.shape] })],
  samples: [
    { inputs: [{ shape: [4, 5] }], attrs: { begin: [1, 2], size: [2, 3] } },
    { inputs: [{ shape: [2, 3, 4] }], attrs: { begin: [0, 1, 0], size: [2, 2, 4] } },
  ],
};

export interface PadSliceAttrs { begin: number[]; shape: number[] }

/** The adjoint of slice: x placed at `begin` inside zeros of `shape`. */
export const padSlice: OpDef<PadSliceAttrs> = {
  name: 'padSlice',
  infer: ([x], { begin, shape }) => {
    if (begin.length !== x.shape.length || shape.length !== x.shape.length ||
      x.shape.some((d, i) => begin[i] < 0 || begin[i] + d > shape[i])) {
      fail('padSlice', `a block of shape ${fmtShape(x.shape)} at [${begin}] does not fit in ${fmtShape(shape)}`);
    }
    return { shape: [...shape], dtype: x.dtype };
  },
  cpu: ({ inputs: [x], out, attrs }) => {
    out.data.fill(0);
    copyStridedCpu(out.data, windowOf(out.shape, attrs.begin), x.data, contiguous(x.shape), x.shape);
  },
  webgpu: ({ gpu, inputs: [x], out, attrs }) => {
    fillGpu(gpu, 'padSlice', out.buffer, numel(out.shape), 0);
    copyStridedGpu(gpu, 'padSlice', out.buffer, windowOf(out.shape, attrs.begin), x.buffer, contiguous(x.shape), x.shape);
  },
  shaderVariants: [...FILL_VARIANTS, ...copyVariants(COPY)],
  // The adjoint of padding is slicing the window back out.
  vjp: ({ inputs: [x], attrs }, gy) => [sliceRaw(gy, { begin: attrs.begin, size: [...x.shape] })],
  samples: [{ inputs: [{ shape: [2, 3] }], attrs: { begin: [1, 0], shape: [4, 5] } }],
};

function windowOf(shape: readonly number[], begin: number[]): StridedView {
  const s = contiguousStrides(shape);
  return { offset: begin.reduce((o, b, d) => o + b * s[d], 0), strides: s };
}

export interface ConcatAttrs { axis: number }

export const concat: OpDef<ConcatAttrs> = {
  name: 'concat',
  infer: (xs, { axis }) => {
    if (xs.length === 0) fail('concat', 'needs at least one tensor');
    const rank = xs[0].shape.length;
    if (rank === 0) fail('concat', 'cannot concatenate 0-d tensors (scalars): reshape them to [1] first');
    const a = normalizeAxis('concat', axis, rank);
    checkSameDtype('concat', ...xs);
    for (const x of xs) {
      if (x.shape.length !== rank || x.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
        fail('concat', `shapes ${xs.map((t) => fmtShape(t.shape)).join(', ')} must match except along axis ${axis}`);
      }
    }
    const shape = [...xs[0].shape];
    shape[a] = xs.reduce((s, x) => s + x.shape[a], 0);
    return { shape, dtype: xs[0].dtype };
  },
  cpu: ({ inputs, out, attrs }) => {
    concatPieces(out.shape, inputs, attrs.axis).forEach(({ x, view }) =>
      copyStridedCpu(out.data, view, x.data, contiguous(x.shape), x.shape));
  },
  webgpu: ({ gpu, inputs, out, attrs }) => {
    concatPieces(out.shape, inputs, attrs.axis).forEach(({ x, view }) => {
      if (numel(x.shape) > 0) copyStridedGpu(gpu, 'concat', out.buffer, view, x.buffer, contiguous(x.shape), x.shape);
    });
  },
  shaderVariants: copyVariants(COPY),
  // Each input's gradient is its slice of gy.
  vjp: ({ inputs, attrs }, gy) => {
    const a = attrs.axis < 0 ? attrs.axis + gy.rank : attrs.axis;
    let start = 0;
    return inputs.map((x) => {
      const begin = gy.shape.map((_, d) => (d === a ? start : 0));
      start += x.shape[a];
      return sliceRaw(gy, { begin, size: [...x.shape] });
    });
  },
  samples: [
    { inputs: [{ shape: [2, 3] }, { shape: [4, 3] }], attrs: { axis: 0 } },
    { inputs: [{ shape: [2, 3] }, { shape: [2, 1] }, { shape: [2, 2] }], attrs: { axis: -1 } },
  ],
};

function concatPieces<X extends TensorMeta>(outShape: readonly number[], xs: X[], axis: number) {
  const a = axis < 0 ? axis + outShape.length : axis;
  const s = contiguousStrides(outShape);
  let start = 0;
  return xs.map((x) => {
    const view = { offset: start * s[a], strides: s };
    start += x.shape[a];
    return { x, view };
  });
}

export interface BroadcastToAttrs { shape: number[] }

export const broadcastTo: OpDef<BroadcastToAttrs> = {
  name: 'broadcastTo',
  infer: ([x], { shape }) => {
    const out = broadcastShapes('broadcastTo', x.shape, shape);
    if (!shapesEqual(out, shape)) fail('broadcastTo', `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    return { shape: [...shape], dtype: x.dtype };
  },
  ...stridedRead('broadcastTo', (x, _attrs, outShape) => ({ offset: 0, strides: broadcastStrides(x.shape, outShape) })),
  // Broadcasting copies values: their gradients add up.
  vjp: ({ inputs: [x] }, gy) => [unbroadcast(gy, x.shape)],
  samples: [
    { inputs: [{ shape: [3, 1] }], attrs: { shape: [2, 3, 4] } },
    { inputs: [{ shape: [] }], attrs: { shape: [2, 2] } },
  ],
};

/** A contiguous copy (clone); with `dtype` unchanged. Its vjp is the identity. */
export const copy: OpDef<Record<string, never>> = {
  name: 'copy',
  infer: ([x]) => ({ shape: [...x.shape], dtype: x.dtype as DType }),
  ...stridedRead('copy', (x) => contiguous(x.shape)),
  vjp: (_, gy) => [gy],
  samples: [{ inputs: [{ shape: [3, 4] }] }],
};
