// Runs test/deno/smoke.ts under Deno (the npm `deno` binary) against the built dist/webtrain.js
// and asserts on the JSON line it prints. `npm test` builds first; run `npm run build` before
// `vitest run test/deno.test.ts` on its own.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const swiftshaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface Smoke {
  rawAdapter?: { found: boolean; description?: string };
  backend?: { name: string; isFallback: boolean };
  got?: { c: number[]; loss: number; gradA: number[]; gradB: number[] };
  errors: string[];
}

describe('deno (built package, WebGPU via wgpu)', () => {
  it('matmul + backward on webgpu match hand-computed values', async () => {
    expect(existsSync(new URL('../dist/webtrain.js', import.meta.url)), 'dist/webtrain.js missing: run `npm run build`').toBe(true);

    const { stdout, stderr, code } = await runDeno([
      'run',
      '--unstable-webgpu',
      '--allow-read',
      '--allow-env',
      '--no-prompt', // a missing permission must fail, not wait for a TTY answer
      '--no-lock', // don't write deno.lock into the repo
      'test/deno/smoke.ts',
    ]);
    const line = stdout.split('\n').find((l) => l.startsWith('{"smoke"'));
    if (!line) throw new Error(`no result line from deno (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    const smoke = (JSON.parse(line) as { smoke: Smoke }).smoke;
    console.log(`deno adapter: ${smoke.rawAdapter?.description}; backend ${JSON.stringify(smoke.backend)}`);

    // A missing adapter is an environment failure (no Vulkan ICD), reported as such.
    expect(smoke.rawAdapter?.found, `navigator.gpu.requestAdapter() returned null in Deno\n${stderr}`).toBe(true);
    expect(smoke.errors, stderr).toEqual([]);
    expect(smoke.backend?.name).toBe('webgpu');
    expect(smoke.got?.loss).toBeCloseTo(764, 3);
    expect(code).toBe(0);
  });
});

function runDeno(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  // Same adapter as Chromium and the Node backend: SwiftShader, unless the caller chose a Vulkan
  // driver. Without this wgpu picks whatever Mesa offers (lavapipe, or llvmpipe GL) or nothing.
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(swiftshaderIcd)) {
    env.VK_ICD_FILENAMES = swiftshaderIcd;
  }
  return new Promise((resolve) => {
    execFile(deno, args, { cwd: repoRoot, env, timeout: 110_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}
