/** Choosing and releasing backends, flushing, memory reports and grad mode: the session-level API. */
import { CpuBackend } from './backend/cpu/cpu-backend';
import type { BackendInfo, BackendName } from './backend/backend';
import { WebGPUBackend } from './backend/webgpu/webgpu-backend';
import { WebtrainError } from './errors';
import { getBackend, hasBackend, memoryStats, registerBackend, unregisterBackend, withGradMode } from './runtime';

export interface InitOptions {
  /** 'webgpu', 'cpu', or 'auto' (default): WebGPU when an adapter exists, else the CPU. */
  backend?: BackendName | 'auto';
}

/**
 * Starts a backend and makes it the default for new tensors; returns what it runs on. Call again
 * after a DeviceLostError to get a fresh device. The CPU backend is always available too
 * (`{backend: 'cpu'}` on creation functions).
 */
export async function init(opts: InitOptions = {}): Promise<BackendInfo> {
  const want = opts.backend ?? 'auto';
  if (!hasBackend('cpu')) registerBackend(new CpuBackend(), false);
  if (want === 'cpu') {
    registerBackend(getBackend('cpu'), true);
    return getBackend('cpu').info();
  }
  if (want !== 'webgpu' && want !== 'auto') throw new WebtrainError(`init: unknown backend '${want}' (expected 'webgpu', 'cpu' or 'auto')`);
  if (hasBackend('webgpu') && (getBackend('webgpu') as WebGPUBackend).isUsable()) {
    registerBackend(getBackend('webgpu'), true);
    return getBackend('webgpu').info();
  }
  try {
    const gpu = await WebGPUBackend.create();
    registerBackend(gpu, true);
    return gpu.info();
  } catch (e) {
    if (want === 'webgpu') throw e;
    registerBackend(getBackend('cpu'), true);
    return getBackend('cpu').info();
  }
}

/** The default backend: its name, adapter, whether it is a software fallback, and its limits. */
export function backend(): BackendInfo {
  return getBackend().info();
}

/** Releases the GPU device (so Node and Deno can exit); `init()` starts a new one. */
export function shutdown(): void {
  if (!hasBackend('webgpu')) return;
  getBackend('webgpu').destroy();
  unregisterBackend('webgpu');
}

/** Submits all encoded GPU work now (it is otherwise submitted at the next read back). */
export function flush(): void {
  for (const name of ['webgpu', 'cpu'] as const) if (hasBackend(name)) getBackend(name).flush();
}

/** Live tensors, the bytes they hold, and bytes kept in the GPU buffer pool for reuse. */
export function memory(): { numTensors: number; numBytes: number; pooledBytes: number } {
  const pooledBytes = hasBackend('webgpu') ? getBackend('webgpu').pooledBytes() : 0;
  return { ...memoryStats(), pooledBytes };
}

/**
 * Gives the GPU memory that webtrain keeps pooled for reuse (`memory().pooledBytes`) back to the
 * device, like PyTorch's `torch.cuda.empty_cache()`; live tensors are untouched. Returns the bytes
 * released. Useful between phases of a program that used large temporaries.
 */
export async function emptyCache(): Promise<number> {
  return hasBackend('webgpu') ? (getBackend('webgpu') as WebGPUBackend).releasePooled() : 0;
}

/** GPU work counters since init: kernel dispatches, queue submits, pipelines compiled, buffers created. */
export function stats(): { dispatches: number; submits: number; pipelines: number; buffersCreated: number } {
  const zero = { dispatches: 0, submits: 0, pipelines: 0, buffersCreated: 0 };
  return hasBackend('webgpu') ? { ...(getBackend('webgpu') as WebGPUBackend).stats } : zero;
}

/**
 * The WebGPU backend's kernel choices, mutable: `matmulKernel` ('tiled': workgroup-memory tiles, the
 * default on GPUs; 'subgroup': registers shared through 4-lane subgroups, the default on software
 * adapters that have them, such as SwiftShader; 'untiled': the other software adapters; which ones
 * this adapter can run: `wt.backend().matmulKernels`), `matmulTile` (force one tile configuration of
 * the tiled kernel, e.g. one of `MATMUL_TILES`) and `matmulTable` (tiles by output size, as
 * `autotuneMatmul()` measures them); with neither, the tile is chosen per shape by a heuristic;
 * `splitK: false` keeps small outputs with a long K in one workgroup per tile; `reduceWorkgroups`
 * (on for GPUs) reduces long rows (sums, maxima, softmax, cross-entropy, norms) with a workgroup per
 * row instead of a thread, and `subgroupReductions` (on; used where the device has subgroups:
 * `wt.backend().subgroups`) combines a row's partial sums and maxima within subgroups there instead
 * of a tree in workgroup memory; `packGradients` (on for GPUs) writes an optimizer's gradients from
 * one backward with a dispatch per 6 parameters instead of one each.
 */
export function tuning(): WebGPUBackend['tuning'] {
  if (!hasBackend('webgpu')) throw new WebtrainError('tuning: no WebGPU backend (call `await wt.init()` on a machine with WebGPU first)');
  return (getBackend('webgpu') as WebGPUBackend).tuning;
}

/** Runs fn without recording gradients (evaluation, parameter updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with gradient recording on (inside a noGrad region). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
