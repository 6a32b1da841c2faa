/** Shape arithmetic shared by the op rules and the backends (PyTorch/NumPy semantics). */
import { fail, fmtShape } from './errors';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting: align trailing dims; each pair must be equal or one of them 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = rank - s.length + i;
      const size = s[i];
      if (out[d] === 1) out[d] = size;
      else if (size !== 1 && size !== out[d]) {
        fail(op, `shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together ` +
          `(dimension ${i - s.length} is ${size} against ${out[d]}; sizes must match or be 1)`);
      }
    }
  }
  return out;
}

/**
 * Strides (in elements) for reading a contiguous tensor of `shape` as if broadcast to `outShape`:
 * broadcast dimensions get stride 0.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const i = d - offset;
    return i < 0 || shape[i] === 1 ? 0 : strides[i];
  });
}

/** Resolves a possibly negative axis (counting from the end) against `rank`. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1)) {
    fail(op, `axis ${axis} is out of range for a tensor of rank ${rank} (expected an integer in [${-rank}, ${rank - 1}])`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes an axis list (or all axes when undefined), sorted and without duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const norm = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(norm).size !== norm.length) fail(op, `axis list [${list.join(', ')}] repeats an axis`);
  return norm.sort((a, b) => a - b);
}

/** Resolves one `-1` in a reshape target against the element count. */
export function inferReshape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) fail(op, `only one dimension can be -1, got ${fmtShape(to)}`);
  if (to.some((d) => !Number.isInteger(d) || d < -1)) fail(op, `invalid target shape ${fmtShape(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(out) !== n || out.some((d) => !Number.isInteger(d))) {
    fail(op, `cannot reshape a tensor of shape ${fmtShape(from)} (${n} elements) into ${fmtShape(to)}`);
  }
  return out;
}

export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    fail(op, `invalid shape ${JSON.stringify(shape)} (expected an array of non-negative integers)`);
  }
  return [...shape];
}

/**
 * The same strided walk over fewer dimensions: size-1 dims dropped, and neighbours merged where
 * every stride list steps through them as one (strides[d] == strides[d + 1] · shape[d + 1] in each).
 * Offsets and the row-major order of the flat index are unchanged. GPU kernels use it so common
 * cases (contiguous copies, a bias gradient's sum) become 1-D walks without a div/mod per element.
 */
export function mergeDims(shape: Shape, ...strideLists: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const out = { shape: [] as number[], strides: strideLists.map(() => [] as number[]) };
  shape.forEach((size, d) => {
    if (size === 1) return;
    const last = out.shape.length - 1;
    if (last >= 0 && strideLists.every((st, k) => out.strides[k][last] === st[d] * size)) {
      out.shape[last] *= size;
      strideLists.forEach((st, k) => { out.strides[k][last] = st[d]; });
    } else {
      out.shape.push(size);
      strideLists.forEach((st, k) => out.strides[k].push(st[d]));
    }
  });
  return out;
}

/**
 * A merged walk of at most two dimensions as exactly two, [rows, cols]: a leading 1 (stride 0) pads
 * a shorter one. GPU kernels index such walks without a loop over dimensions; null when there are more.
 */
export function asRowsCols(merged: { shape: number[]; strides: number[][] }): { shape: number[]; strides: number[][] } | null {
  const pad = 2 - merged.shape.length;
  if (pad < 0) return null;
  return { shape: [...Array<number>(pad).fill(1), ...merged.shape], strides: merged.strides.map((st) => [...Array<number>(pad).fill(0), ...st]) };
}
