// Headless Chromium smoke test: vite serves test/browser/ straight from the TypeScript source (the
// same `?raw` shader imports the library build uses), puppeteer loads it, and the page reports
// back through window.__result / window.__error (see test/browser/main.ts). Chromium's flags and
// the skip rule live in test/chromium.ts (shared with demo.test.ts).
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'puppeteer';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserResult } from './browser/main.ts';
import { launchChromium, skipWithoutChromium, watchPage } from './chromium.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** SwiftShader compiles every pipeline on the CPU: the op table alone takes a while. */
const PAGE_TIMEOUT_MS = 240_000;

// Only a developer machine without Chromium may skip; in CI a missing browser is a failure.
const skip = skipWithoutChromium('browser.test.ts');

describe.skipIf(skip)('browser (headless Chromium, WebGPU via SwiftShader)', () => {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  let outcome: { result?: BrowserResult; error?: string } = {};

  beforeAll(async () => {
    server = await createServer({
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      root: repoRoot,
      logLevel: 'warn',
      // Nothing to pre-bundle for the page, and discovery would try to bundle `webgpu` (Dawn for
      // Node, reached only behind a runtime check) for the browser.
      optimizeDeps: { noDiscovery: true, include: [] },
      server: {
        host: '127.0.0.1',
        port: 0,
        strictPort: false,
        hmr: false,
        watch: null,
        fs: { allow: [repoRoot] },
      },
    });
    await server.listen();
    const { port } = server.httpServer!.address() as AddressInfo;

    browser = await launchChromium(PAGE_TIMEOUT_MS + 60_000);
    const page = await browser.newPage();
    outcome = await runPage(page, `http://127.0.0.1:${port}/test/browser/index.html`);
  }, PAGE_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The page's result, or the page's error as this test's failure. */
  function result(): BrowserResult {
    if (outcome.error !== undefined) throw new Error(`page failed:\n${outcome.error}`);
    if (!outcome.result) throw new Error('page produced no result');
    return outcome.result;
  }

  /** One stage's output, or that stage's error (thrown in the page) as this test's failure. */
  function part<K extends 'backend' | 'opTable' | 'losses'>(key: K, stage: keyof BrowserResult['errors']) {
    const r = result();
    const error = r.errors[stage] ?? (stage !== 'init' ? r.errors.init : undefined);
    if (error !== undefined) throw new Error(`page stage '${stage}' threw:\n${error}`);
    return r[key]!;
  }

  it('finds a WebGPU adapter', () => {
    const { rawAdapter } = result();
    // A missing adapter means the Chromium flags or the SwiftShader ICD are broken, not the library.
    expect(rawAdapter.found, 'navigator.gpu.requestAdapter() returned null').toBe(true);
    console.log(`adapter: ${rawAdapter.description} (${rawAdapter.vendor}/${rawAdapter.architecture})`);
  });

  it('wt.init() picks the webgpu backend', () => {
    expect(part('backend', 'init').name).toBe('webgpu');
  });

  it('op table: every op matches the CPU reference on the GPU', () => {
    const opTable = part('opTable', 'opTable');
    console.log(`op table: ${opTable.checked} samples checked on webgpu`);
    expect(opTable.failures).toEqual([]);
    expect(opTable.checked).toBeGreaterThan(0);
  });

  it('a tiny MLP trained with raw ops lowers its loss', () => {
    const losses = part('losses', 'train');
    expect(result().trainBackend).toBe('webgpu');
    expect(losses.length).toBeGreaterThan(1);
    expect(losses.every(Number.isFinite), `losses: ${losses.join(', ')}`).toBe(true);
    expect(losses.at(-1)!, `losses: ${losses.join(', ')}`).toBeLessThan(losses[0]!);
  });
});

/**
 * Loads the page and waits for its report. Fails fast when vite cannot serve a module (the page
 * script would never run, so nothing would ever be reported) and names the stage a timeout hit.
 */
async function runPage(page: Page, url: string): Promise<{ result?: BrowserResult; error?: string }> {
  const moduleFailure = watchPage(page);

  await page.goto(url, { waitUntil: 'load' });
  try {
    await Promise.race([
      page.waitForFunction(() => window.__result !== undefined || window.__error !== undefined, {
        timeout: PAGE_TIMEOUT_MS,
        polling: 1000,
      }),
      moduleFailure,
    ]);
  } catch (e) {
    const stage = await page.evaluate(() => window.__stage).catch(() => undefined);
    return { error: `${e instanceof Error ? e.message : e} (page stage: ${stage ?? 'script never ran'})` };
  }
  return page.evaluate(() => ({ result: window.__result, error: window.__error }));
}
