/**
 * Which backends the suite runs on. The CPU always; WebGPU when an adapter exists. On CI (CI=true)
 * a missing WebGPU adapter is a failure, not a skip: SwiftShader must be there.
 */
import * as wt from '../src/index';
import type { BackendName } from '../src/backend/backend';

export async function availableBackends(): Promise<BackendName[]> {
  await wt.init({ backend: 'cpu' });
  try {
    await wt.init({ backend: 'webgpu' });
    return ['cpu', 'webgpu'];
  } catch (e) {
    if (process.env.CI) throw new Error(`CI requires the WebGPU backend (SwiftShader): ${(e as Error).message}`);
    console.warn(`WebGPU unavailable, testing the CPU backend only: ${(e as Error).message}`);
    return ['cpu'];
  }
}
