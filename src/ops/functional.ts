/**
 * The op functions behind the Tensor methods: argument handling (numbers become scalars, 1-D matmul
 * operands, axis defaults) on top of `apply(op, inputs, attrs)`.
 */
import type { DType } from '../dtype';
import { fail, fmtShape } from '../errors';
import { apply, cpuView, keep, sliceOf, uploadStorage } from '../runtime';
import { broadcastShapes, broadcastStrides, contiguousStrides, normalizeAxis, shapesEqual } from '../shape';
import { Tensor, type Axes, type TensorLike } from '../tensor';
import { toTypedArray } from '../dtype';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';
import * as B from './binary';
import * as C from './creation';
import * as G from './gather';
import * as IS from './index-select';
import * as M from './movement';
import * as R from './reduce';
import * as S from './softmax';
import * as U from './unary';
import { matmul as matmulOp, type MatmulAttrs } from './matmul';
import type { OpDef } from './op-def';
import type { ElementwiseAttrs } from './elementwise';

/**
 * Numbers used as operands become 0-d tensors, cached per backend: the same constants (0, 1, the
 * learning rate...) recur every step, and an upload per use would cost a queue write each time.
 * Evicting one is a plain dispose: graph nodes that still use it keep its data alive.
 */
const scalarCache = new WeakMap<object, Map<string, Tensor>>();
const SCALAR_CACHE_SIZE = 256;

function scalarLike(v: number, like: Tensor): Tensor {
  let cache = scalarCache.get(like.backend);
  if (!cache) scalarCache.set(like.backend, (cache = new Map()));
  const key = `${like.dtype}:${Object.is(v, -0) ? '-0' : v}`;
  let t = cache.get(key);
  if (t && !t.isDisposed) {
    cache.delete(key); // re-insert: the Map's order is the recency order
  } else {
    t = keep(new Tensor(like.backend, uploadStorage(like.backend, toTypedArray(like.dtype, [v]), 'scalar'), [], like.dtype));
    if (cache.size >= SCALAR_CACHE_SIZE) {
      const [oldest, old] = cache.entries().next().value!;
      cache.delete(oldest);
      old.dispose();
    }
  }
  cache.set(key, t);
  return t;
}

const asTensor = (a: TensorLike, like: Tensor) => (a instanceof Tensor ? a : scalarLike(a, like));

/** Applies an elementwise op to tensors and numbers. */
function elementwise(op: OpDef<ElementwiseAttrs>, args: TensorLike[], attrs: ElementwiseAttrs = {}): Tensor {
  const like = args.find((a): a is Tensor => a instanceof Tensor);
  if (!like) fail(op.name, 'needs at least one tensor argument (got only numbers)');
  return apply(op, args.map((a) => asTensor(a, like)), attrs);
}

// Unary
export const neg = (x: Tensor) => apply(U.neg, [x], {});
export const abs = (x: Tensor) => apply(U.abs, [x], {});
export const sign = (x: Tensor) => apply(U.sign, [x], {});
export const exp = (x: Tensor) => apply(U.exp, [x], {});
export const log = (x: Tensor) => apply(U.log, [x], {});
export const sqrt = (x: Tensor) => apply(U.sqrt, [x], {});
export const square = (x: Tensor) => apply(U.square, [x], {});
export const reciprocal = (x: Tensor) => apply(U.reciprocal, [x], {});
export const relu = (x: Tensor) => apply(U.relu, [x], {});
export const leakyRelu = (x: Tensor, alpha = 0.01) => apply(U.leakyRelu, [x], { alpha });
export const sigmoid = (x: Tensor) => apply(U.sigmoid, [x], {});
export const tanh = (x: Tensor) => apply(U.tanh, [x], {});
export const gelu = (x: Tensor) => apply(U.gelu, [x], {});
export const softplus = (x: Tensor) => apply(U.softplus, [x], {});
export const erf = (x: Tensor) => apply(U.erf, [x], {});
export const cast = (x: Tensor, dtype: DType) => (x.dtype === dtype ? clone(x) : apply(C.cast, [x], { dtype }));

// Binary (either side may be a number)
export const add = (a: TensorLike, b: TensorLike) => elementwise(B.add, [a, b]);
export const sub = (a: TensorLike, b: TensorLike) => elementwise(B.sub, [a, b]);
export const mul = (a: TensorLike, b: TensorLike) => elementwise(B.mul, [a, b]);
export const div = (a: TensorLike, b: TensorLike) => elementwise(B.div, [a, b]);
export const pow = (a: TensorLike, b: TensorLike) => elementwise(B.pow, [a, b]);
export const maximum = (a: TensorLike, b: TensorLike) => elementwise(B.maximum, [a, b]);
/** gy · act'(x) in one kernel, act' from the output y (relu: from y or x); used by vjps. */
export const reluGrad = (gy: Tensor, y: Tensor) => apply(B.reluGrad, [gy, y], {});
export const tanhGrad = (gy: Tensor, y: Tensor) => apply(B.tanhGrad, [gy, y], {});
export const sigmoidGrad = (gy: Tensor, y: Tensor) => apply(B.sigmoidGrad, [gy, y], {});
export const minimum = (a: TensorLike, b: TensorLike) => elementwise(B.minimum, [a, b]);
export const eq = (a: TensorLike, b: TensorLike) => elementwise(B.eq, [a, b]);
export const ne = (a: TensorLike, b: TensorLike) => elementwise(B.ne, [a, b]);
export const lt = (a: TensorLike, b: TensorLike) => elementwise(B.lt, [a, b]);
export const le = (a: TensorLike, b: TensorLike) => elementwise(B.le, [a, b]);
export const gt = (a: TensorLike, b: TensorLike) => elementwise(B.gt, [a, b]);
export const ge = (a: TensorLike, b: TensorLike) => elementwise(B.ge, [a, b]);

/** Values of a where mask is non-zero, else of b (all three broadcast together). */
export function where(mask: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  if (!like) fail('where', 'needs a tensor for a or b');
  return apply(B.where, [mask, asTensor(a, like), asTensor(b, like)], {});
}

/** torch.matmul: 1-D operands are promoted to matrices and the added dims removed again. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) fail('matmul', `operands must have rank >= 1, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.rank === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.shape[0], 1]) : b;
  let y: Tensor;
  try {
    y = apply(matmulOp, [a2, b2], {});
  } catch (e) {
    // Bad shapes: the reshaped 1-D operands are not left behind.
    for (const t of [a2, b2]) if (t !== a && t !== b) t.dispose();
    throw e;
  }
  if (a.rank > 1 && b.rank > 1) return y;
  const shape = y.shape.slice(0, -2);
  if (a.rank > 1) shape.push(y.shape[y.rank - 2]);
  if (b.rank > 1) shape.push(y.shape[y.rank - 1]);
  const out = y.reshape(shape);
  for (const t of [a2, b2, y]) if (t !== a && t !== b) t.dispose();
  return out;
}

/** The matmul kernel op with transposed-operand flags (rank >= 2 operands). */
export const matmulRaw = (a: Tensor, b: Tensor, attrs: MatmulAttrs) => apply(matmulOp, [a, b], attrs);

// Reductions
export const sum = (x: Tensor, axis?: Axes, keepdim = false) => apply(R.sum, [x], R.reduceAttrs('sum', x, axis, keepdim));
export const mean = (x: Tensor, axis?: Axes, keepdim = false) => apply(R.mean, [x], R.reduceAttrs('mean', x, axis, keepdim));
export const max = (x: Tensor, axis?: Axes, keepdim = false) => apply(R.max, [x], R.reduceAttrs('max', x, axis, keepdim));
export const min = (x: Tensor, axis?: Axes, keepdim = false) => apply(R.min, [x], R.reduceAttrs('min', x, axis, keepdim));
export const argmax = (x: Tensor, axis?: number, keepdim = false) => apply(R.argmax, [x], R.reduceAttrs('argmax', x, axis, keepdim));

export const softmax = (x: Tensor, axis = -1) => apply(S.softmax, [x], { axis });
export const logSoftmax = (x: Tensor, axis = -1) => apply(S.logSoftmax, [x], { axis });

// Shape and movement
export const reshape = (x: Tensor, shape: number[]) => apply(M.reshape, [x], { shape });
export const permute = (x: Tensor, axes: number[]) => apply(M.permute, [x], { axes });
export const broadcastTo = (x: Tensor, shape: number[]) =>
  (shapesEqual(x.shape, shape) ? clone(x) : apply(M.broadcastTo, [x], { shape }));
export const clone = (x: Tensor) => apply(M.copy, [x], {});

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  if (x.rank < 2) fail('transpose', `needs rank >= 2, got ${fmtShape(x.shape)}`);
  const axes = [...Array(x.rank).keys()];
  const i = normalizeAxis('transpose', a, x.rank);
  const j = normalizeAxis('transpose', b, x.rank);
  [axes[i], axes[j]] = [axes[j], axes[i]];
  return permute(x, axes);
}

export const slice = (x: Tensor, begin: number[], size?: number[]) => apply(M.slice, [x], M.sliceAttrs(x, begin, size));
export const sliceRaw = (x: Tensor, attrs: M.SliceAttrs) => apply(M.slice, [x], attrs);
export const padSliceRaw = (x: Tensor, attrs: M.PadSliceAttrs) => apply(M.padSlice, [x], attrs);
export const concat = (xs: Tensor[], axis = 0) => apply(M.concat, xs, { axis });

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return x.reshape(x.shape.filter((d) => d !== 1));
  const a = normalizeAxis('squeeze', axis, x.rank);
  return x.shape[a] === 1 ? x.reshape(x.shape.filter((_, i) => i !== a)) : x.reshape([...x.shape]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return x.reshape(shape);
}

export const gather = (x: Tensor, axis: number, index: Tensor) => apply(G.gather, [x, index], { axis });
export const gatherRaw = (x: Tensor, index: Tensor, attrs: G.GatherAttrs) => apply(G.gather, [x, index], attrs);
export const scatterAddRaw = (g: Tensor, index: Tensor, attrs: G.ScatterAddAttrs) => apply(G.scatterAdd, [g, index], attrs);
/** torch.index_select: the slices of x at `index` (1-D i32, repeats allowed) along `axis`. */
export const indexSelect = (x: Tensor, axis: number, index: Tensor) => apply(IS.indexSelect, [x, index], { axis });

/** A tensor sharing x's storage, outside the graph. */
export function detach(x: Tensor): Tensor {
  if (!x.life.storage || x.isDisposed) fail('detach', `tensor of shape ${fmtShape(x.shape)} was used after dispose()`);
  x.life.storage.refs++;
  return new Tensor(x.backend, x.life.storage, x.shape, x.dtype, false, x.life.byteOffset);
}

/**
 * Copies (or adds, with `add`) each part's tensor into the flat tensor dst at its element offset,
 * in place and outside the tape: an optimizer arena's gradients from one backward. On the GPU (f32)
 * with `tuning().packGradients`, PACK_SOURCES of them per dispatch; else a dispatch each.
 */
export function packInto(dst: Tensor, parts: { src: Tensor; offset: number }[], add: boolean): void {
  for (const { src, offset } of parts) {
    if (src.dtype !== dst.dtype || src.backend !== dst.backend || offset < 0 || offset + src.size > dst.size) {
      fail('packInto', `cannot put ${fmtShape(src.shape)} ${src.dtype} at offset ${offset} of ${fmtShape(dst.shape)} ${dst.dtype}`);
    }
  }
  if (dst.backend.name === 'cpu') {
    for (const { src, offset } of parts) {
      const out = cpuView(dst.life.storage!, dst.dtype, dst.size, dst.life.byteOffset).subarray(offset, offset + src.size);
      const from = cpuView(src.life.storage!, src.dtype, src.size, src.life.byteOffset);
      if (add) for (let i = 0; i < out.length; i++) out[i] += from[i];
      else out.set(from);
    }
  } else {
    if (dst.dtype !== 'f32') fail('packInto', `the GPU kernel packs f32 values, got ${dst.dtype}`);
    const gpu = dst.backend as WebGPUBackend;
    if (!gpu.tuning.packGradients) {
      for (const { src, offset } of parts) {
        M.copyStridedGpu(gpu, 'packInto', sliceOf(dst), { offset, strides: [1] }, sliceOf(src), { offset: 0, strides: [1] }, [src.size], add ? M.ACCUMULATE : M.COPY);
      }
    } else {
      // Parts whose length and offset are multiples of 4 go together as vec4s, the others apart.
      const aligned = (p: { src: Tensor; offset: number }) => p.src.size % 4 === 0 && p.offset % 4 === 0;
      for (const group of [parts.filter(aligned), parts.filter((p) => !aligned(p))]) {
        for (let k = 0; k < group.length; k += M.PACK_SOURCES) {
          const sources = group.slice(k, k + M.PACK_SOURCES).map(({ src, offset }) => ({ src: sliceOf(src), dstOffset: offset, length: src.size }));
          M.packGpu(gpu, 'packInto', sliceOf(dst), sources, add);
        }
      }
    }
  }
  dst.life.storage!.version++;
}

/** dst += src in place, outside the tape (same shape; f32 on the GPU). Accumulates gradients into their slots. */
export function accumulate(dst: Tensor, src: Tensor): void {
  if (!shapesEqual(dst.shape, src.shape) || dst.dtype !== src.dtype || dst.backend !== src.backend) {
    fail('accumulate', `cannot add ${fmtShape(src.shape)} ${src.dtype} into ${fmtShape(dst.shape)} ${dst.dtype}`);
  }
  const view = { offset: 0, strides: contiguousStrides(dst.shape) };
  if (dst.backend.name === 'cpu') {
    const out = cpuView(dst.life.storage!, dst.dtype, dst.size, dst.life.byteOffset);
    const add = cpuView(src.life.storage!, src.dtype, src.size, src.life.byteOffset);
    for (let i = 0; i < out.length; i++) out[i] += add[i];
  } else {
    if (dst.dtype !== 'f32') fail('accumulate', `the GPU kernel adds f32 values, got ${dst.dtype}`);
    M.copyStridedGpu(dst.backend as WebGPUBackend, 'accumulate', sliceOf(dst), view, sliceOf(src), view, dst.shape, M.ACCUMULATE);
  }
  dst.life.storage!.version++;
}

/** x = 0 in place, outside the tape: a fill, with no scalar source tensor. Zeroes gradient slots. */
export function zeroFill(x: Tensor): void {
  if (x.isDisposed || !x.life.storage) fail('zeroFill', `tensor of shape ${fmtShape(x.shape)} was used after dispose()`);
  if (x.backend.name === 'cpu') cpuView(x.life.storage, x.dtype, x.size, x.life.byteOffset).fill(0);
  else M.fillGpu(x.backend as WebGPUBackend, 'zeroFill', sliceOf(x), x.size, 0);
  x.life.storage.version++;
}

/** In-place copy of y (broadcast to x's shape) into x's storage, outside the tape. */
export function assign(x: Tensor, y: TensorLike): void {
  const src = asTensor(y, x);
  for (const [role, t] of [['target', x], ['source', src]] as const) {
    if (t.isDisposed || !t.life.storage) fail('assign', `${role} of shape ${fmtShape(t.shape)} was used after dispose()`);
  }
  if (src.backend !== x.backend) fail('assign', `source lives on ${src.backend.name}, target on ${x.backend.name}`);
  if (src.dtype !== x.dtype) fail('assign', `dtype ${src.dtype} cannot be assigned into ${x.dtype} (shape ${fmtShape(x.shape)}); use .cast()`);
  if (!shapesEqual(broadcastShapes('assign', src.shape, x.shape), x.shape)) {
    fail('assign', `a value of shape ${fmtShape(src.shape)} cannot be broadcast into ${fmtShape(x.shape)}`);
  }
  const dst = { offset: 0, strides: contiguousStrides(x.shape) };
  const from = { offset: 0, strides: broadcastStrides(src.shape, x.shape) };
  const storage = x.life.storage!;
  if (x.backend.name === 'cpu') {
    // A copy of the source first: it may share storage with the target (x.assign(x.detach())).
    const values = cpuView(src.life.storage!, src.dtype, src.size, src.life.byteOffset).slice();
    M.copyStridedCpu(cpuView(storage, x.dtype, x.size, x.life.byteOffset), dst, values, from, x.shape);
  } else {
    // A buffer cannot be bound for reading and writing in one dispatch: copy a shared source first.
    const from2 = src.life.storage === storage ? clone(src) : src;
    M.copyStridedGpu(x.backend as WebGPUBackend, 'assign', sliceOf(x), dst, sliceOf(from2), from, x.shape);
    if (from2 !== src) from2.dispose();
  }
  storage.version++;
}
