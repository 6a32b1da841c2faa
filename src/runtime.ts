/**
 * The tensor runtime: the one `apply(op, inputs, attrs)` every op goes through, tensor lifetimes,
 * grad mode, tidy scopes and memory accounting.
 *
 * Lifetimes. A tensor's `Life` counts two kinds of references:
 *  - dataRefs: the user's handle + every graph node whose vjp reads this tensor's data (`save`).
 *    At zero the storage is freed.
 *  - graphRefs: the user's handle + every graph node that has this tensor as an input. At zero the
 *    tensor's own node is released (its saved data and its inputs, recursively).
 * So `dispose()` frees memory at once unless backward still needs it, and a graph that is never
 * backpropagated is freed when its output is disposed.
 */
import type { Backend, BackendName, Storage } from './backend/backend';
import { bytesPerElement, type DType, type TypedArray } from './dtype';
import { fail, fmtShape, WebtrainError } from './errors';
import type { BufferSlice, OpDef, TensorMeta } from './ops/op-def';
import { numel } from './shape';
import { Tensor } from './tensor';

export interface Life {
  storage: Storage | null;
  /** Where the tensor's elements start in the storage (non-zero for views into a parameter arena). */
  byteOffset: number;
  dataRefs: number;
  graphRefs: number;
  node: GraphNode | null;
}

/** One recorded op: enough to run its vjp later. Every op has one output. */
export interface GraphNode {
  op: OpDef;
  attrs: unknown;
  inputs: Tensor[];
  output: Tensor;
  savesInputs: boolean;
  savesOutput: boolean;
  /** Storage versions of the saved tensors when recorded (inputs then output), to catch later in-place writes. */
  versions: number[];
  released: boolean;
}

// ---------------------------------------------------------------------------------------------
// Backends

const backends = new Map<BackendName, Backend>();
let defaultBackend: Backend | null = null;

export function registerBackend(b: Backend, makeDefault: boolean): void {
  backends.set(b.name, b);
  if (makeDefault) defaultBackend = b;
}

export function unregisterBackend(name: BackendName): void {
  const b = backends.get(name);
  backends.delete(name);
  if (defaultBackend === b) defaultBackend = backends.get('cpu') ?? null;
}

export function getBackend(name?: BackendName): Backend {
  if (name === undefined) {
    if (!defaultBackend) throw new WebtrainError('webtrain is not initialized: call `await wt.init()` first');
    return defaultBackend;
  }
  const b = backends.get(name);
  if (!b) throw new WebtrainError(`backend '${name}' is not initialized: call \`await wt.init({backend: '${name}'})\``);
  return b;
}

export function hasBackend(name: BackendName): boolean {
  return backends.has(name);
}

// ---------------------------------------------------------------------------------------------
// Grad mode and internal (backward) mode

let gradEnabled = true;
/** > 0 while backward runs vjps: they may read the data of tensors the user already disposed. */
let backwardDepth = 0;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording set to `enabled` (restored after, also for async fns). */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => { gradEnabled = prev; }) as T;
  }
  gradEnabled = prev;
  return result;
}

export function inBackward<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

/** True while backward runs vjps (wt.debug reports whether a non-finite value arose there). */
export function isInBackward(): boolean {
  return backwardDepth > 0;
}

// ---------------------------------------------------------------------------------------------
// Debug hooks: src/debug.ts installs them. Each is null when its feature is off, so the hot paths
// (apply, the Tensor constructor, dispose, reads) pay one comparison with null.

/** Called after every op with its inputs and output (wt.debug.checkNumerics). */
export type OpObserver = (op: OpDef, inputs: Tensor[], out: Tensor) => void;
/** Told of every tensor created (with the op that made it, 'tensor' for uploads and views) and disposed. */
export interface TensorObserver {
  created(t: Tensor, op: string): void;
  disposed(t: Tensor): void;
}
/** Called before a tensor's data is read back; a promise it returns is awaited with the read (and may reject it). */
export type ReadObserver = () => Promise<unknown> | null;

let opObserver: OpObserver | null = null;
let tensorObserver: TensorObserver | null = null;
let readObserver: ReadObserver | null = null;
/** The op whose output apply() is constructing, for the tensor observer. */
let creatingOp: string | null = null;

export function setOpObserver(o: OpObserver | null): void { opObserver = o; }

/** The step capture in progress (src/capture.ts), seen by the runtime, autograd and optimizers. */
export interface ActiveCapture {
  /** Unique per capture: tells what user code set during this capture from what it set before. */
  readonly id: number;
  /** Called before every op: throws for ops a replay cannot repeat. */
  guard(op: OpDef<unknown>): void;
  /** Runs fn now without recording it: work the first run needs and replays must not repeat. */
  unrecorded<T>(fn: () => T): T;
}
let activeCapture: ActiveCapture | null = null;
export function setActiveCapture(c: ActiveCapture | null): void { activeCapture = c; }
export function currentCapture(): ActiveCapture | null { return activeCapture; }
export function setTensorObserver(o: TensorObserver | null): void { tensorObserver = o; }
export function setReadObserver(o: ReadObserver | null): void { readObserver = o; }

/** Tensor.data() calls this first: null unless wt.debug has checks to settle before the values count. */
export function beforeRead(): Promise<unknown> | null {
  return readObserver === null ? null : readObserver();
}

// ---------------------------------------------------------------------------------------------
// Memory accounting and tidy scopes

let liveTensors = 0;
let liveBytes = 0;
const scopes: Set<Tensor>[] = [];

const finalizer = new FinalizationRegistry<Life>((life) => {
  // Safety net: a tensor dropped without dispose() releases its memory when garbage collected.
  liveTensors--;
  dropData(life);
  dropGraph(life);
});

export function memoryStats(): { numTensors: number; numBytes: number } {
  return { numTensors: liveTensors, numBytes: liveBytes };
}

export function allocStorage(backend: Backend, byteLength: number, label: string): Storage {
  const s = backend.alloc(byteLength, label);
  liveBytes += s.byteLength;
  return s;
}

export function uploadStorage(backend: Backend, data: TypedArray, label: string): Storage {
  const s = backend.upload(data, label);
  liveBytes += s.byteLength;
  return s;
}

function releaseStorage(s: Storage): void {
  if (--s.refs === 0) {
    liveBytes -= s.byteLength;
    s.backend.free(s);
  }
}

export function dropData(life: Life): void {
  if (--life.dataRefs === 0 && life.storage) {
    releaseStorage(life.storage);
    life.storage = null;
  }
}

export function dropGraph(life: Life): void {
  if (--life.graphRefs === 0 && life.node) releaseNode(life.node);
}

/** Releases what a node holds: its saved data and its inputs' graph references. */
export function releaseNode(node: GraphNode): void {
  if (node.released) return;
  node.released = true;
  for (const t of node.inputs) {
    if (node.savesInputs) dropData(t.life);
    dropGraph(t.life);
  }
  if (node.savesOutput) dropData(node.output.life);
  node.inputs = [];
}

/** Called by the Tensor constructor. */
export function trackNewTensor(t: Tensor): void {
  liveTensors++;
  finalizer.register(t, t.life, t);
  scopes[scopes.length - 1]?.add(t);
  if (tensorObserver !== null) tensorObserver.created(t, creatingOp ?? 'tensor');
}

export function untrackDisposedTensor(t: Tensor): void {
  liveTensors--;
  finalizer.unregister(t);
  for (const s of scopes) s.delete(t);
  if (tensorObserver !== null) tensorObserver.disposed(t);
}

/** Removes a tensor from every open tidy scope, so tidy() won't dispose it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * Runs fn and disposes every tensor it created except those it returns (in an array or object
 * too) and those passed to `keep`. Works for async fns: the scope closes when the promise settles
 * (tensors other async work creates meanwhile land in the same scope).
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  const close = (result: unknown) => {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    const kept = new Set<Tensor>();
    collectTensors(result, kept, 0);
    for (const t of scope) if (!kept.has(t)) t.dispose();
    const parent = scopes[scopes.length - 1];
    if (parent) for (const t of kept) if (!t.isDisposed) parent.add(t);
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => { close(r); return r; },
      (e) => { close(undefined); throw e; },
    ) as T;
  }
  close(result);
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// apply: the one way an op runs

/** Runs `op` on `inputs` with `attrs`, recording it for autograd when needed. */
export function apply<A>(op: OpDef<A>, inputs: Tensor[], attrs: A, backendName?: BackendName): Tensor {
  const backend = backendOf(op.name, inputs, backendName);
  if (activeCapture !== null) activeCapture.guard(op as OpDef<unknown>);
  for (const t of inputs) checkReadable(op.name, t);
  const { shape, dtype } = op.infer(inputs as TensorMeta[], attrs);
  if (!backend.dtypes.includes(dtype)) {
    fail(op.name, `dtype ${dtype} is not supported on the ${backend.name} backend (supported: ${backend.dtypes.join(', ')})`);
  }
  const n = numel(shape);
  let storage: Storage;
  let byteOffset = 0;
  if (op.alias) {
    storage = inputs[0].life.storage!;
    byteOffset = inputs[0].life.byteOffset;
    storage.refs++;
  } else {
    storage = allocStorage(backend, n * bytesPerElement(dtype), op.name);
    try {
      if (n > 0) runKernel(backend, op, inputs, attrs, storage, shape, dtype);
    } catch (e) {
      releaseStorage(storage); // a kernel that refuses (a WebGPU limit) leaves no memory behind
      throw e;
    }
  }
  const differentiable = op.differentiable ?? inputs.map((_, i) => i);
  const needsGrad = gradEnabled && op.vjp !== undefined &&
    differentiable.some((i) => inputs[i]?.requiresGrad);
  creatingOp = op.name;
  const out = new Tensor(backend, storage, shape, dtype, needsGrad, byteOffset);
  creatingOp = null;
  if (needsGrad) record(op, inputs, attrs, out);
  if (opObserver !== null) opObserver(op, inputs, out);
  return out;
}

function record(op: OpDef, inputs: Tensor[], attrs: unknown, out: Tensor): void {
  const savesInputs = op.save === 'inputs' || op.save === 'both';
  const savesOutput = op.save === 'output' || op.save === 'both';
  for (const t of inputs) {
    t.life.graphRefs++;
    if (savesInputs) t.life.dataRefs++;
  }
  if (savesOutput) out.life.dataRefs++;
  const node: GraphNode = { op, attrs, inputs: [...inputs], output: out, savesInputs, savesOutput, versions: [], released: false };
  node.versions = savedTensors(node).map((t) => t.life.storage!.version);
  out.life.node = node;
}

/** The tensors whose data a node's vjp reads. */
export function savedTensors(node: GraphNode): Tensor[] {
  return [...(node.savesInputs ? node.inputs : []), ...(node.savesOutput ? [node.output] : [])];
}

function runKernel(backend: Backend, op: OpDef, inputs: Tensor[], attrs: unknown, storage: Storage,
  shape: number[], dtype: DType): void {
  if (backend.name === 'cpu') {
    op.cpu({
      inputs: inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, data: cpuView(t.life.storage!, t.dtype, t.size, t.life.byteOffset) })),
      out: { shape, dtype, data: cpuView(storage, dtype, numel(shape)) },
      attrs,
    });
  } else {
    op.webgpu({
      gpu: backend as never,
      inputs: inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, buffer: sliceOf(t) })),
      out: { shape, dtype, buffer: { storage, byteOffset: 0, byteLength: numel(shape) * bytesPerElement(dtype) } },
      attrs,
    });
  }
}

export function cpuView(s: Storage, dtype: DType, length: number, byteOffset = 0): TypedArray {
  const buf = s.handle as ArrayBuffer;
  switch (dtype) {
    case 'f32': return new Float32Array(buf, byteOffset, length);
    case 'i32': return new Int32Array(buf, byteOffset, length);
    case 'f64': return new Float64Array(buf, byteOffset, length);
  }
}

/**
 * A tensor sharing `base`'s storage: `shape` elements from `elementOffset` on (a parameter's slot in
 * an arena). Outside the graph.
 */
export function viewOf(base: Tensor, shape: readonly number[], elementOffset: number): Tensor {
  const s = base.life.storage!;
  const byteOffset = base.life.byteOffset + elementOffset * bytesPerElement(base.dtype);
  // NOTE: WebGPU binds storage buffers only at 256-byte-aligned offsets (minStorageBufferOffsetAlignment).
  if (base.backend.name === 'webgpu' && byteOffset % 256 !== 0) {
    throw new WebtrainError(`view: byte offset ${byteOffset} is not 256-byte aligned, which WebGPU bindings require`);
  }
  s.refs++;
  return new Tensor(base.backend, s, shape, base.dtype, false, byteOffset);
}

/**
 * Moves a tensor's data home: from now on `t` reads and writes `target`'s storage at `byteOffset`
 * (the caller copied the values there first). The Tensor object stays the same, so modules that
 * hold their parameters keep working. Views of `t` taken before keep the old storage.
 */
export function rebindStorage(t: Tensor, target: Tensor, byteOffset: number): void {
  const s = target.life.storage!;
  s.refs++;
  const old = t.life.storage;
  t.life.storage = s;
  t.life.byteOffset = byteOffset;
  if (old) releaseStorage(old);
}

/** A live tensor's bytes in its storage. */
export function sliceOf(t: Tensor): BufferSlice {
  return { storage: t.life.storage!, byteOffset: t.life.byteOffset, byteLength: t.size * bytesPerElement(t.dtype) };
}

function backendOf(op: string, inputs: Tensor[], name?: BackendName): Backend {
  if (inputs.length === 0) return getBackend(name);
  const b = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== b) {
      fail(op, `inputs live on different backends (${inputs.map((x) => x.backend.name).join(', ')}); ` +
        `move them to one backend first with .to('${b.name}')`);
    }
  }
  return b;
}

function checkReadable(op: string, t: Tensor): void {
  if (!t.life.storage || (t.isDisposed && backwardDepth === 0)) {
    fail(op, `an input tensor of shape ${fmtShape(t.shape)} (${t.dtype}) was used after dispose()`);
  }
}
