/**
 * wt.debug: where numbers go wrong, and where memory goes.
 *
 * Numerics. `checkNumerics(true)` counts the NaN, +Inf and -Inf elements of every floating output
 * of every op (vjps included: they run through the same apply()), and reports the FIRST op that
 * turned finite inputs into non-finite values, with its input and output shapes, the counts, and
 * whether it ran in the forward or the backward pass. An op whose inputs already held NaN/Inf only
 * propagates them and is never blamed (so values that were non-finite from the start, in the data
 * you uploaded, are not reported at all).
 *  - CPU: the check is synchronous; the op itself throws a NonFiniteError (or calls your handler).
 *  - WebGPU: reading a result back is async and apply() is sync, so the checks are QUEUED: a small
 *    kernel per op adds into atomic counters on the device, and the counters are read with the next
 *    read back (`await t.data()`, `item()`, `array()`: that read rejects with the report) or by
 *    `await wt.debug.flushNumerics()`. Ops after the offending one have run by then; the report still
 *    names the first one in execution order.
 * When off, apply() pays one comparison with null.
 *
 * Leaks. `trackAllocations(true)` records, for each tensor created from then on, the op that made it
 * and where (the stack trimmed to your frames); `liveTensors()` lists those not yet disposed and
 * `liveTensorGroups()` sums them by allocation site, largest first.
 */
import type { BackendName, Storage } from './backend/backend';
import type { WebGPUBackend } from './backend/webgpu/webgpu-backend';
import { Uniforms } from './backend/webgpu/uniforms';
import { bytesPerElement, type DType, type TypedArray } from './dtype';
import { fmtShape, WebtrainError } from './errors';
import type { OpDef, ShaderVariant } from './ops/op-def';
import { cpuView, isInBackward, setOpObserver, setReadObserver, setTensorObserver, sliceOf } from './runtime';
import type { Tensor } from './tensor';

// ---------------------------------------------------------------------------------------------
// Numerics

/** The first op that produced NaN or ±Inf from finite inputs. */
export interface NumericsReport {
  op: string;
  /** 'backward' when the op ran inside a vjp (during backward()). */
  phase: 'forward' | 'backward';
  backend: BackendName;
  dtype: DType;
  inputShapes: number[][];
  outputShape: number[];
  nan: number;
  posInf: number;
  negInf: number;
}

/** Thrown by checkNumerics (unless a handler is given): `report` says which op, where, and how many. */
export class NonFiniteError extends WebtrainError {
  constructor(readonly report: NumericsReport) {
    super(describeReport(report));
    this.name = 'NonFiniteError';
  }
}

export interface CheckNumericsOptions {
  /**
   * Called with the report instead of throwing a NonFiniteError. On the CPU it runs inside the op;
   * on WebGPU when the queued checks are read (a read back, or flushNumerics).
   */
  onNonFinite?: (report: NumericsReport) => void;
}

/**
 * Turns the per-op NaN/Inf check on or off (see the module comment: synchronous on the CPU, read
 * with the next read back on WebGPU). Turning it off keeps checks already queued: the next read
 * back or flushNumerics() still reports them.
 */
export function checkNumerics(on: boolean, opts: CheckNumericsOptions = {}): void {
  // Turning off keeps the handler for the reports still queued.
  if (on) numerics.handler = opts.onNonFinite ?? null;
  numerics.on = on;
  setOpObserver(on ? afterOp : null);
  closeWindow();
  setReadObserver(on || numerics.reading.length ? settleIfQueued : null);
}

/** Whether checkNumerics is on. */
export function isCheckingNumerics(): boolean {
  return numerics.on;
}

/**
 * Reads every queued WebGPU check and reports the first offending op (throwing a NonFiniteError,
 * or calling the handler and resolving with the report); resolves null when all were finite.
 */
export function flushNumerics(): Promise<NumericsReport | null> {
  return settle();
}

/** The kernel of the WebGPU check (the shader test compiles it). */
export const NUMERICS_SHADER_VARIANT: ShaderVariant = { shader: 'check-numerics', defines: {} };

// ---------------------------------------------------------------------------------------------
// Leaks

/** A tensor that was created while trackAllocations was on and is not disposed yet. */
export interface LiveTensor {
  /** Creation order (increasing). */
  id: number;
  /** The op that produced it; 'tensor' for uploads (wt.tensor, scalars), views and detach(). */
  op: string;
  shape: number[];
  dtype: DType;
  backend: BackendName;
  /** Bytes of its elements (views and reshapes share their storage: summing may count it twice). */
  bytes: number;
  requiresGrad: boolean;
  /** Where it was created, your frames only (absent when tracking without stacks). */
  stack?: string;
  /** The first line of `stack`: the allocation site. */
  site?: string;
}

/** Live tensors that share a key (allocation site, op or shape). */
export interface LiveTensorGroup {
  key: string;
  count: number;
  bytes: number;
  tensors: LiveTensor[];
}

/**
 * Starts (or stops) recording each new tensor's creating op and, with `stacks` (default true), the
 * stack of the code that created it. Tensors created before are not tracked. Stopping forgets all.
 */
export function trackAllocations(on: boolean, opts: { stacks?: boolean } = {}): void {
  tracking.tensors.clear();
  tracking.stacks = opts.stacks ?? true;
  setTensorObserver(on ? tensorObserver : null);
  tracking.on = on;
}

/**
 * The tracked tensors still alive (not disposed, not garbage collected), in creation order or
 * largest first. Throws unless trackAllocations(true) was called.
 */
export function liveTensors(opts: { sortBy?: 'id' | 'bytes' } = {}): LiveTensor[] {
  if (!tracking.on) throw new WebtrainError('liveTensors: call wt.debug.trackAllocations(true) first (tensors are tracked from then on)');
  const out: LiveTensor[] = [];
  for (const [id, entry] of tracking.tensors) {
    const t = entry.ref.deref();
    if (!t || t.isDisposed) {
      tracking.tensors.delete(id);
      continue;
    }
    out.push({ ...entry.info, requiresGrad: t.requiresGrad });
  }
  if (opts.sortBy === 'bytes') out.sort((a, b) => b.bytes - a.bytes || a.id - b.id);
  return out;
}

/** liveTensors() summed by allocation site (default), creating op or shape; most bytes first. */
export function liveTensorGroups(by: 'site' | 'op' | 'shape' = 'site'): LiveTensorGroup[] {
  const groups = new Map<string, LiveTensorGroup>();
  for (const t of liveTensors()) {
    const key = by === 'op' ? t.op : by === 'shape' ? `${fmtShape(t.shape)} ${t.dtype}` : t.site ?? '(no stack recorded)';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, count: 0, bytes: 0, tensors: [] }));
    g.count++;
    g.bytes += t.bytes;
    g.tensors.push(t);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
}

// ---------------------------------------------------------------------------------------------
// Numerics internals

interface Counts {
  nan: number;
  posInf: number;
  negInf: number;
}

/** One WebGPU check: the output of an op (with the slots of its inputs' checks) or an op's input. */
interface QueuedCheck {
  report: Omit<NumericsReport, 'nan' | 'posInf' | 'negInf'> | null;
  inputSlots: number[];
}

/**
 * The checks queued since the last read of the counters: `counts` holds [NaN, +Inf, -Inf] per slot.
 * `checked` remembers which storages a check of this window already covers (an op's output, read
 * by later ops as input), so only inputs from elsewhere (uploads, parameters) cost a check of
 * their own. Storages are fresh per op output, and in-place writes (assign, accumulate) bump the
 * version, so a match means the same values. (Fused optimizer kernels write parameters and their
 * state without a bump; parameters live in arena storages that no check of a window covers as a
 * whole, so they are checked as inputs each time.)
 */
interface Window {
  gpu: WebGPUBackend;
  counts: Storage;
  capacity: number;
  checks: QueuedCheck[];
  checked: Map<Storage, { version: number; byteOffset: number; size: number; slot: number }>;
}

type WindowResult = { report: NumericsReport | null } | { error: unknown };

/** Slots per window: a window's counters are read when it fills up (in the background) or at a read back. */
const WINDOW_SLOTS = 1024;

const numerics = {
  on: false,
  handler: null as ((report: NumericsReport) => void) | null,
  window: null as Window | null,
  /** Windows whose counters are being read, in order. */
  reading: [] as Promise<WindowResult>[],
};

function afterOp(op: OpDef, inputs: Tensor[], out: Tensor): void {
  // A view (reshape) shares its input's values: nothing new to check.
  if (op.alias || out.dtype === 'i32' || out.size === 0) return;
  try {
    if (out.backend.name === 'cpu') checkOnCpu(op, inputs, out);
    else queueGpuCheck(op, inputs, out);
  } catch (e) {
    out.dispose(); // the caller never gets the tensor
    throw e;
  }
}

function checkOnCpu(op: OpDef, inputs: Tensor[], out: Tensor): void {
  const counts = countNonFinite(valuesOf(out));
  if (counts === null) return;
  // Already non-finite inputs: this op only propagates them.
  if (inputs.some((t) => t.dtype !== 'i32' && countNonFinite(valuesOf(t)) !== null)) return;
  deliver({ ...describeOp(op, inputs, out), ...counts });
}

function valuesOf(t: Tensor): TypedArray {
  return cpuView(t.life.storage!, t.dtype, t.size, t.life.byteOffset);
}

/** NaN, +Inf and -Inf counts, or null when every value is finite (the common case: one pass). */
function countNonFinite(values: ArrayLike<number>): Counts | null {
  const n = values.length;
  let i = 0;
  // x - x is 0 for every finite x and NaN for NaN and ±Inf.
  while (i < n && values[i] - values[i] === 0) i++;
  if (i === n) return null;
  const c: Counts = { nan: 0, posInf: 0, negInf: 0 };
  for (; i < n; i++) {
    const v = values[i];
    if (v !== v) c.nan++;
    else if (v === Infinity) c.posInf++;
    else if (v === -Infinity) c.negInf++;
  }
  return c;
}

function describeOp(op: OpDef, inputs: Tensor[], out: Tensor): Omit<NumericsReport, 'nan' | 'posInf' | 'negInf'> {
  return {
    op: op.name,
    phase: isInBackward() ? 'backward' : 'forward',
    backend: out.backend.name,
    dtype: out.dtype,
    inputShapes: inputs.map((t) => [...t.shape]),
    outputShape: [...out.shape],
  };
}

function describeReport(r: NumericsReport): string {
  const inputs = r.inputShapes.length ? `finite inputs of shapes ${r.inputShapes.map(fmtShape).join(', ')}` : 'no inputs';
  return `checkNumerics: '${r.op}' (${r.phase}, ${r.backend}) produced ${r.nan} NaN, ${r.posInf} +Inf and ${r.negInf} -Inf ` +
    `in its ${r.dtype} output of shape ${fmtShape(r.outputShape)} from ${inputs}`;
}

function deliver(report: NumericsReport): void {
  if (numerics.handler) numerics.handler(report);
  else throw new NonFiniteError(report);
}

function queueGpuCheck(op: OpDef, inputs: Tensor[], out: Tensor): void {
  const gpu = out.backend as WebGPUBackend;
  const floatInputs = inputs.filter((t) => t.dtype !== 'i32' && t.size > 0);
  const w = windowWithRoom(gpu, floatInputs.length + 1);
  const inputSlots = floatInputs.map((t) => {
    const s = t.life.storage!;
    const seen = w.checked.get(s);
    if (seen && seen.version === s.version && seen.byteOffset === t.life.byteOffset && seen.size === t.size) return seen.slot;
    return dispatchCheck(w, t, { report: null, inputSlots: [] });
  });
  const slot = dispatchCheck(w, out, { report: describeOp(op, inputs, out), inputSlots });
  w.checked.set(out.life.storage!, { version: out.life.storage!.version, byteOffset: out.life.byteOffset, size: out.size, slot });
}

/** The open window if it has `slots` free slots on this device, else a new one (closing the old). */
function windowWithRoom(gpu: WebGPUBackend, slots: number): Window {
  let w = numerics.window;
  if (w && (w.gpu !== gpu || w.checks.length + slots > w.capacity)) {
    closeWindow();
    w = null;
  }
  if (!w) {
    const capacity = Math.max(WINDOW_SLOTS, slots);
    // An upload of zeros: the counters start at 0 (queue writes land before the window's dispatches).
    const counts = gpu.upload(new Int32Array(capacity * 3), 'checkNumerics counters');
    w = numerics.window = { gpu, counts, capacity, checks: [], checked: new Map() };
  }
  return w;
}

function dispatchCheck(w: Window, t: Tensor, check: QueuedCheck): number {
  const slot = w.checks.length;
  w.checks.push(check);
  w.gpu.dispatch({
    label: 'checkNumerics',
    shader: NUMERICS_SHADER_VARIANT.shader,
    defines: NUMERICS_SHADER_VARIANT.defines,
    uniforms: new Uniforms().u32(t.size).u32(slot),
    bindings: [sliceOf(t), { storage: w.counts, byteOffset: 0, byteLength: w.capacity * 12 }],
    threads: t.size,
  });
  return slot;
}

/** Starts reading the open window's counters (not awaited here); settle() collects the result. */
function closeWindow(): void {
  const w = numerics.window;
  if (!w) return;
  numerics.window = null;
  if (w.checks.length === 0) {
    w.gpu.free(w.counts);
    return;
  }
  const result = w.gpu.read({ storage: w.counts, byteOffset: 0 }, 'i32', w.checks.length * 3).then(
    (counts): WindowResult => ({ report: firstCulprit(w, counts) }),
    (error): WindowResult => ({ error }),
  ).finally(() => w.gpu.free(w.counts));
  numerics.reading.push(result);
}

/** The first output check with non-finite counts whose inputs' checks were all clean. */
function firstCulprit(w: Window, counts: TypedArray): NumericsReport | null {
  const bad = (slot: number) => counts[3 * slot] + counts[3 * slot + 1] + counts[3 * slot + 2] > 0;
  for (const [slot, check] of w.checks.entries()) {
    if (!check.report || !bad(slot) || check.inputSlots.some(bad)) continue;
    return { ...check.report, nan: counts[3 * slot], posInf: counts[3 * slot + 1], negInf: counts[3 * slot + 2] };
  }
  return null;
}

function settleIfQueued(): Promise<unknown> | null {
  return numerics.window || numerics.reading.length ? settle() : null;
}

async function settle(): Promise<NumericsReport | null> {
  closeWindow();
  const reading = numerics.reading.splice(0);
  if (!numerics.on) setReadObserver(null);
  let first: NumericsReport | null = null;
  let error: unknown = null;
  for (const r of await Promise.all(reading)) {
    if ('error' in r) error ??= r.error;
    else first ??= r.report;
  }
  if (error !== null) throw error;
  if (first) deliver(first);
  return first;
}

// ---------------------------------------------------------------------------------------------
// Allocation tracking internals

const tracking = {
  on: false,
  stacks: true,
  tensors: new Map<number, { ref: WeakRef<Tensor>; info: Omit<LiveTensor, 'requiresGrad'> }>(),
  ids: new WeakMap<Tensor, number>(),
  nextId: 1,
};

const tensorObserver = {
  created(t: Tensor, op: string): void {
    const id = tracking.nextId++;
    const info: Omit<LiveTensor, 'requiresGrad'> = {
      id, op, shape: [...t.shape], dtype: t.dtype, backend: t.backend.name, bytes: t.size * bytesPerElement(t.dtype),
    };
    if (tracking.stacks) {
      info.stack = userStack();
      info.site = info.stack.split('\n')[0];
    }
    tracking.tensors.set(id, { ref: new WeakRef(t), info });
    tracking.ids.set(t, id);
    forgetWhenCollected.register(t, id, t);
  },
  disposed(t: Tensor): void {
    const id = tracking.ids.get(t);
    if (id === undefined) return;
    tracking.tensors.delete(id);
    forgetWhenCollected.unregister(t);
  },
};

/** Drops the record of a tracked tensor that was garbage collected without dispose(). */
const forgetWhenCollected = new FinalizationRegistry<number>((id) => tracking.tensors.delete(id));

/** Where this module lives (src/ in a checkout, dist/ in the package): frames from there are webtrain's. */
const LIBRARY_DIRS = libraryDirs();

function libraryDirs(): string[] {
  try {
    const dir = new URL('.', import.meta.url);
    return dir.protocol === 'file:' ? [dir.href, decodeURIComponent(dir.pathname)] : [dir.href];
  } catch {
    return [];
  }
}

/**
 * The current stack without webtrain's own frames and the runtime's (node internals, test
 * runners), at most 12 frames, "fn (file:line:col)" per line. If the library cannot be told apart
 * (an app bundle with webtrain inlined), the whole stack.
 */
function userStack(): string {
  // V8 keeps 10 frames by default, and the library's own take up about 7 of them.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const raw = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const frames = raw.split('\n').slice(1).map((l) => l.trim().replace(/^at /, '')).filter((l) => l.length > 0);
  const isLibrary = (f: string) => LIBRARY_DIRS.some((d) => f.includes(d));
  const isRuntime = (f: string) => /node:internal|\(node:|node_modules[\\/]|^native|<anonymous>/.test(f);
  const own = frames.filter((f) => !isLibrary(f) && !isRuntime(f));
  return (own.length ? own : frames.filter((f) => !isLibrary(f))).slice(0, 12).join('\n');
}
