/**
 * The WebGPU backend: a size-class buffer pool, a pipeline cache, and ONE command encoder (one
 * compute pass) that every kernel is encoded into. Work is submitted at flush points: a read back,
 * `wt.flush()`, every SUBMIT_EVERY dispatches and at the end of a training step (so the GPU works
 * while JavaScript encodes the next), never per op.
 *
 * Buffer reuse. A freed buffer may still be read by work encoded but not yet submitted. Reusing it
 * as a later kernel's output is safe (dispatches run in encoding order), so such `recent` buffers
 * serve kernel outputs at once. Uploads use queue.writeBuffer, which runs BEFORE unsubmitted work:
 * they take only buffers freed before the last submit (`pool`), or new ones.
 */
import type { Backend, BackendInfo, Storage } from '../backend';
import type { DType, TypedArray } from '../../dtype';
import { DeviceLostError, GpuError, WebtrainError } from '../../errors';
import { acquireDevice, type AcquiredDevice } from './device';
import { DefinesMap, loadShader, shaderKey, type Defines } from './shader-loader';
import { KeyTrie } from './key-trie';
import type { Uniforms } from './uniforms';
import type { BufferSlice } from '../../ops/op-def';
import { MATMUL_KERNELS, type MatmulKernel, type MatmulTable, type MatmulTile } from '../../ops/matmul';

// GPUBufferUsage / GPUMapMode values (the globals don't exist in Node).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };
const SHADER_STAGE_COMPUTE = 0x4; // GPUShaderStage.COMPUTE, which Node does not define globally
const MAP_READ_MODE = 0x1;
const WORKGROUP_SIZE = 256;
const UNIFORM_ARENA_BYTES = 64 * 1024;
/**
 * Dispatches per submit: a long run of ops is submitted in pieces, so the GPU starts on them while
 * JavaScript encodes the rest (measured on an H100: a loop of 512³ matmuls otherwise ran encoding
 * and GPU work one after the other). A submit costs ~20 µs of host time there.
 */
export const SUBMIT_EVERY = 32;
/**
 * A training step (an optimizer update, a captured step's replay) is submitted when it ends if it
 * holds at least this many dispatches; smaller steps keep accumulating, since a submit per step
 * would cost more host time than their GPU work (H100: Adam over 10M parameters alone, 0.136 ->
 * 0.180 ms per step with a submit each).
 */
export const STEP_SUBMIT_MIN_DISPATCHES = 8;

export interface Dispatch {
  /** Op name, for error messages. */
  label: string;
  shader: string;
  defines: Defines;
  uniforms: Uniforms;
  /**
   * Storage buffers bound at @binding(1), @binding(2)... (binding 0 is the uniform struct); an
   * undefined entry leaves its binding number unused (a variant without that buffer).
   */
  bindings: (BufferSlice | undefined)[];
  /** Either a thread count (workgroups of 256, laid out in 2-D when > 65535) or explicit workgroups. */
  threads?: number;
  workgroups?: [number, number?, number?];
}

interface Arena {
  gpu: GPUBuffer;
  cpu: Uint8Array;
  used: number;
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly dtypes: readonly DType[] = ['f32', 'i32'];
  /** Counters for tests and benchmarks. */
  readonly stats = { dispatches: 0, submits: 0, pipelines: 0, buffersCreated: 0 };
  /**
   * Kernel variant choices for this adapter. GPUs run the tiled matmul. Software adapters
   * (SwiftShader) emulate workgroup barriers at a high cost, so there the matmul keeps no
   * workgroup-memory tiles: the subgroup kernel where subgroups are 4 lanes (SwiftShader's SIMD
   * width; ~3x the untiled kernel there), else the untiled one (6x the tiled one for 256x32x32).
   * Long rows (reductions, softmax, cross-entropy, norms; see rowsPerThread) take a workgroup per
   * row on GPUs (`reduceWorkgroups`; the lanes' partial sums and maxima combined through subgroup
   * operations where the device has them, `subgroupReductions`), one thread per row on software
   * adapters (barriers again). An optimizer arena's gradients from one backward are written by one
   * dispatch per 6 parameters on GPUs (`packGradients`: an eager step is host-bound there, every
   * dispatch costs), a vec4 copy each on software adapters (the pack kernel's choice among its
   * bindings costs more than the dispatches it saves: 10 ms against 1.8 for an MLP's 6 gradients).
   * Mutable so tests can run each variant on any adapter.
   */
  readonly tuning: {
    matmulKernel: MatmulKernel; matmulTile?: MatmulTile; matmulTable?: MatmulTable; splitK?: boolean;
    reduceWorkgroups: boolean; subgroupReductions: boolean; packGradients: boolean;
  };
  /** The device has the `subgroups` feature and WGSL's `subgroup_id` (subgroup kernels can run). */
  readonly subgroups: boolean;
  /** The matmul kernels this device can run ('subgroup' needs subgroups of exactly 4 invocations). */
  readonly matmulKernels: readonly MatmulKernel[];

  /** Free buffers by size class: freed before the last submit, and freed since. */
  private pool = new Map<number, GPUBuffer[]>();
  private recent = new Map<number, GPUBuffer[]>();
  private pooledByteCount = 0;
  /** Compiled pipelines with their explicit bind group layout (binding 0, the uniforms, at a dynamic offset). */
  private pipelines = new DefinesMap<CompiledPipeline>();
  /**
   * Bind groups by (pipeline, uniform arena, storage buffers and ranges). A training step binds the
   * same pooled buffers in the same order every step, so after the first step createBindGroup (a
   * third of the host time of a small dispatch) is skipped; the uniforms' offset is dynamic, so
   * new uniform values need no new group. Pooled buffers are never destroyed while the device
   * lives, so a cached group never refers to a dead buffer; the map is cleared when it grows large.
   */
  private bindGroups = new KeyTrie<GPUBindGroup>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatchesInEncoder = 0;
  private arenas: Arena[] = [];
  private freeArenas: Arena[] = [];
  /** The step being captured (captureStep): its dispatches, recorded as they run. */
  private capture: { records: CapturedDispatch[]; buffers: Set<GPUBuffer> } | null = null;
  /**
   * Buffers that captured steps read or write, with how many captures use each: never pooled while
   * a capture lives, since a replay writes them (a buffer reused by another tensor would be
   * overwritten). Freed ones wait in `pinnedFreed` until their last capture is released.
   */
  private pinned = new Map<GPUBuffer, number>();
  private pinnedFreed = new Set<GPUBuffer>();
  private lostReason: string | null = null;
  private asyncError: Error | null = null;
  private destroyed = false;
  private readonly uniformAlign: number;
  readonly maxWorkgroupsPerDimension: number;

  private constructor(readonly device: GPUDevice, private readonly adapterInfo: Record<string, string>,
    /** A CPU implementation (SwiftShader, llvmpipe): kernels pick variants without workgroup barriers. */
    readonly isSoftware: boolean, subgroups: AcquiredDevice['subgroups']) {
    const subgroupsOf4 = subgroups?.minSize === 4 && subgroups.maxSize === 4;
    this.matmulKernels = MATMUL_KERNELS.filter((k) => k !== 'subgroup' || subgroupsOf4);
    this.subgroups = subgroups !== null;
    this.tuning = { matmulKernel: !isSoftware ? 'tiled' : subgroupsOf4 ? 'subgroup' : 'untiled', reduceWorkgroups: !isSoftware, subgroupReductions: true, packGradients: !isSoftware };
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension; // a native getter: read once
    device.lost.then((info) => {
      if (this.destroyed) return;
      this.lostReason = `${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener?.('uncapturederror', (ev) => {
      const message = (ev as GPUUncapturedErrorEvent).error.message;
      // A symptom of an invalid pipeline or buffer: the error scope around its creation names the cause.
      if (/is invalid due to a previous error/.test(message)) return;
      this.asyncError ??= new GpuError(`WebGPU error: ${message}`);
    });
  }

  static async create(): Promise<WebGPUBackend> {
    const { device, info, isFallback, subgroups } = await acquireDevice();
    return new WebGPUBackend(device, info, isFallback, subgroups);
  }

  info(): BackendInfo {
    const limits: Record<string, number> = {};
    // GPUSupportedLimits' fields are prototype getters: enumerate them through the prototype.
    for (const k of Object.keys(Object.getPrototypeOf(this.device.limits) ?? {}).concat(Object.keys(this.device.limits))) {
      const v = (this.device.limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') limits[k] = v;
    }
    return { name: 'webgpu', adapter: this.adapterInfo, isFallback: this.isSoftware, limits, features: [...this.device.features],
      matmulKernels: [...this.matmulKernels], subgroups: this.subgroups };
  }

  // ------------------------------------------------------------------------------------------
  // Memory

  /** Memory for a kernel's output (written by encoded work, so recently freed buffers qualify). */
  alloc(byteLength: number, label: string): Storage {
    return this.take(byteLength, label, true);
  }

  upload(data: TypedArray, label: string): Storage {
    const s = this.take(data.byteLength, label, false);
    if (data.byteLength > 0) this.device.queue.writeBuffer(s.handle as GPUBuffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return s;
  }

  free(storage: Storage): void {
    if (this.destroyed || this.lostReason) return;
    const b = storage.handle as GPUBuffer;
    // Not even the capture in progress reuses its own buffers: a later upload into one (a constant
    // first made during the capture) would hold data that a replay overwrites and never restores.
    if (this.pinned.has(b)) {
      this.pinnedFreed.add(b);
      return;
    }
    pushTo(this.recent, b);
    this.pooledByteCount += b.size;
  }

  pooledBytes(): number {
    return this.pooledByteCount;
  }

  /**
   * Destroys every pooled buffer (memory no live tensor holds) once the GPU is done with the work
   * submitted so far; returns the bytes released. The pool is emptied at once, so allocations made
   * while waiting create fresh buffers; the bind-group cache, which names pooled buffers, is cleared.
   */
  async releasePooled(): Promise<number> {
    if (this.destroyed || this.lostReason) return 0;
    this.flush();
    const buffers = [...this.pool.values()].flat();
    this.pool.clear();
    this.pooledByteCount = 0;
    this.bindGroups.clear();
    await this.device.queue.onSubmittedWorkDone();
    let bytes = 0;
    for (const b of buffers) {
      bytes += b.size;
      b.destroy();
    }
    return bytes;
  }

  private take(byteLength: number, label: string, recentOk: boolean): Storage {
    this.checkUsable();
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (byteLength > max) {
      throw new WebtrainError(`${label}: a tensor of ${byteLength} bytes exceeds this device's maxStorageBufferBindingSize of ${max} bytes`);
    }
    const size = sizeClass(byteLength);
    // An upload that finds only in-flight buffers submits first, so they settle into the pool: a
    // loop that uploads a batch per step then reuses its buffers instead of allocating each step.
    if (!recentOk && !this.pool.get(size)?.length && this.recent.get(size)?.length) this.flush();
    let buffer = (recentOk ? this.recent.get(size)?.pop() : undefined) ?? this.pool.get(size)?.pop();
    if (buffer) this.pooledByteCount -= size;
    else buffer = this.createBuffer(size, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label);
    return { backend: this, byteLength, refs: 1, version: 0, handle: buffer };
  }

  private createBuffer(size: number, usage: number, label: string): GPUBuffer {
    this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({ size, usage, label });
    this.stats.buffersCreated++;
    this.device.popErrorScope().then((e) => {
      if (e) this.asyncError ??= new GpuError(`${label}: out of GPU memory allocating ${size} bytes (${e.message})`);
    });
    return buffer;
  }

  // ------------------------------------------------------------------------------------------
  // Kernels

  dispatch(d: Dispatch): void {
    this.checkUsable();
    const compiled = this.pipeline(d.label, d.shader, d.defines);
    const bytes = d.uniforms.bytes();
    const uniform = this.uniformSlot(bytes);
    if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
    const cached = this.bindGroups.from(true).key(compiled).key(uniform.buffer).key(bytes.byteLength);
    for (const s of d.bindings) {
      if (s) cached.key(s.storage.handle).key(s.byteOffset).key(s.byteLength);
      else cached.key(undefined);
    }
    let bindGroup = cached.get();
    if (!bindGroup) {
      bindGroup = this.createBindGroup(compiled.layout, uniform.buffer, bytes.byteLength, storageBindings(d.bindings));
      cached.set(bindGroup);
    }
    const [x, y = 1, z = 1] = d.workgroups ?? this.workgroupGrid(Math.ceil((d.threads ?? 0) / WORKGROUP_SIZE));
    if (x === 0 || y === 0 || z === 0) return;
    if (this.capture) this.record(compiled, bytes, d.bindings, [x, y, z]);
    this.encode(compiled.pipeline, bindGroup, uniform.offset, [x, y, z]);
  }

  /**
   * Lays out `n` workgroups as x·y within the device's per-dimension limit. Kernels number their
   * workgroup wg.x + wg.y · nwg.x and skip those past n (x·y may exceed n by less than a row).
   */
  workgroupGrid(n: number): [number, number] {
    const max = this.maxWorkgroupsPerDimension;
    if (n <= max) return [n, 1];
    const y = Math.ceil(n / max);
    return [Math.ceil(n / y), y];
  }

  /** Encodes one dispatch into the pass; past SUBMIT_EVERY of them, submits. */
  private encode(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, uniformOffset: number, [x, y, z]: [number, number, number]): void {
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, [uniformOffset]);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.dispatchesInEncoder >= SUBMIT_EVERY) this.flush();
  }

  /** A bind group: the uniforms at binding 0 (at a dynamic offset), then the storage bindings. */
  private createBindGroup(layout: GPUBindGroupLayout, uniforms: GPUBuffer, uniformBytes: number, storage: StorageBinding[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout,
      entries: [{ binding: 0, resource: { buffer: uniforms, offset: 0, size: uniformBytes } },
        ...storage.map(({ binding, buffer, offset, size }) => ({ binding, resource: { buffer, offset, size } }))],
    });
  }

  // ------------------------------------------------------------------------------------------
  // Step capture (src/capture.ts): record a step's dispatches once, replay them without JavaScript ops

  /** True while a step is being captured. */
  get capturing(): boolean {
    return this.capture !== null;
  }

  /** Runs fn with the recording paused: its dispatches run now and are left out of the captured step. */
  withoutRecording<T>(fn: () => T): T {
    const capture = this.capture;
    this.capture = null;
    try {
      return fn();
    } finally {
      this.capture = capture;
    }
  }

  /** Starts recording every dispatch (they still run as usual). */
  beginCapture(): void {
    this.checkUsable();
    if (this.capture) throw new WebtrainError('captureStep: a capture is already in progress (captures do not nest)');
    this.capture = { records: [], buffers: new Set() };
  }

  /**
   * Ends the recording: the dispatches' uniforms are copied into a buffer of their own and each gets
   * a bind group over it, so a replay is only setPipeline / setBindGroup / dispatchWorkgroups.
   */
  endCapture(): CapturedProgram {
    const { records, buffers } = this.capture ?? { records: [], buffers: new Set<GPUBuffer>() };
    this.capture = null;
    const align = this.uniformAlign;
    let size = 0;
    const offsets = records.map((r) => {
      const at = size;
      size = Math.ceil((at + r.uniforms.byteLength) / align) * align;
      return at;
    });
    const uniforms = this.createBuffer(Math.max(size, align), USAGE.UNIFORM | USAGE.COPY_DST, 'captured uniforms');
    const bytes = new Uint8Array(Math.max(size, align));
    records.forEach((r, i) => bytes.set(new Uint8Array(r.uniforms), offsets[i]));
    this.device.queue.writeBuffer(uniforms, 0, bytes);
    const steps = records.map((r, i) => ({
      pipeline: r.compiled.pipeline,
      bindGroup: this.createBindGroup(r.compiled.layout, uniforms, r.uniforms.byteLength, r.bindings),
      offset: offsets[i],
      workgroups: r.workgroups,
    }));
    return { steps, uniforms, buffers };
  }

  /** Encodes a captured step's dispatches again. */
  replay(program: CapturedProgram): void {
    this.checkUsable();
    if (!program.uniforms) throw new WebtrainError('captureStep: this captured step was disposed');
    for (const s of program.steps) this.encode(s.pipeline, s.bindGroup, s.offset, s.workgroups);
  }

  /** Releases a captured step: its buffers may be pooled again once no capture uses them. */
  releaseCapture(program: CapturedProgram): void {
    if (!program.uniforms) return;
    if (this.isUsable()) this.flush(); // replays already encoded still name the uniforms and buffers
    program.uniforms.destroy();
    program.uniforms = null;
    for (const b of program.buffers) {
      const n = (this.pinned.get(b) ?? 1) - 1;
      if (n > 0) {
        this.pinned.set(b, n);
        continue;
      }
      this.pinned.delete(b);
      if (this.pinnedFreed.delete(b) && !this.destroyed && !this.lostReason) {
        pushTo(this.recent, b);
        this.pooledByteCount += b.size;
      }
    }
  }

  private record(compiled: CompiledPipeline, uniforms: ArrayBuffer, bindings: (BufferSlice | undefined)[], workgroups: [number, number, number]): void {
    const slices = storageBindings(bindings);
    for (const { buffer } of slices) {
      if (!this.capture!.buffers.has(buffer)) {
        this.capture!.buffers.add(buffer);
        this.pinned.set(buffer, (this.pinned.get(buffer) ?? 0) + 1);
      }
    }
    this.capture!.records.push({ compiled, uniforms: uniforms.slice(0), bindings: slices, workgroups });
  }


  private pipeline(label: string, shader: string, defines: Defines) {
    const cached = this.pipelines.get(shader, defines);
    if (cached) return cached;
    const code = loadShader(shader, defines);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: `${label} (${shader})` });
    const layout = this.device.createBindGroupLayout({ entries: bindGroupLayoutEntries(code), label });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'main' }, label,
    });
    const entry: CompiledPipeline = { pipeline, layout };
    this.device.popErrorScope().then((e) => {
      if (!e) return;
      this.pipelines.delete(shader, defines);
      // Replaces any generic error that the invalid pipeline caused downstream: this one names the cause.
      this.asyncError = new GpuError(`${label}: the '${shader}' kernel failed to compile (${shaderKey(shader, defines)}): ${e.message}`);
    });
    this.pipelines.set(shader, defines, entry);
    this.stats.pipelines++;
    return entry;
  }

  private uniformSlot(bytes: ArrayBuffer): { buffer: GPUBuffer; offset: number } {
    let arena = this.arenas[this.arenas.length - 1];
    if (!arena || arena.used + bytes.byteLength > UNIFORM_ARENA_BYTES) {
      arena = this.freeArenas.pop() ?? {
        gpu: this.createBuffer(UNIFORM_ARENA_BYTES, USAGE.UNIFORM | USAGE.COPY_DST, 'uniforms'),
        cpu: new Uint8Array(UNIFORM_ARENA_BYTES),
        used: 0,
      };
      this.arenas.push(arena);
    }
    const offset = arena.used;
    arena.cpu.set(new Uint8Array(bytes), offset);
    arena.used = Math.ceil((offset + bytes.byteLength) / this.uniformAlign) * this.uniformAlign;
    return { buffer: arena.gpu, offset };
  }

  private computePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'webtrain' });
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'webtrain' });
    this.pass?.end();
    this.pass = null;
    return this.encoder;
  }

  /**
   * Submits everything encoded so far (uniforms first), then recycles freed buffers; with
   * `minDispatches`, only when at least that many dispatches are waiting.
   */
  flush(minDispatches = 0): void {
    if (this.destroyed) return;
    this.checkUsable();
    if (!this.encoder && this.recent.size === 0) return;
    if (this.dispatchesInEncoder < minDispatches) return;
    for (const a of this.arenas) {
      this.device.queue.writeBuffer(a.gpu, 0, a.cpu.buffer, 0, a.used);
      a.used = 0;
    }
    if (this.encoder) {
      this.device.queue.submit([this.endPass().finish()]);
      this.stats.submits++;
    }
    this.encoder = null;
    this.dispatchesInEncoder = 0;
    this.freeArenas.push(...this.arenas);
    this.arenas = [];
    for (const list of this.recent.values()) for (const b of list) pushTo(this.pool, b);
    this.recent.clear();
  }

  async read({ storage, byteOffset }: { storage: Storage; byteOffset: number }, dtype: DType, length: number): Promise<TypedArray> {
    this.checkUsable();
    const bytes = length * 4;
    const out = dtype === 'i32' ? new Int32Array(length) : new Float32Array(length);
    if (bytes === 0) return out;
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'read back' });
    this.endPass().copyBufferToBuffer(storage.handle as GPUBuffer, byteOffset, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(MAP_READ_MODE);
    } catch (e) {
      // A lost device fails the map; its `lost` promise may settle a moment later.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 100))]);
      this.checkUsable();
      throw new GpuError(`read back failed: ${(e as Error).message}`);
    }
    new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange(0, bytes)));
    staging.unmap();
    staging.destroy();
    this.checkUsable();
    return out;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
  }

  /** False once the device is lost or released. */
  isUsable(): boolean {
    return !this.destroyed && !this.lostReason;
  }

  private checkUsable(): void {
    if (this.destroyed) throw new DeviceLostError('the WebGPU device was released (wt.shutdown()); call `await wt.init()` again');
    if (this.lostReason) throw new DeviceLostError(`the WebGPU device was lost (${this.lostReason}); call \`await wt.init()\` to start again`);
    if (this.asyncError) {
      const e = this.asyncError;
      this.asyncError = null;
      throw e;
    }
  }
}

interface CompiledPipeline { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

/** A storage buffer range bound at `binding`. */
interface StorageBinding { binding: number; buffer: GPUBuffer; offset: number; size: number }

/** A dispatch's storage bindings: slot i at @binding(i + 1); an undefined slot leaves its number unused. */
function storageBindings(bindings: (BufferSlice | undefined)[]): StorageBinding[] {
  const out: StorageBinding[] = [];
  bindings.forEach((s, i) => {
    if (!s) return;
    const buffer = s.storage.handle as GPUBuffer;
    // Empty tensors still need a non-empty binding (their kernels read nothing).
    out.push({ binding: i + 1, buffer, offset: s.byteOffset, size: Math.min(Math.max(s.byteLength, 4), buffer.size - s.byteOffset) });
  });
  return out;
}

/** One dispatch as a capture saw it. */
interface CapturedDispatch {
  compiled: CompiledPipeline;
  uniforms: ArrayBuffer;
  bindings: StorageBinding[];
  workgroups: [number, number, number];
}

/** A captured step, ready to replay (uniforms is null once released). */
export interface CapturedProgram {
  steps: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; offset: number; workgroups: [number, number, number] }[];
  uniforms: GPUBuffer | null;
  buffers: Set<GPUBuffer>;
}

/** Bind groups kept before the cache starts over (a step binds a few dozen). */
const MAX_CACHED_BIND_GROUPS = 4096;

/**
 * The bind group layout of a kernel, read off its declarations: `var<uniform>` (binding 0, at a
 * dynamic offset into the uniform arena), `var<storage, read>` and `var<storage, read_write>`.
 * Explicit, unlike 'auto', so the uniforms can take a dynamic offset; every declared binding is
 * in it, used or not.
 */
function bindGroupLayoutEntries(code: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage)\s*(?:,\s*(read_write|read))?\s*>/g)) {
    const type: GPUBufferBindingType = m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'storage' : 'read-only-storage';
    entries.push({ binding: Number(m[1]), visibility: SHADER_STAGE_COMPUTE, buffer: { type, hasDynamicOffset: type === 'uniform' } });
  }
  return entries;
}

function pushTo(pool: Map<number, GPUBuffer[]>, b: GPUBuffer): void {
  const list = pool.get(b.size);
  if (list) list.push(b);
  else pool.set(b.size, [b]);
}

/** Size classes: powers of two with four steps per octave (at most ~19% slack), at least 256 bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

