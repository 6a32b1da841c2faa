/**
 * Checkpoints: a model's state dict, an optimizer's state, the step, the random generator and user
 * metadata in ONE safetensors file that PyTorch reads as a state dict.
 *
 * Layout (format version 1):
 * - tensors: the model's state dict under its PyTorch keys as-is ('0.weight', '1.running_mean'; the
 *   i32 'num_batches_tracked' as I64, PyTorch's type), so `safetensors.torch.load_file(path)` +
 *   `model.load_state_dict(sd, strict=False)` (or after dropping the optimizer keys) just works; and
 *   each optimizer state buffer as `optimizer.state.<i>.<name>` (i: the parameter's index in the
 *   optimizer's state dict, name: PyTorch's, e.g. 'exp_avg').
 * - `__metadata__` (strings): `format` 'pt' (what Hugging Face loaders look for);
 *   `webtrain.version` '1'; `webtrain.step`; `webtrain.rng` {seed, offset} of the global Philox
 *   generator; `webtrain.optimizer` (when saved) {class, paramGroups (hyper-parameters and parameter
 *   indices, PyTorch's layout), state ({i: {step}}: the non-tensor per-parameter state),
 *   groupSteps (each group's update count: the schedule position)}; `webtrain.meta` (user JSON);
 *   `webtrain.sha256`, the SHA-256 (hex) of the data buffer (all tensor bytes, in file order),
 *   checked on load.
 *
 * Writes are atomic in Node (temp file in the same directory, fsync, rename: a crash leaves the
 * old checkpoint or the new one, never half of one) and in browsers through a FileSystemFileHandle
 * (OPFS or a file picked by the user; its writable stream commits on close). Loading validates
 * everything (header, checksum, names, dtypes, shapes for the model and the optimizer) before it
 * changes anything, and reports every problem at once.
 */
import { rngState, setRngState, tensor } from '../create';
import type { TypedArray } from '../dtype';
import { WebtrainError, fmtShape } from '../errors';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { noGrad } from '../session';
import { shapesEqual } from '../shape';
import type { Tensor } from '../tensor';
import {
  decodeSafetensors, planSafetensors, safetensorsData, safetensorsHeader, type SafetensorsData, type SafetensorsDType,
  type SafetensorsTensor,
} from './safetensors';

/** The format version this build writes and the newest it reads. */
export const CHECKPOINT_VERSION = 1;

/** The global random generator's state (wt.rngState()). */
export interface RngState {
  seed: number;
  offset: number;
}

/** What a checkpoint holds. */
export interface CheckpointContents {
  /** Its state dict (parameters and buffers) is saved under PyTorch's keys. */
  model?: Module;
  /** Its state (buffers, per-parameter step, hyper-parameters, group step counters) is saved. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer, whatever its hyper-parameters
  optimizer?: Optimizer<any>;
  /** The training step (default 0). */
  step?: number;
  /** Random generator state to record (default: the current one, wt.rngState()). */
  rng?: RngState;
  /** Anything JSON-serializable (epoch, history, config...), returned by load(). */
  meta?: Record<string, unknown>;
}

/** Where load() puts a checkpoint's state. */
export interface LoadOptions {
  /** Receives the saved state dict (copied in place, so optimizers holding its parameters keep working). */
  model?: Module;
  /** Receives the saved optimizer state; it must be of the same class, groups and parameter shapes. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer, whatever its hyper-parameters
  optimizer?: Optimizer<any>;
  /**
   * Default true: every key of the model must be in the file and every model key of the file in the
   * model, and an optimizer given must find its state. False: load what matches (shapes and dtypes
   * must still agree).
   */
  strict?: boolean;
}

/** What load() returns besides filling the model and optimizer. */
export interface LoadedCheckpoint {
  /** The saved step (0 when the file has none, e.g. a plain PyTorch state dict). */
  step: number;
  /** The saved user metadata ({} when none). */
  meta: Record<string, unknown>;
  /** The saved generator state, now restored into wt's global generator (null when the file has none). */
  rng: RngState | null;
}

/** A browser file to write to: OPFS (`navigator.storage.getDirectory()`) or `showSaveFilePicker()`. */
export type WritableFileHandle = Pick<FileSystemFileHandle, 'createWritable'>;

/**
 * Saves a checkpoint. `target`: a file path (Node, Deno; written atomically: temp file in the same
 * directory, fsync, rename over the target) or a FileSystemFileHandle (browsers; its writable stream
 * replaces the file only when closed). For a download in a browser use `toBlob()` instead.
 *
 * Values are read back from the device all at once (in parallel), as they are when save() is called:
 * training may continue while the file is written.
 */
export async function save(target: string | WritableFileHandle, contents: CheckpointContents): Promise<void> {
  const parts = await encodeCheckpoint(contents);
  if (typeof target === 'string') await writeFileAtomic(target, parts);
  else if (target && typeof (target as WritableFileHandle).createWritable === 'function') await writeHandle(target, parts);
  else throw new WebtrainError(`io.save: the target must be a file path or a FileSystemFileHandle, got ${describeValue(target)}`);
}

/**
 * Loads a checkpoint into `model` and `optimizer` (in place) and restores the global random
 * generator; returns the step, the user metadata and the generator state. `source`: a file path
 * (Node, Deno), a FileSystemFileHandle or Blob/File (browsers), or the bytes. Also reads a plain
 * safetensors state dict written by PyTorch (`safetensors.torch.save_file(model.state_dict(), path)`).
 *
 * Nothing is changed unless everything checks out: the file's structure, its checksum, and every
 * name, dtype and shape against the model and optimizer (all problems reported in one error).
 */
export async function load(
  source: string | Pick<FileSystemFileHandle, 'getFile'> | Blob | Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Promise<LoadedCheckpoint> {
  return fromBytes(await readSource(source), options);
}

/** A checkpoint as the bytes of a safetensors file (what save() writes). */
export async function toBytes(contents: CheckpointContents): Promise<Uint8Array> {
  const { header, data } = await encodeCheckpoint(contents);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * A checkpoint as a Blob, for a browser download:
 * `a.href = URL.createObjectURL(await wt.io.toBlob({model})); a.download = 'model.safetensors'; a.click()`.
 */
export async function toBlob(contents: CheckpointContents): Promise<Blob> {
  const { header, data } = await encodeCheckpoint(contents);
  return new Blob([header as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
}

/** load() from bytes already in memory. */
export async function fromBytes(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const unknown = Object.keys(options ?? {}).filter((k) => !['model', 'optimizer', 'strict'].includes(k));
  if (unknown.length) throw new WebtrainError(`io.load: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: model, optimizer, strict)`);
  const { model, optimizer, strict = true } = options;
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const file = decodeSafetensors(view); // validates the structure
  const info = readMetadata(file.metadata);
  if (info.sha256 !== null) await verifyChecksum(view, info.sha256);

  const modelTensors = new Map<string, SafetensorsTensor>();
  const optimizerTensors = new Map<string, SafetensorsTensor>();
  for (const [k, t] of file.tensors) (k.startsWith(OPTIMIZER_PREFIX) ? optimizerTensors : modelTensors).set(k, t);

  // Check everything first, so that a bad file changes nothing.
  const modelPlan = model ? planModel(model, modelTensors, strict) : null;
  const optimizerPlan = optimizer ? planOptimizer(optimizer, info.optimizer, optimizerTensors, strict) : null;

  if (model && modelPlan) {
    noGrad(() => {
      const dict = new Map<string, Tensor>();
      try {
        for (const [k, { target, saved }] of modelPlan) dict.set(k, upload(saved, target));
        model.loadStateDict(dict, { strict }); // its checks agree with planModel's; it copies in place
      } finally {
        for (const t of dict.values()) t.dispose();
      }
    });
  }
  if (optimizer && optimizerPlan) optimizerPlan();
  if (info.rng) setRngState(info.rng);
  return { step: info.step, meta: info.meta, rng: info.rng };
}

// --- saving ---

const OPTIMIZER_PREFIX = 'optimizer.state.';

/** The optimizer's non-tensor state, as stored in `webtrain.optimizer`. */
interface OptimizerRecord {
  class: string;
  paramGroups: Record<string, unknown>[];
  state: Record<string, Record<string, number>>;
  groupSteps: number[];
}

async function encodeCheckpoint(contents: CheckpointContents): Promise<{ header: Uint8Array; data: Uint8Array }> {
  const known = ['model', 'optimizer', 'step', 'rng', 'meta'];
  const unknown = Object.keys(contents ?? {}).filter((k) => !known.includes(k));
  if (unknown.length) throw new WebtrainError(`io.save: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${known.join(', ')})`);
  const { model, optimizer, step = 0, rng = rngState(), meta } = contents;
  if (!Number.isSafeInteger(step) || step < 0) throw new WebtrainError(`io.save: step must be a non-negative integer, got ${step}`);
  checkRng(rng, 'io.save: rng');
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw new WebtrainError(`io.save: meta must be a JSON object, got ${Array.isArray(meta) ? 'an array' : String(meta)}`);
  }
  const metaJson = meta === undefined ? undefined : jsonOf(meta, 'meta');

  // Gather every tensor, then start every read back before awaiting any: the reads run in parallel
  // and all see the values as they are now.
  const entries: { name: string; t: Tensor; dtype: SafetensorsDType }[] = [];
  const views: Tensor[] = [];
  if (model) {
    for (const [k, t] of model.stateDict()) {
      if (k.startsWith(OPTIMIZER_PREFIX)) throw new WebtrainError(`io.save: the model's key '${k}' collides with the optimizer's keys (${OPTIMIZER_PREFIX}*)`);
      entries.push({ name: k, t, dtype: fileDtype(t, k) });
    }
  }
  let record: OptimizerRecord | undefined;
  if (optimizer) {
    const sd = optimizer.stateDict();
    record = { class: optimizer.name, paramGroups: sd.paramGroups, state: {}, groupSteps: optimizer.paramGroups.map((g) => g.step) };
    for (const [i, entry] of Object.entries(sd.state)) {
      const scalars: Record<string, number> = {};
      for (const [name, v] of Object.entries(entry)) {
        if (typeof v === 'number') scalars[name] = v;
        else {
          views.push(v);
          entries.push({ name: `${OPTIMIZER_PREFIX}${i}.${name}`, t: v, dtype: fileDtype(v, name) });
        }
      }
      record.state[i] = scalars;
    }
  }
  let values: TypedArray[];
  try {
    values = await Promise.all(entries.map((e) => e.t.data()));
  } finally {
    for (const v of views) v.dispose(); // the optimizer's stateDict() made these views for us
  }

  const tensors = entries.map((e, i) => ({ name: e.name, dtype: e.dtype, shape: e.t.shape, data: toFileArray(values[i], e.dtype) }));
  const metadata: Record<string, string> = {
    format: 'pt',
    'webtrain.version': String(CHECKPOINT_VERSION),
    'webtrain.step': String(step),
    'webtrain.rng': JSON.stringify({ seed: rng.seed, offset: rng.offset }),
  };
  if (record) metadata['webtrain.optimizer'] = jsonOf(record, 'optimizer state');
  if (metaJson !== undefined) metadata['webtrain.meta'] = metaJson;
  // The data buffer does not depend on the header: lay out, hash the data, then write the header.
  const plan = planSafetensors(tensors);
  const data = safetensorsData(plan);
  metadata['webtrain.sha256'] = await sha256Hex(data);
  return { header: safetensorsHeader(plan, metadata), data };
}

/** PyTorch's dtype for a webtrain tensor: num_batches_tracked is int64 there, i32 here. */
function fileDtype(t: Tensor, key: string): SafetensorsDType {
  switch (t.dtype) {
    case 'f32': return 'F32';
    case 'f64': return 'F64';
    case 'i32': return key === 'num_batches_tracked' || key.endsWith('.num_batches_tracked') ? 'I64' : 'I32';
  }
}

function toFileArray(values: TypedArray, dtype: SafetensorsDType): SafetensorsData {
  return dtype === 'I64' ? BigInt64Array.from(values as Int32Array, (v) => BigInt(v)) : values;
}

function jsonOf(value: unknown, what: string): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch (e) {
    throw new WebtrainError(`io.save: ${what} is not JSON-serializable: ${(e as Error).message}`);
  }
  if (s === undefined) throw new WebtrainError(`io.save: ${what} is not JSON-serializable (got ${typeof value})`);
  return s;
}

// --- loading ---

interface ParsedMetadata {
  step: number;
  meta: Record<string, unknown>;
  rng: RngState | null;
  optimizer: OptimizerRecord | null;
  sha256: string | null;
}

/** The webtrain fields of `__metadata__`, each checked; a file without them (PyTorch's) is fine. */
function readMetadata(m: Record<string, string>): ParsedMetadata {
  const out: ParsedMetadata = { step: 0, meta: {}, rng: null, optimizer: null, sha256: null };
  const version = m['webtrain.version'];
  if (version === undefined) return out; // a plain safetensors state dict
  const v = Number(version);
  if (!Number.isInteger(v) || v < 1) bad(`'webtrain.version' is ${JSON.stringify(version)}, not a format version`);
  if (v > CHECKPOINT_VERSION) bad(`the file is checkpoint format ${v}, newer than this webtrain reads (${CHECKPOINT_VERSION}): upgrade webtrain`);
  const sha = m['webtrain.sha256'];
  if (sha === undefined) bad("the file has no 'webtrain.sha256' checksum (every webtrain checkpoint has one): it was modified or is damaged");
  if (!/^[0-9a-f]{64}$/.test(sha)) bad(`'webtrain.sha256' is not a SHA-256 hex digest: ${JSON.stringify(sha.slice(0, 80))}`);
  out.sha256 = sha;
  if (m['webtrain.step'] !== undefined) {
    const step = Number(m['webtrain.step']);
    if (!Number.isSafeInteger(step) || step < 0) bad(`'webtrain.step' is ${JSON.stringify(m['webtrain.step'])}, not a non-negative integer`);
    out.step = step;
  }
  if (m['webtrain.rng'] !== undefined) {
    const rng = parseJson(m['webtrain.rng'], 'webtrain.rng') as RngState;
    checkRng(rng, "io.load: 'webtrain.rng'");
    out.rng = { seed: rng.seed, offset: rng.offset };
  }
  if (m['webtrain.meta'] !== undefined) {
    const meta = parseJson(m['webtrain.meta'], 'webtrain.meta');
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) bad("'webtrain.meta' is not a JSON object");
    out.meta = meta as Record<string, unknown>;
  }
  if (m['webtrain.optimizer'] !== undefined) out.optimizer = checkOptimizerRecord(parseJson(m['webtrain.optimizer'], 'webtrain.optimizer'));
  return out;
}

function checkOptimizerRecord(r: unknown): OptimizerRecord {
  const o = r as OptimizerRecord;
  const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(r) || typeof o.class !== 'string' || !Array.isArray(o.paramGroups) || !o.paramGroups.every(isObject) ||
    !isObject(o.state) || !Array.isArray(o.groupSteps) || o.groupSteps.length !== o.paramGroups.length ||
    !o.groupSteps.every((s) => Number.isSafeInteger(s) && s >= 0) ||
    !o.paramGroups.every((g) => Array.isArray(g.params) && (g.params as unknown[]).every((i) => Number.isSafeInteger(i) && (i as number) >= 0)) ||
    !Object.values(o.state).every((e) => isObject(e) && Object.values(e).every((x) => typeof x === 'number'))) {
    bad("'webtrain.optimizer' does not have the expected form {class, paramGroups: [{..., params: [i...]}], state: {i: {step}}, groupSteps}");
  }
  return o;
}

/** Validates the file's model tensors against `model`; returns what to upload, or throws listing every problem. */
function planModel(model: Module, saved: Map<string, SafetensorsTensor>, strict: boolean): Map<string, { target: Tensor; saved: SafetensorsTensor }> {
  const own = model.stateDict();
  const problems: string[] = [];
  const missing = [...own.keys()].filter((k) => !saved.has(k));
  const unexpected = [...saved.keys()].filter((k) => !own.has(k));
  if (strict && missing.length) problems.push(`missing keys: ${missing.join(', ')}`);
  if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
  const plan = new Map<string, { target: Tensor; saved: SafetensorsTensor }>();
  for (const [k, target] of own) {
    const s = saved.get(k);
    if (!s) continue;
    const problem = mismatch(s, target);
    if (problem) problems.push(`'${k}' ${problem}`);
    else plan.set(k, { target, saved: s });
  }
  if (problems.length) bad(`the checkpoint does not fit the model (${model.constructor.name}): ${problems.join('; ')}`);
  return plan;
}

/**
 * Validates the optimizer record and tensors against `optimizer`; returns the function that loads
 * them (through Optimizer.loadStateDict), or throws listing every problem.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer
function planOptimizer(optimizer: Optimizer<any>, record: OptimizerRecord | null, saved: Map<string, SafetensorsTensor>, strict: boolean): (() => void) | null {
  const where = `the checkpoint does not fit the optimizer (${optimizer.name})`;
  if (!record) {
    if (strict) bad(`${where}: the file holds no optimizer state (pass strict: false to load the model alone)`);
    return null;
  }
  const problems: string[] = [];
  if (record.class !== optimizer.name) bad(`${where}: the file holds ${record.class} state`);
  if (record.paramGroups.length !== optimizer.paramGroups.length) {
    bad(`${where}: the file has ${record.paramGroups.length} parameter group(s), the optimizer ${optimizer.paramGroups.length}`);
  }
  // Parameter i of the state dict, in the file's numbering.
  const params: Tensor[] = [];
  optimizer.paramGroups.forEach((g, j) => {
    const ids = record.paramGroups[j].params as number[];
    if (ids.length !== g.params.length) problems.push(`group ${j} has ${ids.length} parameters in the file, ${g.params.length} in the optimizer`);
    else {
      ids.forEach((id, i) => {
        if (params[id]) problems.push(`parameter index ${id} appears twice in the file's groups`);
        params[id] = g.params[i];
      });
    }
    // Hyper-parameters: the optimizer's own names, each of the type it has now (a schedule, which
    // is code, is saved as its last rate and stays a schedule).
    const live = g.hp as Record<string, unknown>;
    for (const [k, v] of Object.entries(record.paramGroups[j])) {
      if (k === 'params') continue;
      if (!Object.hasOwn(live, k)) problems.push(`group ${j} has an unknown hyper-parameter '${k}'`);
      else if (!(k === 'lr' && typeof live.lr === 'function' ? typeof v === 'number' : sameKind(v, live[k]))) {
        problems.push(`group ${j} hyper-parameter '${k}' is ${JSON.stringify(v)}, expected ${kindOf(k === 'lr' ? 0 : live[k])}`);
      }
    }
  });
  const state: Record<number, Record<string, Tensor | number>> = {};
  const tensors = new Map<string, { param: Tensor; saved: SafetensorsTensor; i: number; name: string }>();
  for (const [key, s] of saved) {
    const m = /^optimizer\.state\.(\d+)\.(.+)$/.exec(key);
    const i = m ? Number(m[1]) : -1;
    if (!m || !params[i] || !record.state[m[1]]) {
      problems.push(`unexpected key '${key}'`);
      continue;
    }
    const problem = mismatch(s, params[i]);
    if (problem) problems.push(`'${key}' ${problem}`);
    else tensors.set(key, { param: params[i], saved: s, i, name: m[2] });
  }
  for (const i of Object.keys(record.state)) if (!params[Number(i)]) problems.push(`state of parameter ${i}, which the optimizer does not have`);
  if (problems.length) bad(`${where}: ${problems.join('; ')}`);

  return () => noGrad(() => {
    const uploaded: Tensor[] = [];
    try {
      for (const [i, scalars] of Object.entries(record.state)) state[Number(i)] = { ...scalars };
      for (const { param, saved: s, i, name } of tensors.values()) {
        const t = upload(s, param);
        uploaded.push(t);
        state[i][name] = t;
      }
      optimizer.loadStateDict({ state, paramGroups: record.paramGroups });
      // The schedule position: each group's update count (also right for groups with no state yet).
      optimizer.paramGroups.forEach((g, j) => { g.step = record.groupSteps[j]; });
    } finally {
      for (const t of uploaded) t.dispose();
    }
  });
}

/** Why a saved tensor cannot go into `target` (shape, or a dtype webtrain cannot convert exactly), or null. */
function mismatch(s: SafetensorsTensor, target: Tensor): string | null {
  const ok = shapesEqual(s.shape, target.shape) && DTYPES_FOR[target.dtype].includes(s.dtype);
  if (!ok) return `is ${fmtShape(s.shape)} ${s.dtype}, expected ${fmtShape(target.shape)} ${DTYPES_FOR[target.dtype].join(' or ')}`;
  if (s.dtype === 'I64') {
    const outside = (s.data as BigInt64Array).find((v) => v > 2147483647n || v < -2147483648n);
    if (outside !== undefined) return `holds the I64 value ${outside}, outside webtrain's i32 range`;
  }
  return null;
}

/** Same JSON kind: number, boolean, string, or arrays of the same length and kinds. */
function sameKind(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameKind(x, b[i]));
  }
  return typeof a === typeof b && a !== null && b !== null;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length} ${v.length ? kindOf(v[0]).replace(/^an? /, '') : 'value'}s`;
  return typeof v === 'object' ? 'null' : `a ${typeof v}`;
}

/** The file dtypes each webtrain dtype accepts (I64 values are checked to fit in i32). */
const DTYPES_FOR: Record<Tensor['dtype'], SafetensorsDType[]> = { f32: ['F32'], f64: ['F64'], i32: ['I32', 'I64'] };

/** A saved tensor on the target's backend, in its dtype (I64 values were checked to fit by mismatch()). */
function upload(s: SafetensorsTensor, target: Tensor): Tensor {
  const values = s.dtype === 'I64' ? Int32Array.from(s.data as BigInt64Array, (v) => Number(v)) : (s.data as TypedArray);
  return tensor(values, [...s.shape], { dtype: target.dtype, backend: target.backend.name });
}

function checkRng(rng: RngState, where: string): void {
  if (typeof rng !== 'object' || rng === null || !Number.isSafeInteger(rng.seed) || rng.seed < 0 || !Number.isSafeInteger(rng.offset) || rng.offset < 0) {
    throw new WebtrainError(`${where} must be {seed, offset} with non-negative integers, got ${describeValue(rng)}`);
  }
}

function parseJson(s: string, key: string): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    bad(`'${key}' is not valid JSON: ${(e as Error).message}`);
  }
}

function bad(message: string): never {
  throw new WebtrainError(`io.load: ${message}`);
}

function describeValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return v.constructor?.name ?? 'an object';
}

// --- checksum (WebCrypto: browsers, Node >= 19, Deno) ---

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) {
    throw new WebtrainError('io: checkpoints need WebCrypto (crypto.subtle) for their SHA-256 checksum; browsers offer it only on secure pages (https or localhost)');
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function verifyChecksum(file: Uint8Array, expected: string): Promise<void> {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true)); // validated by decodeSafetensors
  const actual = await sha256Hex(file.subarray(8 + n));
  if (actual !== expected) {
    bad(`checksum mismatch: the tensor data hashes to SHA-256 ${actual.slice(0, 16)}..., the file records ${expected.slice(0, 16)}... (the file is damaged or was modified)`);
  }
}

// --- files ---

type NodeFs = typeof import('node:fs/promises');

async function nodeFs(what: string): Promise<NodeFs> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  const deno = (globalThis as { Deno?: unknown }).Deno;
  if (!proc?.versions?.node && !deno) {
    throw new WebtrainError(`${what}: file paths need Node's file system; in a browser pass a FileSystemFileHandle, or use toBytes()/toBlob() and fromBytes()`);
  }
  // A variable specifier keeps bundlers from pulling node:fs into browser builds.
  const specifier = 'node:fs/promises';
  return (await import(/* @vite-ignore */ specifier)) as NodeFs;
}

/** Temp file in the target's directory (a rename across file systems is not atomic), fsync, rename. */
async function writeFileAtomic(path: string, parts: { header: Uint8Array; data: Uint8Array }): Promise<void> {
  const fs = await nodeFs('io.save');
  const suffix = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  const temp = `${path}.${suffix}.tmp`;
  let handle: Awaited<ReturnType<NodeFs['open']>> | undefined;
  try {
    handle = await fs.open(temp, 'wx');
    let position = 0;
    for (const part of [parts.header, parts.data]) {
      for (let done = 0; done < part.length;) {
        const { bytesWritten } = await handle.write(part, done, part.length - done, position);
        if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
        done += bytesWritten;
        position += bytesWritten;
      }
    }
    await handle.sync(); // the bytes are on disk before the rename makes them the checkpoint
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fs.rm(temp, { force: true }).catch(() => {});
    throw new WebtrainError(`io.save: writing '${path}' failed, the previous file (if any) is unchanged: ${(e as Error).message}`);
  }
  await syncDirectory(fs, path);
}

/** Makes the rename itself durable (POSIX); best effort, since some platforms cannot open a directory. */
async function syncDirectory(fs: NodeFs, path: string): Promise<void> {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = slash < 0 ? '.' : slash === 0 ? path.slice(0, 1) : path.slice(0, slash);
  try {
    const d = await fs.open(dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  } catch {
    // Windows and some file systems refuse; the data itself was synced.
  }
}

async function writeHandle(handle: WritableFileHandle, parts: { header: Uint8Array; data: Uint8Array }): Promise<void> {
  let stream: FileSystemWritableFileStream;
  try {
    stream = await handle.createWritable();
  } catch (e) {
    throw new WebtrainError(`io.save: cannot open the file handle for writing (Safari's main thread has no createWritable: use toBlob(), or a worker): ${(e as Error).message}`);
  }
  try {
    await stream.write(parts.header as Uint8Array<ArrayBuffer>);
    await stream.write(parts.data as Uint8Array<ArrayBuffer>);
    await stream.close(); // the file is replaced only now
  } catch (e) {
    await stream.abort().catch(() => {});
    throw new WebtrainError(`io.save: writing the file handle failed, the previous file is unchanged: ${(e as Error).message}`);
  }
}

async function readSource(source: string | Pick<FileSystemFileHandle, 'getFile'> | Blob | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  if (typeof source === 'string') {
    const fs = await nodeFs('io.load');
    try {
      return await fs.readFile(source);
    } catch (e) {
      throw new WebtrainError(`io.load: cannot read '${source}': ${(e as Error).message}`);
    }
  }
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source && typeof (source as Pick<FileSystemFileHandle, 'getFile'>).getFile === 'function') {
    source = await (source as Pick<FileSystemFileHandle, 'getFile'>).getFile();
  }
  if (source && typeof (source as Blob).arrayBuffer === 'function') return new Uint8Array(await (source as Blob).arrayBuffer());
  throw new WebtrainError(`io.load: the source must be a file path, a FileSystemFileHandle, a Blob or bytes, got ${describeValue(source)}`);
}
