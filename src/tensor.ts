/** The user-facing tensor: a shape, a dtype, storage on one backend, and its place in the autograd graph. */
import type { Backend, BackendName, Storage } from './backend/backend';
import type { DType, TypedArray } from './dtype';
import { WebtrainError, fmtShape } from './errors';
import * as ops from './ops/functional';
import { backward, type BackwardOptions } from './autograd/backward';
import {
  beforeRead, currentCapture, dropData, dropGraph, getBackend, sliceOf, trackNewTensor, untrackDisposedTensor, uploadStorage, type Life,
} from './runtime';
import { numel } from './shape';

export type TensorLike = Tensor | number;
export type Axes = number | number[];

/**
 * @internal A parameter's gradient slot in an optimizer's arena (optim/arena.ts): backward adds into
 * it in place, and the arena may defer zeroing it until it is read.
 */
export interface GradSlot {
  /** The slot's tensor (a view of the arena), zeroed first if a zeroing is pending. */
  read(): Tensor;
  /**
   * Adds g (backward; a copy when the slot is pending zero), taking g over: it is written, then
   * disposed, by settle(), with the other gradients of the same backward.
   */
  add(g: Tensor): void;
  /** Writes the gradients added since the last settle (backward calls it once it has added them all). */
  settle(): void;
  /** Sets the gradient to g, or to zero for null. */
  set(g: Tensor | null): void;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly backend: Backend;
  /** @internal storage and graph references; see runtime.ts. */
  readonly life: Life;
  private _requiresGrad: boolean;
  private _grad: Tensor | null = null;
  private _gradSlot: GradSlot | null = null;
  /** The capture (ActiveCapture.id) during which `grad` was last set, 0 for none: see backward.ts. */
  private _gradSetIn = 0;
  private _disposed = false;

  /** @internal use wt.tensor(), wt.zeros()... */
  constructor(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType, requiresGrad = false, byteOffset = 0) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this._requiresGrad = requiresGrad;
    this.life = { storage, byteOffset, dataRefs: 1, graphRefs: 1, node: null };
    trackNewTensor(this);
  }

  get size(): number { return numel(this.shape); }
  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._disposed; }

  /** Whether gradients flow to this tensor. Settable on leaves (tensors no op produced). */
  get requiresGrad(): boolean { return this._requiresGrad; }
  set requiresGrad(v: boolean) {
    if (this.life.node && !v) throw new WebtrainError('requiresGrad: cannot turn off on a tensor computed from others; use detach()');
    if (v && this.dtype === 'i32') throw new WebtrainError(`requiresGrad: only float tensors can require gradients, this one is ${this.dtype}`);
    this._requiresGrad = v;
  }

  /**
   * Accumulated gradient of a leaf after backward(); set to null to drop it (disposes the old one).
   * A parameter an optimizer manages has a fixed gradient slot in its group's arena instead: `grad`
   * is that slot, backward adds into it in place, and setting null zeroes it.
   */
  get grad(): Tensor | null { return this._gradSlot ? this._gradSlot.read() : this._grad; }
  set grad(g: Tensor | null) {
    if (this._gradSlot) {
      this._gradSlot.set(g);
      return;
    }
    this._gradSetIn = currentCapture()?.id ?? 0;
    if (g === this._grad) return;
    this._grad?.dispose();
    this._grad = g;
  }

  /** @internal True when `grad` was set during the capture `id` (zeroed or replaced by the step itself). */
  gradSetDuring(id: number): boolean { return this._gradSetIn === id; }

  /** @internal The arena slot that receives this parameter's gradients (see optim/arena.ts). */
  get gradSlot(): GradSlot | null { return this._gradSlot; }
  set gradSlot(slot: GradSlot | null) {
    this._grad?.dispose();
    this._grad = null;
    this._gradSlot = slot;
  }

  /** True for tensors produced by an op that is recorded for autograd. */
  get isLeaf(): boolean { return this.life.node === null; }

  // --- elementwise (a number is accepted wherever a tensor is) ---
  add(y: TensorLike): Tensor { return ops.add(this, y); }
  sub(y: TensorLike): Tensor { return ops.sub(this, y); }
  mul(y: TensorLike): Tensor { return ops.mul(this, y); }
  div(y: TensorLike): Tensor { return ops.div(this, y); }
  pow(y: TensorLike): Tensor { return ops.pow(this, y); }
  maximum(y: TensorLike): Tensor { return ops.maximum(this, y); }
  minimum(y: TensorLike): Tensor { return ops.minimum(this, y); }
  eq(y: TensorLike): Tensor { return ops.eq(this, y); }
  ne(y: TensorLike): Tensor { return ops.ne(this, y); }
  lt(y: TensorLike): Tensor { return ops.lt(this, y); }
  le(y: TensorLike): Tensor { return ops.le(this, y); }
  gt(y: TensorLike): Tensor { return ops.gt(this, y); }
  ge(y: TensorLike): Tensor { return ops.ge(this, y); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  sign(): Tensor { return ops.sign(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  square(): Tensor { return ops.square(this); }
  reciprocal(): Tensor { return ops.reciprocal(this); }
  relu(): Tensor { return ops.relu(this); }
  leakyRelu(alpha = 0.01): Tensor { return ops.leakyRelu(this, alpha); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  gelu(): Tensor { return ops.gelu(this); }
  softplus(): Tensor { return ops.softplus(this); }
  erf(): Tensor { return ops.erf(this); }
  /** Converts the element type (f32 ↔ i32 truncates toward zero, like PyTorch). */
  cast(dtype: DType): Tensor { return ops.cast(this, dtype); }

  // --- linear algebra and reductions ---
  /** Matrix product with PyTorch's matmul semantics (1-D operands, batched, broadcast batch dims). */
  matmul(y: Tensor): Tensor { return ops.matmul(this, y); }
  sum(axis?: Axes, keepdim = false): Tensor { return ops.sum(this, axis, keepdim); }
  mean(axis?: Axes, keepdim = false): Tensor { return ops.mean(this, axis, keepdim); }
  /** Maximum values (no indices; see argmax). Gradient is shared evenly among ties, like torch.amax. */
  max(axis?: Axes, keepdim = false): Tensor { return ops.max(this, axis, keepdim); }
  min(axis?: Axes, keepdim = false): Tensor { return ops.min(this, axis, keepdim); }
  /** Index of the first maximum along `axis` (all elements, flattened, when omitted), as i32. */
  argmax(axis?: number, keepdim = false): Tensor { return ops.argmax(this, axis, keepdim); }
  softmax(axis = -1): Tensor { return ops.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return ops.logSoftmax(this, axis); }

  // --- shape ---
  reshape(shape: number[]): Tensor { return ops.reshape(this, shape); }
  flatten(): Tensor { return ops.reshape(this, [-1]); }
  /** Swaps two axes (default: the last two, i.e. the matrix transpose). */
  transpose(a = -2, b = -1): Tensor { return ops.transpose(this, a, b); }
  permute(axes: number[]): Tensor { return ops.permute(this, axes); }
  /** `size[i] = -1` takes everything from `begin[i]` to the end of that axis. */
  slice(begin: number[], size?: number[]): Tensor { return ops.slice(this, begin, size); }
  broadcastTo(shape: number[]): Tensor { return ops.broadcastTo(this, shape); }
  /** torch.gather: out[i][j] = x[index[i][j]][j] for axis 0 (index: i32, same rank as x). */
  gather(axis: number, index: Tensor): Tensor { return ops.gather(this, axis, index); }
  /** torch.index_select: the slices at `index` (1-D i32, repeats allowed) along `axis`; that axis gets index's length. */
  indexSelect(axis: number, index: Tensor): Tensor { return ops.indexSelect(this, axis, index); }
  squeeze(axis?: number): Tensor { return ops.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return ops.unsqueeze(this, axis); }

  // --- autograd ---
  /**
   * Backpropagates from this tensor, accumulating into the `.grad` of leaves that require grad.
   * `gy` defaults to 1 for a single-element tensor. With `createGraph` the backward ops are recorded
   * so the gradients can be differentiated again.
   */
  backward(gy?: Tensor, options: BackwardOptions = {}): void { backward(this, gy, options); }
  /** A tensor sharing this one's values but outside the graph. */
  detach(): Tensor { return ops.detach(this); }
  /** In-place copy of y's values into this tensor, outside the tape (e.g. a parameter update). */
  assign(y: TensorLike): this { ops.assign(this, y); return this; }

  // --- reading back (always async) ---
  /** The values as a flat typed array (a copy). */
  async data(): Promise<TypedArray> {
    this.checkAlive('data');
    // With wt.debug.checkNumerics on the GPU, the queued checks are read with the values and a
    // non-finite value found there rejects this read.
    const checks = beforeRead();
    if (checks === null) return this.backend.read(sliceOf(this), this.dtype, this.size);
    const [values] = await Promise.all([this.backend.read(sliceOf(this), this.dtype, this.size), checks]);
    return values;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new WebtrainError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** A copy on another backend. */
  async to(backend: BackendName): Promise<Tensor> {
    const target = getBackend(backend);
    if (target === this.backend) return ops.clone(this);
    const data = await this.data();
    return new Tensor(target, uploadStorage(target, data, 'to'), this.shape, this.dtype, false);
  }

  /** Frees this tensor's memory (kept alive only while a recorded graph still needs it) and its grad. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    untrackDisposedTensor(this);
    this._gradSlot = null; // the arena owns it
    this.grad = null;
    dropData(this.life);
    dropGraph(this.life);
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.backend.name}${this._requiresGrad ? ', requiresGrad' : ''})`;
  }

  private checkAlive(what: string): void {
    if (this._disposed || !this.life.storage) {
      throw new WebtrainError(`${what}: tensor of shape ${fmtShape(this.shape)} (${this.dtype}) was used after dispose()`);
    }
  }
}
