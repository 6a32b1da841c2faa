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
});

test.runIf(backends.includes('webgpu'))('a tensor over the binding-size limit fails with an error naming the limit', async () => {
  await wt.init({ backend: 'webgpu' });
  const limit = wt.backend().limits.maxStorageBufferBindingSize;
  const n = Math.floor(limit / 4) + 1;
  expect(() => wt.zeros([n])).toThrow(new RegExp(`fill: a tensor of ${n * 4} bytes exceeds this device's maxStorageBufferBindingSize of ${limit} bytes`));
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
