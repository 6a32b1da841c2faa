/**
 * wt.data: batches (every example once per pass, seeded, the same on every backend, partial last
 * batch, dropLast, no leaks), subset, split (sizes, stratification, determinism), the synthetic sets,
 * IDX files (round trip, plain and gzip, clear errors), mnist() and mixup.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { BackendName } from '../src/backend/backend';
import type { Tensor } from '../src/tensor';
import { gunzip, gzip } from '../src/data/platform';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
const tmp = mkdtempSync(join(tmpdir(), 'webtrain-data-'));
afterAll(() => {
  wt.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

const { data } = wt;
const values = async (t: Tensor) => Array.from(await t.data());
const counts = (labels: ArrayLike<number>, classes: number) => {
  const c = new Array(classes).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
};

/** Reads every batch: the y values in visiting order and the batch sizes. Checks x rows match y. */
async function pass(ds: wt.data.Dataset, opts: wt.data.BatchOptions): Promise<{ order: number[]; sizes: number[] }> {
  const order: number[] = [];
  const sizes: number[] = [];
  for (const b of ds.batches(opts)) {
    const [x, y] = [await values(b.x), await values(b.y)];
    b.x.dispose();
    b.y.dispose();
    sizes.push(y.length);
    y.forEach((v, i) => {
      expect(x[2 * i]).toBe(v);
      expect(x[2 * i + 1]).toBe(10 * v);
    });
    order.push(...y);
  }
  return { order, sizes };
}

describe.each(backends)('%s', (backend: BackendName) => {
  /** N examples: x[i] = [i, 10 i], y[i] = i. */
  const numbered = (n: number, b: BackendName = backend) =>
    data.Dataset.fromArrays({ x: Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 10 : 1) * Math.floor(k / 2)), xShape: [n, 2], y: Array.from({ length: n }, (_, i) => i), backend: b });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('batches visit every example exactly once, partial last batch or dropLast', async () => {
    const ds = numbered(10);
    expect([ds.size, ds.backend]).toEqual([10, backend]);
    const all = await pass(ds, { batchSize: 3, seed: 1 });
    expect(all.sizes).toEqual([3, 3, 3, 1]);
    expect([...all.order].sort((a, b) => a - b)).toEqual(range(10));
    expect(all.order).not.toEqual(range(10));
    const dropped = await pass(ds, { batchSize: 3, seed: 1, dropLast: true });
    expect(dropped.sizes).toEqual([3, 3, 3]);
    expect(dropped.order).toEqual(all.order.slice(0, 9));
    expect((await pass(ds, { batchSize: 4, shuffle: false })).order).toEqual(range(10));
    expect((await pass(ds, { batchSize: 20, seed: 3 })).sizes).toEqual([10]);
    expect((await pass(ds, { batchSize: 20, seed: 3, dropLast: true })).sizes).toEqual([]);
    ds.dispose();
  });

  test('batches are reproducible per seed, and follow wt.seed without one', async () => {
    const ds = numbered(12);
    const order = async (seed?: number) => (await pass(ds, { batchSize: 5, seed })).order;
    expect(await order(7)).toEqual(await order(7));
    expect(await order(7)).not.toEqual(await order(8));
    wt.seed(42);
    const first = [await order(), await order()];
    expect(first[0]).not.toEqual(first[1]); // each epoch a new order
    wt.seed(42);
    expect([await order(), await order()]).toEqual(first);
    ds.dispose();
  });

  test.runIf(backend !== 'cpu')('batches are identical to the CPU backend for a seed', async () => {
    const here = numbered(11);
    const cpu = numbered(11, 'cpu');
    expect((await pass(here, { batchSize: 4, seed: 9 })).order).toEqual((await pass(cpu, { batchSize: 4, seed: 9 })).order);
    here.dispose();
    cpu.dispose();
  });

  test('batches free their tensors: tidy per batch, and break frees the permutation', async () => {
    const ds = numbered(9);
    wt.tidy(() => { ds.x.add(1); }); // the constant 1 stays cached
    const before = wt.memory().numTensors;
    let n = 0;
    for (const b of ds.batches({ batchSize: 2, seed: 0 })) {
      wt.tidy(() => { b.x.add(1).sum(); });
      b.x.dispose();
      b.y.dispose();
      if (++n === 2) break;
    }
    expect(wt.memory().numTensors).toBe(before);
    // A batch drawn inside tidy is freed with the scope; the permutation survives it.
    const it = ds.batches({ batchSize: 4, seed: 0 });
    const sizes: number[] = [];
    for (;;) {
      const r = wt.tidy(() => {
        const next = it.next();
        return next.done ? null : next.value.y.size;
      });
      if (r === null) break;
      sizes.push(r);
    }
    expect(sizes).toEqual([4, 4, 1]);
    expect(wt.memory().numTensors).toBe(before);
    ds.dispose();
  });

  test('f32 targets [N, k] are batched alongside x', async () => {
    const ds = new data.Dataset(wt.tensor(range(8), [4, 2], { backend }), wt.tensor(range(12), [4, 3], { backend }));
    const [b] = [...ds.batches({ batchSize: 4, seed: 2 })];
    const x = await values(b.x);
    const y = await values(b.y);
    for (let i = 0; i < 4; i++) expect(y.slice(3 * i, 3 * i + 3)).toEqual([0, 1, 2].map((k) => 3 * (x[2 * i] / 2) + k));
    [b.x, b.y].forEach((t) => t.dispose());
    ds.dispose();
  });

  test('subset gathers examples (repeats allowed) and checks its indices', async () => {
    const ds = numbered(6);
    const sub = ds.subset([4, 0, 4]);
    expect(sub.size).toBe(3);
    expect(await values(sub.y)).toEqual([4, 0, 4]);
    expect(await values(sub.x)).toEqual([4, 40, 0, 0, 4, 40]);
    expect(() => ds.subset([0, 6])).toThrow(/index 6 \(at position 1\) is out of range for a data set of 6 examples/);
    expect(() => ds.subset([1.5])).toThrow(/out of range/);
    sub.dispose();
    ds.dispose();
    expect(() => ds.batches({ batchSize: 1 })).toThrow(/used after dispose/);
  });

  test('Dataset checks its tensors and options', () => {
    const x = wt.zeros([3, 2], { backend });
    const y = wt.zeros([4], { dtype: 'i32', backend });
    expect(() => new data.Dataset(x, y)).toThrow(/x has 3 examples \(shape \[3, 2\]\) but y has 4 \(shape \[4\]\)/);
    expect(() => new data.Dataset(wt.zeros([], { backend }), y)).toThrow(/0-d/);
    const ds = new data.Dataset(x, wt.zeros([3], { dtype: 'i32', backend }));
    expect(() => ds.batches({ batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => ds.batches({ batchSize: 2, sed: 1 } as wt.data.BatchOptions)).toThrow(/unknown option 'sed'/);
    ds.dispose();
    y.dispose();
  });

  test.runIf(backend !== 'cpu')('Dataset refuses tensors on two backends; to() copies', async () => {
    const x = wt.zeros([2, 1], { backend });
    const y = wt.zeros([2], { dtype: 'i32', backend: 'cpu' });
    expect(() => new data.Dataset(x, y)).toThrow(/x lives on webgpu and y on cpu/);
    x.dispose();
    y.dispose();
    const ds = numbered(5);
    const there = await ds.to('cpu');
    expect(there.backend).toBe('cpu');
    expect(await values(there.x)).toEqual(await values(ds.x));
    expect(await values(there.y)).toEqual(range(5));
    there.dispose();
    ds.dispose();
  });

  test('split: sizes from fractions or counts, disjoint parts covering the data', async () => {
    const ds = numbered(100);
    const s = data.split(ds, { train: 0.7, valid: 0.2, test: 0.1, seed: 1 });
    expect([s.train.size, s.valid?.size, s.test?.size]).toEqual([70, 20, 10]);
    const all = [...(await values(s.train.y)), ...(await values(s.valid!.y)), ...(await values(s.test!.y))];
    expect(all.sort((a, b) => a - b)).toEqual(range(100));
    const c = data.split(ds, { train: 50, test: 25, seed: 1 });
    expect([c.train.size, c.valid, c.test?.size]).toEqual([50, undefined, 25]);
    const rest = data.split(ds, { valid: 0.25, seed: 1 });
    expect([rest.train.size, rest.valid?.size, rest.test]).toEqual([75, 25, undefined]);
    expect(() => data.split(ds, { train: 0.8, valid: 0.3 })).toThrow(/sum to 1\.1, more than 1/);
    expect(() => data.split(ds, { train: 80, valid: 0.2 })).toThrow(/mix counts and fractions/);
    expect(() => data.split(ds, { train: 80, valid: 30 })).toThrow(/ask for 110 examples, but the data set has 100/);
    expect(() => data.split(ds, { train: 0.9, valid: 0.001 })).toThrow(/valid = 0.001 of 100 examples is no example at all/);
    for (const d of [s.train, s.valid!, s.test!, c.train, c.test!, rest.train, rest.valid!]) d.dispose();
    ds.dispose();
  });

  test('split stratifies by class and is deterministic per seed', async () => {
    // 60 / 30 / 10 examples of classes 0 / 1 / 2.
    const labels = [...Array(60).fill(0), ...Array(30).fill(1), ...Array(10).fill(2)];
    const make = () => data.Dataset.fromArrays({ x: labels.flatMap((c, i) => [i, c]), xShape: [100, 2], y: labels, backend });
    const ds = make();
    const s = data.split(ds, { train: 0.8, test: 0.2, seed: 3 });
    expect(counts(await values(s.test!.y), 3)).toEqual([12, 6, 2]);
    expect(counts(await values(s.train.y), 3)).toEqual([48, 24, 8]);
    const again = data.split(ds, { train: 0.8, test: 0.2, seed: 3 });
    expect(await values(again.test!.x)).toEqual(await values(s.test!.x));
    const other = data.split(ds, { train: 0.8, test: 0.2, seed: 4 });
    expect(await values(other.test!.x)).not.toEqual(await values(s.test!.x));
    // Odd fractions: every class within one example of its share.
    const odd = data.split(ds, { train: 0.55, valid: 0.3, test: 0.15, seed: 5 });
    for (const [part, f] of [[odd.train, 0.55], [odd.valid!, 0.3], [odd.test!, 0.15]] as const) {
      counts(await values(part.y), 3).forEach((k, c) => expect(Math.abs(k - f * [60, 30, 10][c])).toBeLessThanOrEqual(1));
    }
    // f32 targets are split without stratification.
    const soft = new data.Dataset(wt.zeros([10, 2], { backend }), wt.zeros([10, 2], { backend }));
    const ss = data.split(soft, { train: 0.5, valid: 0.5, seed: 0 });
    expect([ss.train.size, ss.valid?.size]).toEqual([5, 5]);
    for (const d of [s.train, s.test!, again.train, again.test!, other.train, other.test!, odd.train, odd.valid!, odd.test!, soft, ss.train, ss.valid!, ds]) d.dispose();
  });

  test.runIf(backend !== 'cpu')('split of GPU tensors needs the labels on the host first', async () => {
    const ds = new data.Dataset(wt.zeros([6, 1], { backend }), wt.tensor([0, 1, 0, 1, 0, 1], [6], { dtype: 'i32', backend }));
    expect(() => data.split(ds, { train: 0.5, test: 0.5, seed: 0 })).toThrow(/await ds.labels\(\)/);
    expect(Array.from(await ds.labels())).toEqual([0, 1, 0, 1, 0, 1]);
    const s = data.split(ds, { train: 0.5, test: 0.5, seed: 0 });
    for (const part of [s.train, s.test!]) {
      const c = counts(await values(part.y), 2);
      expect([c[0] + c[1], Math.abs(c[0] - c[1])]).toEqual([3, 1]);
    }
    [s.train, s.test!, ds].forEach((d) => d.dispose());
  });

  test('synthetic sets: shapes, balanced labels, deterministic per seed', async () => {
    const sets = {
      spirals: (seed: number) => data.spirals({ n: 30, classes: 3, seed, backend }),
      moons: (seed: number) => data.moons({ n: 20, seed, backend }),
      circles: (seed: number) => data.circles({ n: 20, seed, backend }),
      blobs: (seed: number) => data.blobs({ n: 10, classes: 4, dim: 5, seed, backend }),
      xor: (seed: number) => data.xor({ n: 25, seed, backend }),
    };
    const want = { spirals: [90, 2, 3], moons: [40, 2, 2], circles: [40, 2, 2], blobs: [40, 5, 4], xor: [50, 2, 2] };
    for (const [name, make] of Object.entries(sets)) {
      const [n, dim, classes] = want[name as keyof typeof want];
      const a = make(1);
      expect([a.x.shape, a.x.dtype, a.y.shape, a.y.dtype], name).toEqual([[n, dim], 'f32', [n], 'i32']);
      expect(counts(await values(a.y), classes), name).toEqual(Array(classes).fill(n / classes));
      const b = make(1);
      const c = make(2);
      expect(await values(b.x), name).toEqual(await values(a.x));
      expect(await values(c.x), name).not.toEqual(await values(a.x));
      [a, b, c].forEach((d) => d.dispose());
    }
  });

  test('synthetic sets follow their formulas without noise', async () => {
    const circles = data.circles({ n: 8, noise: 0, factor: 0.3, seed: 0, backend });
    const cx = await values(circles.x);
    const cy = await values(circles.y);
    cy.forEach((c, i) => expect(Math.hypot(cx[2 * i], cx[2 * i + 1])).toBeCloseTo(c === 0 ? 1 : 0.3, 5));
    const moons = data.moons({ n: 5, noise: 0, seed: 0, backend });
    expect((await values(moons.x)).slice(0, 2)).toEqual([1, 0]); // class 0, t = 0: (cos 0, sin 0)
    expect((await values(moons.x)).slice(10, 12)).toEqual([0, 0.5]); // class 1, t = 0: (1 - cos 0, 1/2 - sin 0)
    const xor = data.xor({ n: 20, noise: 0, seed: 0, backend });
    const xx = await values(xor.x);
    (await values(xor.y)).forEach((c, i) => expect(xx[2 * i] * xx[2 * i + 1] < 0 ? 1 : 0).toBe(c));
    const sp = data.spirals({ n: 50, noise: 0, seed: 0, backend });
    const sx = await values(sp.x);
    for (let i = 0; i < 100; i++) expect(Math.hypot(sx[2 * i], sx[2 * i + 1])).toBeCloseTo((i % 50) / 50, 5);
    [circles, moons, xor, sp].forEach((d) => d.dispose());
    expect(() => data.spirals({ n: 0 })).toThrow(/n \(examples per class\) must be a positive integer/);
    expect(() => data.moons({ classes: 3 } as wt.data.SyntheticOptions)).toThrow(/unknown option 'classes'/);
  });

  test('mixup: λ ~ Beta(α, α), x and soft labels mixed with a shuffled partner', async () => {
    const b = 2000;
    const x = wt.randn([b, 3], { seed: 1, backend });
    const y = wt.tensor(Array.from({ length: b }, (_, i) => i % 4), [b], { dtype: 'i32', backend });
    const m = data.mixup(x, y, 1, { numClasses: 4, seed: 7 });
    const lam = Array.from(m.lambda);
    const mean = lam.reduce((s, v) => s + v, 0) / b;
    const variance = lam.reduce((s, v) => s + (v - mean) ** 2, 0) / b;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02); // Beta(1, 1) = U(0, 1): mean 1/2, sd of the mean 0.0065
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.01);
    expect(m.y.shape).toEqual([b, 4]);
    const [xv, yv, mx, my] = [await values(x), await values(y), await values(m.x), await values(m.y)];
    for (let i = 0; i < b; i++) {
      const row = my.slice(4 * i, 4 * i + 4);
      expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-6);
      const j = m.perm[i];
      const want = [0, 0, 0, 0];
      want[yv[i]] += lam[i];
      want[yv[j]] += 1 - lam[i];
      row.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(1e-6));
      for (let k = 0; k < 3; k++) expect(Math.abs(mx[3 * i + k] - (lam[i] * xv[3 * i + k] + (1 - lam[i]) * xv[3 * j + k]))).toBeLessThan(1e-5);
    }
    expect([...m.perm].sort((p, q) => p - q)).toEqual(range(b));
    // Small α: λ piles up near 0 and 1; Beta(α, α) variance 1 / (4 (2α + 1)).
    const s = data.mixup(x, y, 0.2, { numClasses: 4, seed: 8 });
    const sv = Array.from(s.lambda);
    const smean = sv.reduce((a, v) => a + v, 0) / b;
    expect(Math.abs(smean - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(sv.reduce((a, v) => a + (v - smean) ** 2, 0) / b - 1 / (4 * 1.4))).toBeLessThan(0.015);
    // Same seed, same mix; soft labels mix alike.
    const again = data.mixup(x, y, 1, { numClasses: 4, seed: 7 });
    expect(await values(again.x)).toEqual(mx);
    const soft = data.mixup(x, m.y, 0.5, { seed: 3 });
    const rows = await values(soft.y);
    for (let i = 0; i < b; i += 97) expect(Math.abs(rows.slice(4 * i, 4 * i + 4).reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-5);
    expect(() => data.mixup(x, y, 1)).toThrow(/numClasses/);
    expect(() => data.mixup(x, y, 0, { numClasses: 4 })).toThrow(/alpha must be a positive number/);
    [x, y, m.x, m.y, s.x, s.y, again.x, again.y, soft.x, soft.y].forEach((t) => t.dispose());
  });

  test('mnist(): 10,000 digits, [N, 784] in [0, 1], a fixed stratified 8,000 / 2,000 split', async () => {
    const { train, test: held } = await data.mnist({ backend });
    expect([train.x.shape, train.y.shape, held.x.shape, held.y.shape]).toEqual([[8000, 784], [8000], [2000, 784], [2000]]);
    expect([train.x.dtype, train.y.dtype]).toEqual(['f32', 'i32']);
    const all = await data.mnistArrays();
    const total = counts(all.labels, 10);
    expect(total.reduce((a, b) => a + b)).toBe(10000);
    const trainCounts = counts(await train.labels(), 10);
    const testCounts = counts(await held.labels(), 10);
    total.forEach((n, d) => {
      expect(trainCounts[d] + testCounts[d]).toBe(n);
      expect(Math.abs(testCounts[d] - 0.2 * n)).toBeLessThanOrEqual(1);
    });
    // Device labels agree with the host copy; pixels stay in [0, 1] and the parts hold every image once.
    expect(counts(await values(held.y), 10)).toEqual(testCounts);
    const tx = await held.x.data();
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (const v of tx) { lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; }
    expect([lo, hi]).toEqual([0, 1]);
    const trainSum = await train.x.sum().item();
    const allSum = all.images.reduce((a, v) => a + v, 0);
    expect(Math.abs(trainSum + sum - allSum) / allSum).toBeLessThan(1e-4);
    // Fixed: the same held-out digits every call; another seed holds out others.
    const again = await data.mnist({ backend });
    expect(await again.test.x.slice([0, 0], [5, 784]).data()).toEqual(await held.x.slice([0, 0], [5, 784]).data());
    const other = await data.mnist({ backend: 'cpu', seed: 1, testFraction: 0.1 });
    expect(other.test.size).toBe(1000);
    for (const d of [train, held, again.train, again.test, other.train, other.test]) d.dispose();
  });
});

describe('IDX files', () => {
  const arrays: wt.data.IdxArray[] = [
    { shape: [2, 3, 2], dtype: 'u8', data: Uint8Array.from({ length: 12 }, (_, i) => i * 21) },
    { shape: [5], dtype: 'i8', data: Int8Array.of(-128, -1, 0, 1, 127) },
    { shape: [2, 2], dtype: 'i16', data: Int16Array.of(-32768, -2, 300, 32767) },
    { shape: [3], dtype: 'i32', data: Int32Array.of(-(2 ** 31), 123456789, 2 ** 31 - 1) },
    { shape: [1, 3], dtype: 'f32', data: Float32Array.of(-1.5, 3.25, 1e-20) },
    { shape: [2], dtype: 'f64', data: Float64Array.of(Math.PI, -1e300) },
    { shape: [0, 4], dtype: 'u8', data: new Uint8Array(0) },
  ];

  test.each(arrays.map((a) => [a.dtype + ' ' + JSON.stringify(a.shape), a] as const))('%s round trips, plain and gzip', async (name, a) => {
    for (const gz of [false, true]) {
      const path = join(tmp, `${name.replace(/\W+/g, '_')}${gz ? '.gz' : ''}`);
      const bytes = await data.writeIdx(path, a, { gzip: gz });
      expect(bytes[0] === 0x1f).toBe(gz);
      for (const back of [await data.readIdx(path), await data.readIdx(bytes), await data.readIdx(bytes.slice().buffer)]) {
        expect(back.shape).toEqual(a.shape);
        expect(back.dtype).toBe(a.dtype);
        expect(back.data.constructor).toBe(a.data.constructor);
        expect(Array.from(back.data)).toEqual(Array.from(a.data));
      }
    }
  });

  test('the bytes are big-endian, as the format says', async () => {
    const bytes = await data.encodeIdx({ shape: [1], dtype: 'i32', data: Int32Array.of(0x01020304) });
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]);
  });

  test('clear errors for truncated, corrupt and mismatched files', async () => {
    const good = await data.encodeIdx({ shape: [2, 3], dtype: 'i16', data: Int16Array.of(1, 2, 3, 4, 5, 6) });
    await expect(data.readIdx(good.slice(0, 3))).rejects.toThrow(/truncated: 3 bytes, fewer than the 4-byte IDX header/);
    await expect(data.readIdx(good.slice(0, 9))).rejects.toThrow(/truncated: the header declares 2 dimensions \(12 bytes\), the file has 9/);
    await expect(data.readIdx(good.slice(0, 20))).rejects.toThrow(/truncated: shape \[2, 3\] of i16 needs 12 bytes of data, the file has 8/);
    await expect(data.readIdx(Uint8Array.of(...good, 0, 0))).rejects.toThrow(/sizes do not match the file: shape \[2, 3\] of i16 is 12 bytes .* has 14/);
    const badType = good.slice();
    badType[2] = 0x0a;
    await expect(data.readIdx(badType)).rejects.toThrow(/unknown IDX type code 0x0a/);
    await expect(data.readIdx(Uint8Array.of(0x50, 0x4b, 3, 4))).rejects.toThrow(/not an IDX file: it starts with 50 4b 03 04/);
    const gz = await gzip(good);
    await expect(data.readIdx(gz.slice(0, gz.length - 12))).rejects.toThrow(/gzip data is truncated or corrupt/);
    await expect(data.readIdx(join(tmp, 'missing-file'))).rejects.toThrow(/cannot read .*missing-file/);
    await expect(data.encodeIdx({ shape: [3], dtype: 'u8', data: new Uint8Array(2) })).rejects.toThrow(/2 values do not fill shape \[3\]/);
  });

  test('gzip through the web streams matches node:zlib', async () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
    expect(await gunzip(await gzip(bytes, true), false)).toEqual(bytes);
    expect(await gunzip(await gzip(bytes, false), true)).toEqual(bytes);
  });

  test('idxDataset reads the standard MNIST file names, plain or gzipped, pixels scaled to [0, 1]', async () => {
    const dir = mkdtempSync(join(tmp, 'mnist-'));
    const images = (n: number) => ({ shape: [n, 2, 3], dtype: 'u8' as const, data: Uint8Array.from({ length: n * 6 }, (_, i) => (i * 51) % 256) });
    const labels = (n: number) => ({ shape: [n], dtype: 'u8' as const, data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
    await data.writeIdx(join(dir, 'train-images-idx3-ubyte.gz'), images(5), { gzip: true });
    await data.writeIdx(join(dir, 'train-labels-idx1-ubyte'), labels(5));
    await data.writeIdx(join(dir, 't10k-images.idx3-ubyte'), images(3));
    await data.writeIdx(join(dir, 't10k-labels-idx1-ubyte.gz'), labels(3), { gzip: true });
    const { train, test: held } = await data.idxDataset(dir, { backend: 'cpu' });
    expect([train.x.shape, train.y.shape, held.x.shape, held.y.dtype]).toEqual([[5, 6], [5], [3, 6], 'i32']);
    expect(await values(held.y)).toEqual([0, 1, 2]);
    const px = await values(train.x);
    px.forEach((v, i) => expect(v).toBeCloseTo(((i * 51) % 256) / 255, 6));
    const shaped = await data.idxDataset(dir, { backend: 'cpu', flatten: false });
    expect(shaped.train.x.shape).toEqual([5, 2, 3]);
    for (const d of [train, held, shaped.train, shaped.test]) d.dispose();
    await data.writeIdx(join(dir, 't10k-labels-idx1-ubyte.gz'), labels(4), { gzip: true });
    await expect(data.idxDataset(dir, { backend: 'cpu' })).rejects.toThrow(/t10k has 3 images but 4 labels/);
    writeFileSync(join(dir, 'stray'), '');
    rmSync(join(dir, 'train-images-idx3-ubyte.gz'));
    await expect(data.idxDataset(dir, { backend: 'cpu' })).rejects.toThrow(/no train images file in .* \(tried train-images-idx3-ubyte, train-images-idx3-ubyte.gz/);
  });
});
