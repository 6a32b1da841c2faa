/**
 * Reading files and gzip on every runtime the library supports: Node (and Deno's Node compatibility)
 * through `node:` modules imported lazily, browsers through fetch and DecompressionStream. Node
 * modules are imported through a variable specifier so bundlers never pull them into browser builds.
 */
import { WebtrainError } from '../errors';

/** True under Node (and Deno, which provides the same `node:` modules). */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** A Node builtin, imported lazily (never resolved by a bundler). */
export async function nodeModule<T>(name: 'node:fs/promises' | 'node:zlib' | 'node:path' | 'node:module' | 'node:fs'): Promise<T> {
  const specifier: string = name;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

/** The bytes of a file (Node: a path) or of a URL (elsewhere: fetched). */
export async function readBytes(where: string, pathOrUrl: string): Promise<Uint8Array> {
  if (isNode() && !/^(https?|blob|data):/i.test(pathOrUrl)) {
    const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
    try {
      const buf = await fs.readFile(pathOrUrl);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw new WebtrainError(`${where}: cannot read ${pathOrUrl}: ${(e as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(pathOrUrl);
  } catch (e) {
    throw new WebtrainError(`${where}: cannot fetch ${pathOrUrl}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new WebtrainError(`${where}: cannot fetch ${pathOrUrl}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Whether `path` exists (Node); elsewhere whether a HEAD request for the URL succeeds. */
export async function exists(pathOrUrl: string): Promise<boolean> {
  if (isNode() && !/^(https?|blob|data):/i.test(pathOrUrl)) {
    const fs = await nodeModule<typeof import('node:fs')>('node:fs');
    return fs.existsSync(pathOrUrl);
  }
  try {
    return (await fetch(pathOrUrl, { method: 'HEAD' })).ok;
  } catch {
    return false;
  }
}

/** Whether the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip: node:zlib under Node, DecompressionStream('gzip') elsewhere (or when `web`). */
export async function gunzip(bytes: Uint8Array, web = !isNode()): Promise<Uint8Array> {
  if (!web) {
    const zlib = await nodeModule<typeof import('node:zlib')>('node:zlib');
    const out = zlib.gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return streamThrough(bytes, new DecompressionStream('gzip'));
}

/** Compresses with gzip: node:zlib under Node, CompressionStream('gzip') elsewhere (or when `web`). */
export async function gzip(bytes: Uint8Array, web = !isNode()): Promise<Uint8Array> {
  if (!web) {
    const zlib = await nodeModule<typeof import('node:zlib')>('node:zlib');
    const out = zlib.gzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return streamThrough(bytes, new CompressionStream('gzip'));
}

async function streamThrough(bytes: Uint8Array, transform: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> }): Promise<Uint8Array> {
  const stream = (new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<BufferSource>).pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
