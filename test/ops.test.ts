import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { checkOp, OP_NAMES } from './op-table';
import { availableBackends } from './setup-backends';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { MATMUL_TILES } from '../src/ops/matmul';

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
  const before = { ...gpu.tuning };
  Object.assign(gpu.tuning, { tiledMatmul: true, matmulTile: config });
  try {
    expect(await checkOp(name, 'webgpu')).toEqual([]);
  } finally {
    Object.assign(gpu.tuning, before);
  }
});
