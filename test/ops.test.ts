import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { checkOp, OP_NAMES } from './op-table';
import { availableBackends } from './setup-backends';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { MATMUL_TILES } from '../src/ops/matmul';
import { OPS } from '../src/ops/registry';
import { apply } from '../src/runtime';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

describe.each(backends)('%s', (backend) => {
  test.each(OP_NAMES)('%s', async (name) => {
    expect(await checkOp(name, backend)).toEqual([]);
  });
});

// Each adapter runs one matmul variant (see WebGPUBackend.tuning); run the other one here too.
test.runIf(backends.includes('webgpu')).each(['matmul', 'linear'] as const)('%s, the kernel variant this adapter does not pick', async (name) => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  gpu.tuning.tiledMatmul = !gpu.tuning.tiledMatmul;
  try {
    expect(await checkOp(name, 'webgpu')).toEqual([]);
  } finally {
    gpu.tuning.tiledMatmul = !gpu.tuning.tiledMatmul;
  }
});

// The tiled kernel picks its tile by output size, so the op table's small samples mostly meet the
// small tile: force each configuration in turn (ragged multi-tile samples included).
const tiles = Object.entries(MATMUL_TILES).flatMap(([tile, config]) => (['matmul', 'linear'] as const).map((name) => [name, tile, config] as const));
test.runIf(backends.includes('webgpu')).each(tiles)('%s, tiled kernel with the %s tile', async (name, _tile, config) => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  const before = { tiledMatmul: gpu.tuning.tiledMatmul, matmulTile: gpu.tuning.matmulTile };
  Object.assign(gpu.tuning, { tiledMatmul: true, matmulTile: config });
  try {
    expect(await checkOp(name, 'webgpu')).toEqual([]);
  } finally {
    Object.assign(gpu.tuning, before); // matmulTile back to unset: later tests pick tiles by shape
  }
});

// Split-K: a small output with a long K is summed by several workgroups per tile over K ranges,
// then added up (2 dispatches). Too large for the op table's per-element finite differences, so
// checked here against the CPU, every transpose, K a multiple of the splits' chunk or not.
test.runIf(backends.includes('webgpu')).each([
  [false, false, 8200], [true, false, 8200], [false, true, 4133], [true, true, 4133],
] as const)('matmul split over K (transA %s, transB %s, K %i) equals the CPU product', async (transA, transB, k) => {
  const gpu = getBackend('webgpu') as WebGPUBackend;
  const before = gpu.tuning.tiledMatmul;
  gpu.tuning.tiledMatmul = true; // software adapters too: the tiled kernel is the one that splits
  try {
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
  } finally {
    gpu.tuning.tiledMatmul = before;
  }
});
