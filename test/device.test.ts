/** The WebGPU device: what init reports, and device loss turned into a clear, recoverable error. */
import { afterAll, expect, test } from 'vitest';
import * as wt from '../src/index';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

test.runIf(backends.includes('webgpu'))('init reports the adapter, its limits and whether it is a software fallback', async () => {
  const info = await wt.init({ backend: 'webgpu' });
  expect(info.name).toBe('webgpu');
  expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  expect(typeof info.isFallback).toBe('boolean');
  if (/swiftshader/i.test(JSON.stringify(info.adapter))) expect(info.isFallback).toBe(true);
  // Subgroups only where the device was given the feature; the kernels it can run include the tiled one.
  expect(info.subgroups).toBe((getBackend('webgpu') as WebGPUBackend).subgroups);
  if (info.subgroups) expect(info.features).toContain('subgroups');
  expect(info.matmulKernels).toContain('tiled');
});

test.runIf(backends.includes('webgpu'))('a tensor over the binding-size limit fails with an error naming the limit', async () => {
  await wt.init({ backend: 'webgpu' });
  const limit = wt.backend().limits.maxStorageBufferBindingSize;
  const n = Math.floor(limit / 4) + 1;
  expect(() => wt.zeros([n])).toThrow(new RegExp(`fill: a tensor of ${n * 4} bytes exceeds this device's maxStorageBufferBindingSize of ${limit} bytes`));
});

test.runIf(backends.includes('webgpu'))('emptyCache gives pooled buffers back to the device; live tensors and later ops are unaffected', async () => {
  await wt.init({ backend: 'webgpu' });
  const created = (wt.stats().buffersCreated);
  const x = wt.tensor([1, 2, 3, 4]);
  // A step that binds pooled buffers (so the bind-group cache names them), twice.
  for (let i = 0; i < 2; i++) wt.tidy(() => x.mul(2).add(1).exp().sum());
  wt.flush();
  expect(wt.memory().pooledBytes).toBeGreaterThan(0);
  const pooled = wt.memory().pooledBytes;
  expect(await wt.emptyCache()).toBe(pooled);
  expect(wt.memory().pooledBytes).toBe(0);
  // The same step again gets fresh buffers (none of the destroyed ones, nor their cached bind groups).
  const y = wt.tidy(() => x.mul(2).add(1));
  expect(Array.from(await y.data())).toEqual([3, 5, 7, 9]);
  expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
  expect(wt.stats().buffersCreated).toBeGreaterThan(created);
  x.dispose();
  y.dispose();
  expect(await wt.emptyCache()).toBeGreaterThan(0);
  expect(await wt.emptyCache()).toBe(0);
});

test.runIf(backends.includes('webgpu'))('autotuneMatmul times the tile candidates, installs a table by output size and reuses a stored one', async () => {
  await wt.init({ backend: 'webgpu' });
  const tuning = wt.tuning();
  const before = { ...tuning };
  if (tuning.matmulKernel !== 'tiled') await expect(wt.autotuneMatmul()).rejects.toThrow(/(untiled|subgroup) matmul kernel .* no tiles to tune/);
  const store = new Map<string, string>();
  (globalThis as { localStorage?: unknown }).localStorage = {
    getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v),
  };
  try {
    tuning.matmulKernel = 'tiled'; // software adapters too: the tiles are what is tested here
    const candidates = [wt.MATMUL_TILES.tiny, wt.MATMUL_TILES.small];
    const opts = { sizes: [24, 8], candidates, minBlockMs: 1 };
    const measured = await wt.autotuneMatmul(opts);
    expect(measured.source).toBe('measured');
    expect(measured.table.map((c) => c.upTo)).toEqual([8 * 24, null]);
    for (const c of measured.table) expect(candidates).toContainEqual(c.tile);
    expect(measured.timings.map((t) => [t.size, t.ms.length])).toEqual([[8, 2], [24, 2]]);
    expect(measured.timings.flatMap((t) => t.ms).every((ms) => ms > 0)).toBe(true);
    expect(tuning.matmulTable).toEqual(measured.table);
    expect(tuning.matmulTile).toBe(before.matmulTile); // the forced tile is restored
    // Products use the table's tiles and stay correct.
    const a = wt.randn([30, 20], { seed: 3 });
    const b = wt.randn([20, 40], { seed: 4 });
    const got = await a.matmul(b).data();
    const want = await wt.tensor(await a.data(), [30, 20], { backend: 'cpu' }).matmul(wt.tensor(await b.data(), [20, 40], { backend: 'cpu' })).data();
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    // The second call reads the stored table: no kernel runs.
    const dispatches = wt.stats().dispatches;
    const stored = await wt.autotuneMatmul(opts);
    expect(stored.source).toBe('stored');
    expect(stored.table).toEqual(measured.table);
    expect(wt.stats().dispatches).toBe(dispatches);
    // A corrupt stored entry is measured again; force re-times.
    for (const k of store.keys()) store.set(k, '{not json');
    expect((await wt.autotuneMatmul(opts)).source).toBe('measured');
    expect((await wt.autotuneMatmul({ ...opts, force: true })).source).toBe('measured');
  } finally {
    delete (globalThis as { localStorage?: unknown }).localStorage;
    Object.assign(tuning, before);
    tuning.matmulTable = before.matmulTable;
  }
});

test.runIf(backends.includes('webgpu'))('device loss: pending reads reject, later ops throw DeviceLostError, init() recovers', async () => {
  await wt.init({ backend: 'webgpu' });
  const x = wt.tensor([1, 2, 3]);
  const y = x.mul(2);
  const pending = y.data();
  (getBackend('webgpu') as WebGPUBackend).device.destroy(); // as a driver reset would
  await expect(pending).rejects.toThrow(wt.DeviceLostError);
  await new Promise((r) => setTimeout(r, 50));
  expect(() => x.add(1)).toThrow(wt.DeviceLostError);
  expect(() => x.add(1)).toThrow(/device was lost .* call `await wt.init\(\)`/);
  await expect(x.data()).rejects.toThrow(wt.DeviceLostError);

  const info = await wt.init();
  expect(info.name).toBe('webgpu');
  expect(await wt.tensor([1, 2]).mul(3).array()).toEqual([3, 6]);
});
