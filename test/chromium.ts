// Headless Chromium with WebGPU, shared by the browser tests (browser.test.ts: the library's smoke
// suite; demo.test.ts: the demo page end to end): where Chromium is, its flags, when a test may skip,
// and watching a page's console and failed scripts.
//
// Chromium gets WebGPU without a GPU through SwiftShader (Vulkan on the CPU); it only exposes
// navigator.gpu on a secure origin, hence pages served from http://127.0.0.1 rather than about:blank.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer';

export const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';

export const CHROME_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
  '--no-sandbox', // CI runs as root, where Chromium's sandbox refuses to start
  '--disable-dev-shm-usage', // containers often have a 64 MB /dev/shm
  // The machine has no network: keep Chromium from stalling on background fetches.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Whether a browser test file must skip: only on a developer machine without Chromium. In CI a
 * missing browser is a failure (the tests run and fail to launch it). Warns when skipping.
 */
export function skipWithoutChromium(file: string): boolean {
  const skip = !existsSync(chromePath) && !process.env.CI;
  if (skip) console.warn(`${file}: SKIPPED, no Chromium at ${chromePath} (install Debian's chromium or set CHROME_PATH)`);
  return skip;
}

/** Headless Chromium with the flags above; CDP calls may take `protocolTimeoutMs` (slow SwiftShader pages). */
export function launchChromium(protocolTimeoutMs: number, extra: { width: number; height: number } | null = null): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromePath,
    headless: true,
    args: CHROME_ARGS,
    protocolTimeout: protocolTimeoutMs,
    defaultViewport: extra ? { width: extra.width, height: extra.height } : undefined,
  });
}

/**
 * Forwards the page's errors and warnings (everything with WT_BROWSER_VERBOSE) to the test's output,
 * and returns a promise that rejects as soon as the server answers a script or the page itself with
 * an HTTP error (the page's script would then never run, and a wait for it would only time out).
 */
export function watchPage(page: Page): Promise<never> {
  let failed: (reason: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => {}); // observed only by whoever races it
  page.on('console', (msg) => {
    const type = msg.type();
    // Chromium's advice when a test reads a canvas's pixels several times: noise, not a problem of the page.
    if (msg.text().includes('willReadFrequently')) return;
    if (type === 'error' || type === 'warn' || process.env.WT_BROWSER_VERBOSE) console.log(`[page ${type}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => console.log(`[page uncaught] ${err instanceof Error ? err.stack : err}`));
  page.on('response', (res) => {
    // Scripts and the page only: a 404 for /favicon.ico is no reason to fail.
    const kind = res.request().resourceType();
    if (res.status() >= 400 && (kind === 'script' || kind === 'document')) {
      failed(new Error(`the server answered ${res.status()} for ${res.url()} (see the vite error above)`));
    }
  });
  return failure;
}
