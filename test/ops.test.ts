import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { checkOp, OP_NAMES } from './op-table';
import { availableBackends } from './setup-backends';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { MATMUL_TILES } from '../src/ops/matmul';
import { OPS } from '../src/ops/registry';
import { apply } from '../src/runtime';
import { broadcastShapes, broadcastStrides, mergeDims } from '../src/shape';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

/** Runs fn with some of the WebGPU backend's tuning fields overridden, then puts those fields back. */
async function withTuning<T>(overrides: Partial<WebGPUBackend['tuning']>, fn: () => T | Promise<T>): Promise<T> {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  const keys = Object.keys(overrides) as (keyof WebGPUBackend['tuning'])[];
  const before = Object.fromEntries(keys.map((k) => [k, gpu.tuning[k]])); // unset fields come back unset
  Object.assign(gpu.tuning, overrides);
  try {
    return await fn();
  } finally {
    Object.assign(gpu.tuning, before);
  }
}

describe.each(backends)('%s', (backend) => {
  test.each(OP_NAMES)('%s', async (name) => {
    expect(await checkOp(name, backend)).toEqual([]);
  });
});

// Each adapter picks one matmul kernel (see WebGPUBackend.tuning); run the others it can run here too.
const otherKernels = backends.includes('webgpu') ? (() => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  return gpu.matmulKernels.filter((k) => k !== gpu.tuning.matmulKernel);
})() : [];
test.runIf(otherKernels.length > 0).each(otherKernels.flatMap((kernel) => (['matmul', 'linear'] as const).map((name) => [name, kernel] as const)))(
  '%s, on the %s kernel', async (name, kernel) => {
    expect(await withTuning({ matmulKernel: kernel }, () => checkOp(name, 'webgpu'))).toEqual([]);
  });

test.runIf(backends.includes('webgpu'))('a matmul kernel the adapter cannot run fails with an error naming the kernels it can', async () => {
  await withTuning({ matmulKernel: 'nonesuch' as WebGPUBackend['tuning']['matmulKernel'] }, () => {
    expect(() => wt.ones([2, 3]).matmul(wt.ones([3, 2]))).toThrow(/matmul: tuning\(\)\.matmulKernel is 'nonesuch', which this adapter cannot run \(it has 'tiled', 'untiled'/);
  });
});

// Long rows (reductions, softmax, cross-entropy, norms): a workgroup per row on GPUs, a thread per
// row on software adapters; the samples marked 'workgroup path' run the other way here.
test.runIf(backends.includes('webgpu')).each(['sum', 'mean', 'max', 'min', 'argmax', 'softmax', 'logSoftmax', 'crossEntropy',
  'crossEntropyGrad', 'norm', 'normGrad', 'normStats'] as const)('%s, with reduceWorkgroups flipped', async (name) => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  expect(await withTuning({ reduceWorkgroups: !gpu.tuning.reduceWorkgroups }, () => checkOp(name, 'webgpu'))).toEqual([]);
});

// The workgroup path's sums: through subgroups (where the device has them) and through the tree.
const subgroupSums = backends.includes('webgpu') && (getBackend('webgpu') as WebGPUBackend).subgroups;
const subgroupChoices = subgroupSums ? [true, false] : [false];

// The kernels built on shaders/common/rows.wgsl, on their workgroup path with either combine.
test.runIf(backends.includes('webgpu')).each((['softmax', 'logSoftmax', 'crossEntropy', 'crossEntropyGrad', 'norm', 'normGrad',
  'normStats', 'validMean', 'validMeanGrad'] as const).flatMap((name) => subgroupChoices.map((sub) => [name, sub] as const)))(
  '%s on a workgroup per row, subgroupReductions %s', async (name, sub) => {
    expect(await withTuning({ reduceWorkgroups: true, subgroupReductions: sub }, () => checkOp(name, 'webgpu'))).toEqual([]);
  });
test.runIf(backends.includes('webgpu')).each((['sum', 'mean'] as const).flatMap((name) => subgroupChoices.map((sub) => [name, sub] as const)))(
  '%s on a workgroup per output, subgroupReductions %s', async (name, sub) => {
    await withTuning({ reduceWorkgroups: true, subgroupReductions: sub }, async () => {
      expect(await checkOp(name, 'webgpu')).toEqual([]);
      // A long sum (a 256-thread workgroup's partials over 4,000 values) against float64.
      const values = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i) * 3);
      const x = wt.tensor(values, [2, 2000]);
      const got = await x.sum(1).data();
      for (const [row, s] of [0, 1].map((r) => [r, values.slice(r * 2000, (r + 1) * 2000).reduce((a, v) => a + v, 0)])) {
        expect(Math.abs(got[row] - s)).toBeLessThan(1e-3);
      }
      x.dispose();
    });
  });

// A thread per output may sum millions of values (software adapters): it sums with compensation,
// so the f32 result stays within a few ulps of the exact sum instead of drifting by ~n·ε.
test.runIf(backends.includes('webgpu'))('a long sum on one thread per output stays accurate', async () => {
  await withTuning({ reduceWorkgroups: false }, async () => {
    const n = 1 << 21;
    // Values whose f32 running sum rounds the same way for long stretches (a plain loop is off by 0.7%).
    const values = Float32Array.from({ length: n }, (_, i) => 0.1 + (i % 7) * 1e-3);
    const exact = values.reduce((a, v) => a + v, 0); // float64
    const x = wt.tensor(values, [n]);
    const s = x.sum();
    expect(Math.abs((await s.item()) - exact) / exact).toBeLessThan(1e-6);
    x.dispose();
    s.dispose();
  });
});

// Broadcast elementwise ops merge dimensions first: up to 2 take a loop-free index path, more the
// per-dimension loop; both against the CPU.
test.runIf(backends.includes('webgpu')).each([
  [[4, 3, 5], [5], 2], [[4, 3, 5], [4, 3, 1], 2], [[2, 1, 6], [3, 1], 3], [[4, 3, 5], [3, 1], 3], [[2, 3, 4, 5], [3, 1, 5], 4],
] as const)('broadcast add %j + %j (%i dimensions after merging) equals the CPU', async (aShape, bShape, dims) => {
  const out = broadcastShapes('add', aShape, bShape);
  expect(mergeDims(out, broadcastStrides(aShape, out), broadcastStrides(bShape, out)).shape.length).toBe(dims);
  const a = wt.randn([...aShape], { seed: 61 });
  const b = wt.randn([...bShape], { seed: 62 });
  const got = await a.add(b).data();
  const cpu = wt.tensor(await a.data(), [...aShape], { backend: 'cpu' }).add(wt.tensor(await b.data(), [...bShape], { backend: 'cpu' }));
  expect(Array.from(got)).toEqual(Array.from(await cpu.data()));
});

// Strided copies (permute, slice) likewise: two merged dimensions or fewer take the loop-free path.
test.runIf(backends.includes('webgpu')).each([
  ['transpose', [6, 9], (t: wt.Tensor) => t.transpose()],
  ['2-D slice', [7, 9], (t: wt.Tensor) => t.slice([1, 2], [5, 4])],
  ['3-D permute that merges to 2', [3, 4, 5], (t: wt.Tensor) => t.permute([2, 0, 1])],
  ['3-D permute that stays 3', [3, 4, 5], (t: wt.Tensor) => t.permute([1, 0, 2])],
] as const)('%s of %j equals the CPU', async (_name, shape, f) => {
  const x = wt.randn([...shape], { seed: 63 });
  const got = await f(x).data();
  const want = await f(wt.tensor(await x.data(), [...shape], { backend: 'cpu' })).data();
  expect(Array.from(got)).toEqual(Array.from(want));
});

// The subgroup kernel lays its blocks along x and wraps into y past the device's workgroup-count
// limit; a low limit here makes a small product wrap (with a batch in z and a ragged last row).
test.runIf(backends.includes('webgpu') && (getBackend('webgpu') as WebGPUBackend).matmulKernels.includes('subgroup'))(
  'subgroup matmul kernel: blocks wrapped into a second grid dimension give the CPU product', async () => {
    const gpu = getBackend('webgpu') as WebGPUBackend;
    const before = { kernel: gpu.tuning.matmulKernel, limit: gpu.maxWorkgroupsPerDimension };
    gpu.tuning.matmulKernel = 'subgroup';
    Object.defineProperty(gpu, 'maxWorkgroupsPerDimension', { value: 3, configurable: true });
    try {
      const [a, b] = [wt.randn([2, 70, 9], { seed: 41 }), wt.randn([9, 100], { seed: 42 })]; // 5 x 4 blocks: 5 workgroups, 3 per row
      const d0 = gpu.stats.dispatches;
      const c = a.matmul(b);
      expect(gpu.stats.dispatches - d0).toBe(1);
      const cpu = wt.tensor(await a.data(), [2, 70, 9], { backend: 'cpu' }).matmul(wt.tensor(await b.data(), [9, 100], { backend: 'cpu' }));
      const [got, want] = [await c.data(), await cpu.data()];
      expect(got.length).toBe(2 * 70 * 100);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4);
      for (const t of [a, b, c, cpu]) t.dispose();
    } finally {
      gpu.tuning.matmulKernel = before.kernel;
      Object.defineProperty(gpu, 'maxWorkgroupsPerDimension', { value: before.limit, configurable: true });
    }
  });

// Row kernels lay their workgroups out in 2-D past the device's per-dimension limit (workgroupGrid);
// a limit of 3 makes 10 rows (a workgroup each) and 300 rows (a thread each, 64 per workgroup) wrap.
test.runIf(backends.includes('webgpu')).each([true, false])(
  'row reductions with workgroups wrapped into a second grid dimension equal the CPU (reduceWorkgroups %s)', async (workgroups) => {
    const gpu = getBackend('webgpu') as WebGPUBackend;
    const limit = gpu.maxWorkgroupsPerDimension;
    Object.defineProperty(gpu, 'maxWorkgroupsPerDimension', { value: 3, configurable: true });
    try {
      await withTuning({ reduceWorkgroups: workgroups }, async () => {
        for (const shape of [[10, 300], [300, 10]]) {
          const x = wt.randn(shape, { seed: 43 });
          const xc = wt.tensor(await x.data(), shape, { backend: 'cpu' });
          for (const f of [(t: wt.Tensor) => t.sum(1), (t: wt.Tensor) => t.softmax(1)]) {
            const [got, want] = [await f(x).data(), await f(xc).data()];
            expect(got.length).toBe(want.length);
            for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4);
          }
          x.dispose();
        }
      });
    } finally {
      Object.defineProperty(gpu, 'maxWorkgroupsPerDimension', { value: limit, configurable: true });
    }
  });

// The tiled kernel picks its tile by output size, so the op table's small samples mostly meet the
// small tile: force each configuration in turn (ragged multi-tile samples included).
const tiles = Object.entries(MATMUL_TILES).flatMap(([tile, config]) => (['matmul', 'linear'] as const).map((name) => [name, tile, config] as const));
test.runIf(backends.includes('webgpu')).each(tiles)('%s, tiled kernel with the %s tile', async (name, _tile, config) => {
  // matmulTile goes back to unset afterwards: later tests pick tiles by shape.
  expect(await withTuning({ matmulKernel: 'tiled', matmulTile: config }, () => checkOp(name, 'webgpu'))).toEqual([]);
});

// Split-K: a small output with a long K is summed by several workgroups per tile over K ranges,
// then added up (2 dispatches). Too large for the op table's per-element finite differences, so
// checked here against the CPU, every transpose, K a multiple of the splits' chunk or not.
test.runIf(backends.includes('webgpu')).each([
  [false, false, 8200], [true, false, 8200], [false, true, 4133], [true, true, 4133],
] as const)('matmul split over K (transA %s, transB %s, K %i) equals the CPU product', async (transA, transB, k) => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  // Software adapters too: the tiled kernel is the one that splits.
  await withTuning({ matmulKernel: 'tiled' }, async () => {
    const [m, n] = [12, 20];
    const aShape = transA ? [k, m] : [m, k];
    const bShape = transB ? [n, k] : [k, n];
    const a = wt.randn(aShape, { seed: 31 });
    const b = wt.randn(bShape, { seed: 32 });
    const d0 = gpu.stats.dispatches;
    const c = apply(OPS.matmul, [a, b], { transA, transB });
    expect(gpu.stats.dispatches - d0).toBe(2); // the partial products, then their sum
    const cpu = apply(OPS.matmul, [wt.tensor(await a.data(), aShape, { backend: 'cpu' }), wt.tensor(await b.data(), bShape, { backend: 'cpu' })], { transA, transB }, 'cpu');
    const [got, want] = [await c.data(), await cpu.data()];
    expect(got.length).toBe(m * n);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-3 * Math.sqrt(k));
    for (const t of [a, b, c, cpu]) t.dispose();
  });
});
