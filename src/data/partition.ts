/**
 * Choosing which examples go to which part of a split, on the host: part sizes from fractions or
 * counts, and a seeded (optionally class-stratified) assignment of example indices to the parts.
 */
import { WebtrainError } from '../errors';
import type { Rng } from './rng';

/**
 * Part sizes for `n` examples. All values ≤ 1 are fractions (their sum ≤ 1; sizes by largest
 * remainder, so fractions summing to 1 use every example and 0.8/0.2 of 10,000 is exactly 8,000/2,000);
 * otherwise all are counts (non-negative integers, sum ≤ n).
 */
export function partSizes(where: string, n: number, parts: Record<string, number>): number[] {
  const names = Object.keys(parts);
  const values = Object.values(parts);
  for (const [k, v] of Object.entries(parts)) {
    if (!Number.isFinite(v) || v < 0) throw new WebtrainError(`${where}: ${k} must be a non-negative number, got ${v}`);
  }
  const total = values.reduce((a, b) => a + b, 0);
  if (values.some((v) => v > 1)) {
    const bad = names.filter((k) => !Number.isInteger(parts[k]));
    if (bad.length) {
      throw new WebtrainError(`${where}: sizes mix counts and fractions (${names.map((k) => `${k}: ${parts[k]}`).join(', ')}); ` +
        'give every part as a fraction (all <= 1) or as a whole number of examples');
    }
    if (total > n) throw new WebtrainError(`${where}: the parts ask for ${total} examples, but the data set has ${n}`);
    return values;
  }
  if (total > 1 + 1e-9) {
    throw new WebtrainError(`${where}: fractions ${names.map((k) => `${k}: ${parts[k]}`).join(', ')} sum to ${total}, more than 1`);
  }
  // Largest remainder over the parts and the unused rest.
  const exact = [...values.map((v) => v * n), Math.max(0, 1 - total) * n];
  const sizes = exact.map(Math.floor);
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) sizes[order[k][1]]++;
  return sizes.slice(0, values.length);
}

/**
 * Assigns `sizes[p]` example indices to part p (Σ sizes ≤ n), each part in random order.
 * Without labels: consecutive runs of a random permutation. With labels (stratified): each class's
 * examples, shuffled, get positions (r + u_c) / n_c in [0, 1) (r their rank, u_c a random start per
 * class); sorting all examples by position and cutting consecutive runs gives every part each class
 * in proportion to its frequency, within one example (systematic sampling).
 */
export function assignParts(n: number, sizes: number[], rng: Rng, labels: ArrayLike<number> | null): Int32Array[] {
  let order: Int32Array;
  if (!labels) {
    order = rng.permutation(n);
  } else {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const list = byClass.get(labels[i]);
      if (list) list.push(i);
      else byClass.set(labels[i], [i]);
    }
    const keyed: { key: number; cls: number; i: number }[] = [];
    for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
      const members = rng.shuffle(byClass.get(cls)!);
      const start = rng.uniform();
      members.forEach((i, r) => keyed.push({ key: (r + start) / members.length, cls, i }));
    }
    keyed.sort((a, b) => a.key - b.key || a.cls - b.cls);
    order = Int32Array.from(keyed, (e) => e.i);
  }
  const parts: Int32Array[] = [];
  let at = 0;
  for (const size of sizes) {
    parts.push(rng.shuffle(order.slice(at, at + size)));
    at += size;
  }
  return parts;
}
