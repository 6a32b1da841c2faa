/**
 * One op = one row of data (DESIGN.md section 1): its shape/dtype rule, its vjp written with ops,
 * what the vjp needs saved, its WebGPU kernel, its CPU reference loop and its test samples.
 */
import type { DType, TypedArray } from '../dtype';
import type { Tensor } from '../tensor';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';
import type { Storage } from '../backend/backend';

/** Shape and dtype of an input as the shape rule sees it. */
export interface TensorMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface CpuTensor extends TensorMeta {
  readonly data: TypedArray;
}

/** A tensor's bytes inside a storage (parameters live at 256-byte-aligned offsets in an arena). */
export interface BufferSlice {
  readonly storage: Storage;
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface GpuTensor extends TensorMeta {
  readonly buffer: BufferSlice;
}

export interface CpuKernelArgs<A> {
  inputs: CpuTensor[];
  out: CpuTensor;
  attrs: A;
}

export interface GpuKernelArgs<A> {
  gpu: WebGPUBackend;
  inputs: GpuTensor[];
  out: GpuTensor;
  attrs: A;
}

export interface VjpArgs<A> {
  /** The op's inputs (their data is readable only if `save` names them). */
  inputs: Tensor[];
  /** The op's output (readable only if `save` includes 'output'). */
  y: Tensor;
  attrs: A;
  /**
   * Which inputs need a gradient: a vjp may return null for the others and skip their work (the
   * first layer's input gradient is a whole matmul nobody reads).
   */
  needsGrad: boolean[];
}

/** A test case: input shapes and how to fill them. Used by the registry-driven op table. */
export interface Sample<A = unknown> {
  inputs: InputSpec[];
  attrs?: A;
  /** Skip the finite-difference / GPU gradient checks (e.g. at kinks); forward is still checked. */
  noGrad?: boolean;
  note?: string;
}

export interface InputSpec {
  shape: number[];
  dtype?: DType;
  /** Uniform random values in [lo, hi) (default [-2, 2]). */
  range?: [number, number];
  /** Explicit values (row-major), instead of random ones. */
  values?: number[];
  /** Random integers in [0, n): indices, labels. */
  intBelow?: number;
  /** Values kept at least this far from each other's ties (for max/min/relu kinks). */
  distinct?: boolean;
}

export interface ShaderVariant {
  shader: string;
  defines: Record<string, boolean | string | number>;
}

export interface OpDef<A = any> {
  name: string;
  /** Output shape and dtype; throws WebtrainError naming the op, the shapes and what was expected. */
  infer(inputs: TensorMeta[], attrs: A): { shape: number[]; dtype: DType };
  cpu(args: CpuKernelArgs<A>): void;
  webgpu(args: GpuKernelArgs<A>): void;
  /** Gradients w.r.t. each input (null where none), written with ops so they can be differentiated again. */
  vjp?(args: VjpArgs<A>, gy: Tensor): (Tensor | null)[];
  /** Which tensors' data the vjp reads; the graph keeps exactly these alive until backward. */
  save?: 'inputs' | 'output' | 'both';
  /** The output is a view sharing input 0's storage (reshape): no kernel runs. */
  alias?: boolean;
  /** Inputs that can carry gradient (default: all float inputs). */
  differentiable?: number[];
  /**
   * The kernel draws new random numbers on every call (its seed is a uniform): a captured step
   * (src/capture.ts) would replay the old ones, so captureStep refuses it.
   */
  random?: boolean;
  samples: Sample<A>[];
  /** Every (shader, defines) this op's WebGPU kernel can dispatch: the shader test compiles each. */
  shaderVariants: ShaderVariant[];
  /** Tolerance against the CPU reference, if looser than the default f32 one. */
  tolerance?: { atol: number; rtol: number };
}
