// `node bench/run.mjs --browser`: serves the repository with vite on 127.0.0.1, opens
// bench/browser/index.html in headless Chromium with WebGPU (SwiftShader here) and returns the
// page's results. Chromium's path and flags are the tests' (test/chromium.ts, loaded through vite).
import { createServer } from 'vite';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const PAGE_TIMEOUT_MS = 3_600_000; // a full software-adapter run of four engines takes many minutes

export async function runBenchInChromium({ quick, only, engine, log }) {
  const server = await createServer({
    root: repoRoot, configFile: false, logLevel: 'warn', publicDir: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    // The peers ship CommonJS dependencies (TF.js: long, seedrandom): vite pre-bundles them, in one
    // pass so tfjs-core and its WebGPU backend share one engine.
    optimizeDeps: {
      noDiscovery: true,
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
    },
  });
  await server.listen();
  let browser;
  try {
    const { launchChromium, watchPage } = await server.ssrLoadModule('/test/chromium.ts');
    const { port } = server.httpServer.address();
    browser = await launchChromium(PAGE_TIMEOUT_MS);
    const page = await browser.newPage();
    const failed = watchPage(page);
    page.on('console', (msg) => { if (msg.type() === 'log') log(`[chromium] ${msg.text()}`); });
    const query = new URLSearchParams({ ...(quick ? { quick: '1' } : {}), ...(only ? { only } : {}), ...(engine ? { engine } : {}) });
    await page.goto(`http://127.0.0.1:${port}/bench/browser/index.html?${query}`, { waitUntil: 'load' });
    await Promise.race([
      page.waitForFunction(() => window.__bench !== undefined || window.__benchError !== undefined, { timeout: PAGE_TIMEOUT_MS, polling: 1000 }),
      failed,
    ]);
    const { results, error } = await page.evaluate(() => ({ results: window.__bench, error: window.__benchError }));
    if (error) throw new Error(`benchmark page failed: ${error}`);
    return results;
  } finally {
    await browser?.close();
    await server.close();
  }
}
