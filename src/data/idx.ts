/**
 * The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a 4-byte magic
 * `00 00 <type> <ndims>`, then ndims big-endian u32 sizes, then the values, big-endian, row-major.
 * Types: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. Files are often gzipped (.gz):
 * reading detects the gzip magic 1f 8b and decompresses (node:zlib in Node, DecompressionStream
 * elsewhere).
 */
import type { BackendName } from '../backend/backend';
import { WebtrainError, fmtShape } from '../errors';
import { checkOptions } from '../nn/options';
import { Dataset } from './dataset';
import { exists, gunzip, gzip, isGzip, isNode, nodeModule, readBytes } from './platform';

/** IDX element types: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. */
export type IdxDType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
/** The typed array of each IdxDType. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An IDX array: its shape, element type and values (row-major, in the host's byte order). */
export interface IdxArray {
  shape: number[];
  dtype: IdxDType;
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDType; bytes: number }> = {
  0x08: { dtype: 'u8', bytes: 1 },
  0x09: { dtype: 'i8', bytes: 1 },
  0x0b: { dtype: 'i16', bytes: 2 },
  0x0c: { dtype: 'i32', bytes: 4 },
  0x0d: { dtype: 'f32', bytes: 4 },
  0x0e: { dtype: 'f64', bytes: 8 },
};
const CODES = Object.fromEntries(Object.entries(TYPES).map(([code, t]) => [t.dtype, Number(code)])) as Record<IdxDType, number>;

/**
 * Reads an IDX file: a path (Node) or URL (browsers: fetched), or its bytes. Gzipped data is
 * decompressed transparently. Throws a clear error for a truncated file, an unknown type code, or
 * sizes that do not match the byte length.
 */
export async function readIdx(pathOrBytes: string | Uint8Array | ArrayBuffer): Promise<IdxArray> {
  const name = typeof pathOrBytes === 'string' ? pathOrBytes : 'bytes';
  const where = `readIdx(${name})`;
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') bytes = await readBytes('readIdx', pathOrBytes);
  else if (pathOrBytes instanceof Uint8Array) bytes = pathOrBytes;
  else if (pathOrBytes instanceof ArrayBuffer) bytes = new Uint8Array(pathOrBytes);
  else throw new WebtrainError(`readIdx: expected a path, a Uint8Array or an ArrayBuffer, got ${typeof pathOrBytes}`);
  if (isGzip(bytes)) {
    try {
      bytes = await gunzip(bytes);
    } catch (e) {
      throw new WebtrainError(`${where}: the gzip data is truncated or corrupt (${(e as Error).message})`);
    }
  }
  return parseIdx(where, bytes);
}

/** Parses IDX bytes (not gzipped). */
export function parseIdx(where: string, bytes: Uint8Array): IdxArray {
  if (bytes.length < 4) throw new WebtrainError(`${where}: truncated: ${bytes.length} bytes, fewer than the 4-byte IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new WebtrainError(`${where}: not an IDX file: it starts with ${hex(bytes.subarray(0, 4))}, expected 00 00 <type> <ndims>`);
  }
  const type = TYPES[bytes[2]];
  if (!type) {
    throw new WebtrainError(`${where}: unknown IDX type code 0x${bytes[2].toString(16).padStart(2, '0')} ` +
      '(known: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)');
  }
  const ndims = bytes[3];
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new WebtrainError(`${where}: truncated: the header declares ${ndims} dimensions (${headerBytes} bytes), the file has ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndims }, (_, d) => view.getUint32(4 + 4 * d, false));
  const n = shape.reduce((a, b) => a * b, 1);
  const dataBytes = n * type.bytes;
  const have = bytes.length - headerBytes;
  if (have < dataBytes) {
    throw new WebtrainError(`${where}: truncated: shape ${fmtShape(shape)} of ${type.dtype} needs ${dataBytes} bytes of data, ` +
      `the file has ${have} after the header`);
  }
  if (have > dataBytes) {
    throw new WebtrainError(`${where}: the sizes do not match the file: shape ${fmtShape(shape)} of ${type.dtype} is ` +
      `${dataBytes} bytes of data, the file has ${have} after the header`);
  }
  return { shape, dtype: type.dtype, data: decode(type.dtype, view, headerBytes, n) };
}

/** Options of encodeIdx and writeIdx. */
export interface WriteIdxOptions {
  /** gzip the bytes (default false). */
  gzip?: boolean;
}

/** The IDX bytes of an array (big-endian), gzipped on request. */
export async function encodeIdx(array: IdxArray, opts: WriteIdxOptions = {}): Promise<Uint8Array> {
  checkOptions('encodeIdx', opts, ['gzip']);
  const { shape, dtype, data } = array;
  const code = CODES[dtype];
  if (code === undefined) throw new WebtrainError(`encodeIdx: unknown dtype '${dtype}' (known: ${Object.keys(CODES).join(', ')})`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 32) || shape.length > 255) {
    throw new WebtrainError(`encodeIdx: shape ${fmtShape(shape)} cannot be written (at most 255 dimensions of u32 sizes)`);
  }
  if (data.length !== n) throw new WebtrainError(`encodeIdx: ${data.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
  const size = TYPES[code].bytes;
  const bytes = new Uint8Array(4 + 4 * shape.length + n * size);
  const view = new DataView(bytes.buffer);
  bytes[2] = code;
  bytes[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  encode(dtype, view, 4 + 4 * shape.length, data);
  return opts.gzip ? gzip(bytes) : bytes;
}

/** Writes an IDX file (Node), gzipped on request; returns the bytes written. */
export async function writeIdx(path: string, array: IdxArray, opts: WriteIdxOptions = {}): Promise<Uint8Array> {
  if (!isNode()) throw new WebtrainError('writeIdx: writing files needs Node (use encodeIdx for the bytes)');
  const bytes = await encodeIdx(array, opts);
  const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
  await fs.writeFile(path, bytes);
  return bytes;
}

/** Options of idxDataset. */
export interface IdxDatasetOptions {
  /** Which backend holds the tensors (default: the one wt.init chose). */
  backend?: BackendName;
  /** x as [N, rows·cols] (default true) or [N, rows, cols]. */
  flatten?: boolean;
}

/**
 * MNIST or Fashion-MNIST from a folder (Node) or base URL (browsers) with the standard file names:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
 * each optionally `.gz` (also with a dot before `idx`, as some mirrors name them). Pixels (u8) are
 * scaled to [0, 1] as f32; labels become i32. The full 60,000-image training set is 188 MB as f32:
 * on a GPU whose maxStorageBufferBindingSize is smaller, load it on the CPU backend.
 */
export async function idxDataset(dir: string, opts: IdxDatasetOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  checkOptions('idxDataset', opts, ['backend', 'flatten']);
  const part = async (prefix: 'train' | 't10k') => {
    const [images, labels] = await Promise.all([
      readIdx(await findFile(dir, prefix, 'images', 3)),
      readIdx(await findFile(dir, prefix, 'labels', 1)),
    ]);
    return toDataset(prefix, images, labels, opts);
  };
  const train = await part('train');
  try {
    return { train, test: await part('t10k') };
  } catch (e) {
    train.dispose();
    throw e;
  }
}

function toDataset(prefix: string, images: IdxArray, labels: IdxArray, opts: IdxDatasetOptions): Dataset {
  if (images.shape.length < 2) throw new WebtrainError(`idxDataset: ${prefix} images have shape ${fmtShape(images.shape)}, expected [N, rows, cols]`);
  if (labels.shape.length !== 1) throw new WebtrainError(`idxDataset: ${prefix} labels have shape ${fmtShape(labels.shape)}, expected [N]`);
  const n = images.shape[0];
  if (labels.shape[0] !== n) {
    throw new WebtrainError(`idxDataset: ${prefix} has ${n} images but ${labels.shape[0]} labels; the files must hold the same examples`);
  }
  if (labels.dtype === 'f32' || labels.dtype === 'f64') throw new WebtrainError(`idxDataset: ${prefix} labels must be integers, got ${labels.dtype}`);
  // u8 pixels are 0..255; other types are taken as they are.
  const scale = images.dtype === 'u8' ? 1 / 255 : 1;
  const x = Float32Array.from(images.data, (v) => v * scale);
  const features = images.shape.slice(1);
  const xShape = opts.flatten === false ? [n, ...features] : [n, features.reduce((a, b) => a * b, 1)];
  return Dataset.fromArrays({ x, xShape, y: Int32Array.from(labels.data), backend: opts.backend });
}

async function findFile(dir: string, prefix: string, kind: 'images' | 'labels', dims: number): Promise<string> {
  const base = dir.replace(/\/+$/, '');
  const tried: string[] = [];
  for (const sep of ['-', '.']) {
    for (const ext of ['', '.gz']) {
      const path = `${base}/${prefix}-${kind}${sep}idx${dims}-ubyte${ext}`;
      tried.push(path);
      if (await exists(path)) return path;
    }
  }
  throw new WebtrainError(`idxDataset: no ${prefix} ${kind} file in ${dir} (tried ${tried.map((p) => p.slice(base.length + 1)).join(', ')})`);
}

function decode(dtype: IdxDType, view: DataView, at: number, n: number): IdxData {
  switch (dtype) {
    case 'u8': return new Uint8Array(view.buffer, view.byteOffset + at, n).slice();
    case 'i8': return new Int8Array(view.buffer, view.byteOffset + at, n).slice();
    case 'i16': return Int16Array.from({ length: n }, (_, i) => view.getInt16(at + 2 * i, false));
    case 'i32': return Int32Array.from({ length: n }, (_, i) => view.getInt32(at + 4 * i, false));
    case 'f32': return Float32Array.from({ length: n }, (_, i) => view.getFloat32(at + 4 * i, false));
    case 'f64': return Float64Array.from({ length: n }, (_, i) => view.getFloat64(at + 8 * i, false));
  }
}

function encode(dtype: IdxDType, view: DataView, at: number, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    switch (dtype) {
      case 'u8': view.setUint8(at + i, v); break;
      case 'i8': view.setInt8(at + i, v); break;
      case 'i16': view.setInt16(at + 2 * i, v, false); break;
      case 'i32': view.setInt32(at + 4 * i, v, false); break;
      case 'f32': view.setFloat32(at + 4 * i, v, false); break;
      case 'f64': view.setFloat64(at + 8 * i, v, false); break;
    }
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}
