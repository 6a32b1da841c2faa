/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written exactly:
 *
 *   [8 bytes: N, little-endian u64] [N bytes: UTF-8 JSON header] [data buffer]
 *
 * The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
 * relative to the data buffer) and may hold `"__metadata__": {string: string}`. Tensors are
 * row-major, little-endian, and tile the data buffer: no gaps, no overlaps, nothing after the last.
 *
 * The writer matches the reference (Python/Rust) writer byte for byte: tensors sorted by dtype,
 * widest first in the reference's dtype order, then by name; compact JSON with `__metadata__`
 * first; the header padded with spaces to a multiple of 8 bytes so every tensor starts 8-aligned.
 *
 * The reader never trusts a size it has not checked: the header length is bounded (100 MB, and the
 * file's own size) before anything is parsed, and every shape and offset is validated against the
 * data buffer before one byte is allocated for a tensor, so a corrupt or hostile file costs at most
 * a copy of its own size, and every failure is a WebtrainError saying what is wrong.
 */
import { WebtrainError } from '../errors';

/** The element types the format defines (safetensors 0.6), in the reference's enum order. */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;

export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/**
 * A tensor's elements as a typed array. Types JavaScript has no array for are raw bits: F16, BF16
 * in a Uint16Array; BOOL and the 8-bit floats in a Uint8Array (one byte each); F4 and F6 packed as
 * stored (a Uint8Array of ceil(n·bits/8) bytes); C64 as interleaved (re, im) float32 pairs.
 */
export type SafetensorsData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** One tensor of a safetensors file. */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

/** What decodeSafetensors returns: the `__metadata__` strings ({} when absent) and the tensors by name, in file order. */
export interface DecodedSafetensors {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
}

/** The reference reader refuses longer headers; so do we (and never read a length before checking it). */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Encodes tensors and string metadata as a safetensors file, byte-identical to what the reference
 * writer (`safetensors.torch.save_file`) produces for the same content. `metadata` keys are written
 * in their object order (the reference writes a hash map: any order is valid); `{}` writes no
 * `__metadata__` at all, like the reference with `metadata=None`.
 */
export function encodeSafetensors(tensors: SafetensorsInput, metadata: Record<string, string> = {}): Uint8Array {
  const { header, data } = encodeSafetensorsParts(tensors, metadata);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/** The tensor list encodeSafetensors accepts. */
export type SafetensorsInput = { name: string; dtype: SafetensorsDType; shape: readonly number[]; data: SafetensorsData }[];

/**
 * @internal encodeSafetensors in two pieces, (length + header) and the data buffer, so that a
 * checkpoint can hash the data before it writes the header, and write both without concatenating.
 */
export function encodeSafetensorsParts(tensors: SafetensorsInput, metadata: Record<string, string> = {}): { header: Uint8Array; data: Uint8Array } {
  const plan = planSafetensors(tensors);
  return { header: safetensorsHeader(plan, metadata), data: safetensorsData(plan) };
}

/** @internal Validated tensors in file order, each with its byte size. */
export interface SafetensorsPlan {
  tensors: { name: string; dtype: SafetensorsDType; shape: number[]; data: SafetensorsData; bytes: number }[];
}

/** @internal Checks the tensors and puts them in the reference writer's order. */
export function planSafetensors(tensors: SafetensorsInput): SafetensorsPlan {
  const seen = new Set<string>();
  const planned = tensors.map((t) => {
    const where = `encodeSafetensors: tensor '${t.name}'`;
    if (typeof t.name !== 'string') throw new WebtrainError(`encodeSafetensors: tensor names must be strings, got ${typeof t.name}`);
    if (t.name === METADATA_KEY) throw new WebtrainError(`${where}: the name is reserved for the metadata`);
    if (seen.has(t.name)) throw new WebtrainError(`${where} appears twice`);
    seen.add(t.name);
    const spec = Object.hasOwn(DTYPE_SPECS, t.dtype) ? DTYPE_SPECS[t.dtype] : undefined;
    if (!spec) throw new WebtrainError(`${where}: unknown dtype '${String(t.dtype)}' (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    const shape = [...t.shape];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WebtrainError(`${where}: invalid shape [${shape.join(', ')}]`);
    const bytes = byteSize(spec, shape);
    if (bytes === undefined) throw new WebtrainError(`${where}: ${t.dtype} shape [${shape.join(', ')}] does not fill whole bytes`);
    if (!(t.data instanceof spec.array)) {
      throw new WebtrainError(`${where}: ${t.dtype} data must be a ${spec.array.name}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`);
    }
    if (t.data.byteLength !== bytes) {
      throw new WebtrainError(`${where}: ${t.dtype} shape [${shape.join(', ')}] needs ${bytes} bytes, the data has ${t.data.byteLength}`);
    }
    return { name: t.name, dtype: t.dtype, shape, data: t.data, rank: spec.rank, bytes };
  });
  // The reference's order: dtype descending in its enum order ("alignment"), then name ascending
  // (Rust compares the UTF-8 bytes, which is code point order).
  planned.sort((a, b) => b.rank - a.rank || compareCodePoints(a.name, b.name));
  return { tensors: planned };
}

/** @internal The 8-byte length and the space-padded JSON header for a plan. */
export function safetensorsHeader(plan: SafetensorsPlan, metadata: Record<string, string>): Uint8Array {
  const metaEntries = Object.entries(metadata);
  for (const [k, v] of metaEntries) {
    if (typeof v !== 'string') throw new WebtrainError(`encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
  }
  // Built by hand, not JSON.stringify of an object: objects put integer-like keys ('0') first.
  const fields: string[] = [];
  if (metaEntries.length > 0) {
    fields.push(`${JSON.stringify(METADATA_KEY)}:{${metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of plan.tensors) {
    fields.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + t.bytes}]}`);
    offset += t.bytes;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8; // spaces up to a multiple of 8: the data buffer starts 8-aligned
  if (n > MAX_HEADER_BYTES) throw new WebtrainError(`encodeSafetensors: the header would be ${n} bytes, over the format's ${MAX_HEADER_BYTES}-byte limit`);
  const header = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  return header;
}

/** @internal The data buffer for a plan: every tensor's little-endian bytes, back to back. */
export function safetensorsData(plan: SafetensorsPlan): Uint8Array {
  const data = new Uint8Array(plan.tensors.reduce((n, t) => n + t.bytes, 0));
  let offset = 0;
  for (const t of plan.tensors) {
    data.set(littleEndianBytes(t.data), offset);
    offset += t.bytes;
  }
  return data;
}

/**
 * Decodes a safetensors file, validating all of it first: the header length (at most 100 MB and
 * within the file), the header (UTF-8 JSON object, string metadata), each tensor (known dtype,
 * shape of non-negative integers, `data_offsets` inside the data buffer and matching the shape's
 * size), and the layout (tensors tile the data buffer with no overlap, hole or trailing bytes).
 * Tensors in any order are accepted. The returned arrays are copies (aligned, owned by the caller).
 */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer): DecodedSafetensors {
  const { metadata, entries, dataStart } = parseSafetensorsHeader(input);
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    // A copy in a fresh buffer, aligned for any typed array (NOTE: not bytes.slice(): on a Node
    // Buffer, as readFile returns, slice() is a view into a shared pool).
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: fromLittleEndian(DTYPE_SPECS[e.dtype], copy) });
  }
  return { metadata, tensors };
}

/** @internal One validated header entry; offsets relative to the data buffer. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * @internal The validated header alone (no tensor is copied): metadata, entries sorted by offset,
 * and where the data buffer starts in `input`.
 */
export function parseSafetensorsHeader(input: Uint8Array | ArrayBuffer): { metadata: Record<string, string>; entries: SafetensorsEntry[]; dataStart: number } {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 8) bad(`the file is ${bytes.length} bytes, too short for the 8-byte header length (truncated or not a safetensors file)`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) bad(`the header length field says ${n64} bytes, over the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  const n = Number(n64);
  if (8 + n > bytes.length) bad(`the header length field says ${n} bytes but the file has only ${bytes.length - 8} after it (truncated or corrupt)`);
  if (n < 2) bad(`the header is ${n} bytes, too short to be a JSON object`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    bad('the header is not valid UTF-8');
  }
  if (text[0] !== '{') bad(`the header does not start with '{' (starts with ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    bad(`the header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('the header is not a JSON object');

  const dataLength = bytes.length - 8 - n;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = checkMetadata(info);
      continue;
    }
    entries.push(checkEntry(name, info, dataLength));
  }
  // Tiling check, as the reference does it: sorted by offsets, each must start where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of entries) {
    if (e.begin < at) bad(`tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap in the data buffer`);
    if (e.begin > at) bad(`bytes ${at} to ${e.begin} of the data buffer belong to no tensor (a hole before '${e.name}')`);
    at = e.end;
    previous = e;
  }
  if (at !== dataLength) bad(`the data buffer is ${dataLength} bytes but the tensors end at ${at} (${dataLength - at} trailing bytes belong to no tensor)`);
  return { metadata, entries, dataStart: 8 + n };
}

// --- internals ---

const METADATA_KEY = '__metadata__';

type ArrayClass = { new (buffer: ArrayBuffer): SafetensorsData; readonly BYTES_PER_ELEMENT: number; readonly name: string };

interface DTypeSpec {
  /** Position in the reference's enum: the writer puts higher ranks first. */
  rank: number;
  /** Bits per element. */
  bits: number;
  /** The array holding the elements (raw bits where JS has no matching type). */
  array: ArrayClass;
  /** Bytes swapped as one unit on a big-endian machine (1: never). */
  word: number;
}

const ARRAYS: Record<SafetensorsDType, [bits: number, array: ArrayClass, word: number]> = {
  BOOL: [8, Uint8Array, 1], F4: [4, Uint8Array, 1], F6_E2M3: [6, Uint8Array, 1], F6_E3M2: [6, Uint8Array, 1],
  U8: [8, Uint8Array, 1], I8: [8, Int8Array, 1], F8_E5M2: [8, Uint8Array, 1], F8_E4M3: [8, Uint8Array, 1],
  F8_E8M0: [8, Uint8Array, 1], F8_E4M3FNUZ: [8, Uint8Array, 1], F8_E5M2FNUZ: [8, Uint8Array, 1],
  I16: [16, Int16Array, 2], U16: [16, Uint16Array, 2], F16: [16, Uint16Array, 2], BF16: [16, Uint16Array, 2],
  I32: [32, Int32Array, 4], U32: [32, Uint32Array, 4], F32: [32, Float32Array, 4],
  C64: [64, Float32Array, 4], F64: [64, Float64Array, 8], I64: [64, BigInt64Array, 8], U64: [64, BigUint64Array, 8],
};

const DTYPE_SPECS: Record<string, DTypeSpec> = Object.fromEntries(
  SAFETENSORS_DTYPES.map((d, rank) => [d, { rank, bits: ARRAYS[d][0], array: ARRAYS[d][1], word: ARRAYS[d][2] }]),
);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(message: string): never {
  throw new WebtrainError(`safetensors: ${message}`);
}

/** Bytes of a tensor, or undefined when sub-byte elements do not fill whole bytes (the reference refuses those). */
function byteSize(spec: DTypeSpec, shape: number[]): number | undefined {
  let n = 1;
  for (const d of shape) n *= d;
  const bits = n * spec.bits;
  return bits % 8 === 0 ? bits / 8 : undefined;
}

function checkMetadata(info: unknown): Record<string, string> {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) bad(`'${METADATA_KEY}' must be an object of strings, got ${describe(info)}`);
  for (const [k, v] of Object.entries(info)) {
    if (typeof v !== 'string') bad(`'${METADATA_KEY}' value '${k}' must be a string, got ${describe(v)}`);
  }
  // fromEntries defines own properties, so a key like '__proto__' stays a plain key.
  return Object.fromEntries(Object.entries(info as Record<string, string>));
}

function checkEntry(name: string, info: unknown, dataLength: number): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) bad(`${where}: expected {dtype, shape, data_offsets}, got ${describe(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SPECS, dtype)) {
    bad(`${where} has unknown dtype ${describe(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  const spec = DTYPE_SPECS[dtype];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    bad(`${where} has invalid shape ${describe(shape)} (expected an array of non-negative integers)`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    bad(`${where} has invalid data_offsets ${describe(offsets)} (expected [begin, end], non-negative integers)`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) bad(`${where} has data_offsets [${begin}, ${end}] that end before they begin`);
  if (end > dataLength) bad(`${where} has data_offsets [${begin}, ${end}] past the end of the ${dataLength}-byte data buffer (truncated file?)`);
  // The element count, checked as it grows so that it stays an exact integer: past 2^53 / 64 it
  // needs more bytes than any buffer JavaScript can hold, let alone this one.
  let count = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : (shape as number[])) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER / 64) {
      bad(`${where}: ${dtype} shape [${shape.join(', ')}] needs more bytes than the whole ${dataLength}-byte data buffer`);
    }
  }
  const bits = count * spec.bits;
  if (bits % 8 !== 0) bad(`${where}: ${dtype} shape [${shape.join(', ')}] does not fill whole bytes`);
  if (bits / 8 !== end - begin) {
    bad(`${where}: ${dtype} shape [${shape.join(', ')}] needs ${bits / 8} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end };
}

function describe(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Code point order of two strings (= the UTF-8 byte order the reference sorts names by). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function littleEndianBytes(data: SafetensorsData): Uint8Array {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1 ? raw : swapped(raw, data.BYTES_PER_ELEMENT);
}

function fromLittleEndian(spec: DTypeSpec, copy: Uint8Array): SafetensorsData {
  if (!LITTLE_ENDIAN && spec.word > 1) swapInPlace(copy, spec.word);
  return new spec.array(copy.buffer as ArrayBuffer);
}

// NOTE: every JS engine in use is little-endian; these keep the format exact on the odd one that isn't.
function swapped(raw: Uint8Array, word: number): Uint8Array {
  const out = raw.slice();
  swapInPlace(out, word);
  return out;
}

function swapInPlace(bytes: Uint8Array, word: number): void {
  for (let i = 0; i < bytes.length; i += word) bytes.subarray(i, i + word).reverse();
}
