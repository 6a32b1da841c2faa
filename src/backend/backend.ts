/** What the tensor runtime needs from a backend. Ops bring their own kernels (see ops/op-def.ts). */
import type { DType, TypedArray } from '../dtype';

/** A block of device memory. Refcounted: reshape views and graph nodes share it. */
export interface Storage {
  readonly backend: Backend;
  readonly byteLength: number;
  refs: number;
  /** Bumped by in-place writes (assign), so backward can detect saved values that changed. */
  version: number;
  /** CPU: an ArrayBuffer. WebGPU: a pooled GPUBuffer (possibly larger than byteLength). */
  readonly handle: unknown;
}

export type BackendName = 'cpu' | 'webgpu';

export interface BackendInfo {
  name: BackendName;
  /** Adapter description (vendor, architecture, device, description); null on the CPU. */
  adapter: Record<string, string> | null;
  /** True for software adapters (SwiftShader, llvmpipe, WARP) and the CPU backend. */
  isFallback: boolean;
  limits: Record<string, number>;
  features: string[];
  /** WebGPU: the matmul kernels this adapter can run (see `tuning().matmulKernel`). */
  matmulKernels?: string[];
  /** WebGPU: whether the device has subgroups (with subgroup_id), which reductions use (`tuning().subgroupReductions`). */
  subgroups?: boolean;
}

export interface Backend {
  readonly name: BackendName;
  readonly dtypes: readonly DType[];
  info(): BackendInfo;
  alloc(byteLength: number, label: string): Storage;
  upload(data: TypedArray, label: string): Storage;
  /** Frees device memory (for WebGPU: back to the pool once pending work is submitted). */
  free(storage: Storage): void;
  /** The `length` elements at `slice` (a storage and a byte offset into it). */
  read(slice: { storage: Storage; byteOffset: number }, dtype: DType, length: number): Promise<TypedArray>;
  /** Submits pending GPU work; with `minDispatches`, only when at least that many are waiting. */
  flush(minDispatches?: number): void;
  pooledBytes(): number;
  /** Releases the device (lets Node/Deno exit). */
  destroy(): void;
}
