/**
 * The README's `npm run example` (demo/tiny-mlp.mjs on the built package): it must run and learn the
 * spirals on the CPU backend and on WebGPU. It once stopped learning on WebGPU after a kernel change
 * that every op test passed (its optimizer sat on the edge of stability), so it is run here as a
 * user runs it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { availableBackends } from './setup-backends';

const root = fileURLToPath(new URL('..', import.meta.url));
const backends = await availableBackends();

function example(...args: string[]): Promise<{ code: number; out: string }> {
  if (!existsSync(join(root, 'dist', 'webtrain.js'))) throw new Error('dist/webtrain.js is missing: run `npm run build` first (npm test does)');
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'demo', 'tiny-mlp.mjs'), ...args], { cwd: root, timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr });
    });
  });
}

describe.each(backends)('npm run example on %s', (backend) => {
  test('runs, prints the device, the loss falls below 0.1 and the spirals are learned', async () => {
    const { code, out } = await example(...(backend === 'cpu' ? ['--cpu'] : []));
    expect(code, out).toBe(0);
    expect(out).toMatch(new RegExp(`^device: ${backend} `, 'm'));
    const losses = [...out.matchAll(/^step +\d+ +loss ([\d.]+)$/gm)].map((m) => Number(m[1]));
    expect(losses.length, out).toBeGreaterThan(5);
    expect(losses.at(-1)!, out).toBeLessThan(0.1);
    expect(losses.at(-1)!, out).toBeLessThan(losses[0]!);
    const accuracy = Number(out.match(/^train accuracy ([\d.]+)%$/m)?.[1]);
    expect(accuracy, out).toBeGreaterThanOrEqual(95);
  });
});
