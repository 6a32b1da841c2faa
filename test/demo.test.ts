// The demo page end to end: vite builds demo/ (as `npm run build:demo` does, into a temporary
// directory) and serves the build on 127.0.0.1; headless Chromium (WebGPU through SwiftShader, flags
// in test/chromium.ts) opens it, trains a small MLP on spirals from the playground's controls, and a
// wt.lab panel runs one experiment. The page reports what it did through window.__demo
// (demo/state.ts); what the charts drew is read back from their canvases' pixels.
//
// A screenshot of the trained playground goes to $TMPDIR/webtrain-demo-screenshots/ (with one of the
// lab panel), or to $WT_DEMO_SCREENSHOT:
// `npm run demo:screenshot` writes docs/demo.png (shown in the README) that way, training longer so
// the picture shows a finished decision boundary. The test itself never writes tracked files.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'puppeteer';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoState } from '../demo/state.ts';
import { launchChromium, skipWithoutChromium, watchPage } from './chromium.ts';

const configFile = fileURLToPath(new URL('../demo/vite.config.ts', import.meta.url));
const screenshotPath = process.env.WT_DEMO_SCREENSHOT;
/** Where the test's own screenshots go (kept after the run, overwritten by the next). */
const shotsDir = join(tmpdir(), 'webtrain-demo-screenshots');
/** For the README picture: a longer run, so the spirals are separated. */
const forPicture = screenshotPath !== undefined;
/** The whole file must stay well under 4 minutes on a 2-core machine with SwiftShader. */
const STEP_TIMEOUT_MS = 90_000;
/** tab10's first two colors: train curves and class 0 (blue), validation and class 1 (orange). */
const BLUE = [0x1f, 0x77, 0xb4];
const ORANGE = [0xff, 0x7f, 0x0e];

const skip = skipWithoutChromium('demo.test.ts');

describe.skipIf(skip)('demo page (built by vite, served on 127.0.0.1, headless Chromium with WebGPU)', () => {
  let outDir = '';
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let failure: Promise<never>;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'webtrain-demo-'));
    await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    const { port } = server.httpServer.address() as AddressInfo;
    browser = await launchChromium(STEP_TIMEOUT_MS + 60_000, { width: 1440, height: 1000 });
    page = await browser.newPage();
    failure = watchPage(page);
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' });
    await race(page.waitForFunction(() => window.__demo?.ready === true || window.__demo?.error !== undefined, { timeout: 60_000, polling: 200 }));
    const error = await page.evaluate(() => window.__demo?.error);
    if (error !== undefined) throw new Error(`the page failed to start: ${error}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** Fails as soon as the page's script or the page itself could not be loaded. */
  function race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, failure]);
  }

  const demo = (): Promise<DemoState> => page.evaluate(() => JSON.parse(JSON.stringify(window.__demo)) as DemoState);

  it('starts WebGPU and shows the adapter in use', async () => {
    const state = await demo();
    expect(state.backend?.name).toBe('webgpu');
    const badge = await page.$eval('#adapter', (el) => el.textContent ?? '');
    expect(badge).toContain('webgpu');
    expect(badge).toContain(state.backend!.adapter);
    console.log(`adapter shown: ${badge}`);
  });

  it('trains on spirals from the controls: the loss falls and the charts draw', async () => {
    const tensorsBefore = (await demo()).playground.liveTensors;
    // The controls, set as a person would (each change event resets the playground). The picture
    // uses the page's defaults (3 × 32 ReLU, 2,000 steps); the test a smaller net and 800 steps
    // (enough to still be training through the responsiveness check below on a fast adapter).
    const run = forPicture
      ? { perClass: 200, layers: 3, width: 32, lr: 0.01, batchSize: 16, epochs: 100 }
      : { perClass: 100, layers: 2, width: 16, lr: 0.03, batchSize: 40, epochs: 200 };
    await page.select('#pg-dataset', 'spirals');
    await setNumber(page, 'noise', 0.05);
    await page.select('#pg-activation', 'relu');
    await page.select('#pg-optimizer', 'adam');
    await page.select('#pg-schedule', 'cosine');
    for (const [name, value] of Object.entries(run)) await setNumber(page, name, value);
    const settings = (await demo()).playground.settings!;
    expect(settings).toMatchObject({ dataset: 'spirals', noise: 0.05, activation: 'relu', optimizer: 'adam', schedule: 'cosine', ...run });

    const started = performance.now();
    await page.click('#pg-start');
    await race(page.waitForFunction(() => window.__demo!.playground.epoch >= 3 || window.__demo!.playground.status === 'error',
      { timeout: STEP_TIMEOUT_MS, polling: 100 }));
    expect((await demo()).playground.error).toBeUndefined();

    // The page answers while it trains: over 1.5 s of training, timers keep firing (the longest gap
    // between two zero-delay timers is what a click or a repaint would wait at worst).
    const maxGap = await page.evaluate(() => new Promise<number>((resolve) => {
      const end = performance.now() + 1500;
      let last = performance.now();
      let max = 0;
      const tick = () => {
        const now = performance.now();
        max = Math.max(max, now - last);
        last = now;
        if (now < end) setTimeout(tick, 0);
        else resolve(max);
      };
      setTimeout(tick, 0);
    }));
    expect((await demo()).playground.status, 'training ended before the responsiveness check').toBe('training');
    console.log(`longest gap between timers while training: ${maxGap.toFixed(0)} ms`);
    expect(maxGap).toBeLessThan(500);

    // Pause holds the training still; Resume continues it.
    await page.click('#pg-pause');
    // 'paused' once the step in flight has finished and the loop is parked.
    await race(page.waitForFunction(() => window.__demo!.playground.status === 'paused', { timeout: 30_000, polling: 50 }));
    const pausedAt = (await demo()).playground.step;
    await sleep(1500);
    const paused = (await demo()).playground;
    expect(paused.status).toBe('paused');
    expect(paused.step).toBe(pausedAt);
    await page.click('#pg-start');

    await race(page.waitForFunction(() => ['done', 'error'].includes(window.__demo!.playground.status),
      { timeout: forPicture ? 600_000 : STEP_TIMEOUT_MS, polling: 250 }));
    // The picture first: it also shows what went wrong when a check below fails.
    mkdirSync(shotsDir, { recursive: true });
    const shot = screenshotPath ?? join(shotsDir, 'playground.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    console.log(`screenshot: ${shot}`);
    const pg = (await demo()).playground;
    console.log(`trained ${pg.epoch} epochs (${pg.step} steps) in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `train loss ${pg.history[0].trainLoss.toFixed(3)} → ${pg.history.at(-1)!.trainLoss.toFixed(3)}, ` +
      `validation ${pg.history[0].validLoss!.toFixed(3)} → ${pg.history.at(-1)!.validLoss!.toFixed(3)}`);
    expect(pg.error).toBeUndefined();
    expect(pg.status).toBe('done');
    expect(pg.epoch).toBe(run.epochs);
    expect(pg.step).toBeGreaterThan(paused.step);
    const first = pg.history[0];
    const last = pg.history.at(-1)!;
    expect(pg.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.validLoss))).toBe(true);
    expect(last.trainLoss).toBeLessThan(0.8 * first.trainLoss);
    expect(last.validLoss!).toBeLessThan(first.validLoss!);
    expect(last.trainAccuracy!).toBeGreaterThan(first.trainAccuracy!);
    // The cosine schedule took the learning rate from lr down towards 0 over the run.
    expect(first.lr).toBeGreaterThan(0.9 * run.lr);
    expect(last.lr).toBeLessThan(0.01 * run.lr);
    // The status line shows the last epoch's numbers.
    expect(await page.$eval('#pg-status', (el) => el.textContent)).toContain(`epoch ${pg.epoch}:`);

    // Loss and accuracy: uPlot drew the train (blue) and validation (orange) curves.
    for (const chart of ['loss', 'accuracy']) {
      expect(await countColor(page, `[data-chart="${chart}"] canvas`, BLUE), `${chart}: train curve pixels`).toBeGreaterThan(100);
      expect(await countColor(page, `[data-chart="${chart}"] canvas`, ORANGE), `${chart}: validation curve pixels`).toBeGreaterThan(100);
    }
    // Decision boundary: the data points in both class colors, and a map tinted blue in one region
    // and orange in another (a model that had not separated the classes would tint neither).
    expect(pg.boundaryDraws).toBeGreaterThan(0);
    expect(await countColor(page, '[data-chart="boundary"] canvas', BLUE)).toBeGreaterThan(200);
    expect(await countColor(page, '[data-chart="boundary"] canvas', ORANGE)).toBeGreaterThan(200);
    const tint = await tints(page, '[data-chart="boundary"] canvas');
    console.log(`decision map: ${(100 * tint.blue).toFixed(0)}% blue-tinted, ${(100 * tint.orange).toFixed(0)}% orange-tinted pixels`);
    expect(tint.blue).toBeGreaterThan(0.1);
    expect(tint.orange).toBeGreaterThan(0.1);
    // Histograms: one stepped series per layer (in the legend), the first one (blue) drawn. Later
    // layers may hide behind each other where their distributions coincide, so only the first is counted.
    expect(pg.histogramDraws).toBeGreaterThan(0);
    const legend = (chart: string) => page.$$eval(`[data-chart="${chart}"] .u-legend .u-series`, (els) => els.length - 1); // minus the x entry
    expect(await legend('weights')).toBe(run.layers + 1);
    expect(await legend('activations')).toBe(run.layers);
    for (const chart of ['weights', 'activations']) {
      expect(await countColor(page, `[data-chart="${chart}"] canvas`, BLUE), `${chart}: first layer`).toBeGreaterThan(50);
    }

    // Reset frees the data, the model, its optimizer and every tensor the views made: a second run
    // and Reset leave exactly as many live tensors as the first. (Not zero: the library keeps the
    // scalar constants it has uploaded, e.g. the batch size, in a small cache.)
    const resetAndCount = async () => {
      await page.click('#pg-reset');
      await race(page.waitForFunction(() => window.__demo!.playground.status === 'idle' && window.__demo!.playground.epoch === 0, { timeout: 10_000 }));
      return (await demo()).playground.liveTensors;
    };
    const afterFirst = await resetAndCount();
    await setNumber(page, 'epochs', 5);
    await page.click('#pg-start');
    await race(page.waitForFunction(() => ['done', 'error'].includes(window.__demo!.playground.status), { timeout: 30_000, polling: 100 }));
    expect((await demo()).playground.epoch).toBe(5);
    expect(await resetAndCount(), `live tensors before any training: ${tensorsBefore}`).toBe(afterFirst);

  }, forPicture ? 700_000 : STEP_TIMEOUT_MS + 30_000);

  it('trains on the bundled MNIST digits and shows predictions', async () => {
    await page.select('#pg-dataset', 'mnist');
    for (const [name, value] of Object.entries({ layers: 1, width: 32, lr: 0.01, batchSize: 64, epochs: 2 })) await setNumber(page, name, value);
    await page.click('#pg-start');
    await race(page.waitForFunction(() => ['done', 'error'].includes(window.__demo!.playground.status),
      { timeout: STEP_TIMEOUT_MS, polling: 250 }));
    const pg = (await demo()).playground;
    expect(pg.error).toBeUndefined();
    expect(pg.history).toHaveLength(2);
    console.log(`mnist: validation accuracy ${pg.history.map((h) => (100 * h.validAccuracy!).toFixed(1) + '%').join(' → ')}`);
    // 3,000 digits, 2,400 to train on: 76 steps are enough to be far above chance (10%).
    expect(pg.history[1].validAccuracy!).toBeGreaterThan(0.5);
    expect(await page.$eval('[data-chart="boundary"]', (el) => (el as HTMLElement).hidden)).toBe(true);
    const digits = await page.$$eval('[data-chart="digits"] figure', (figs) => figs.map((f) => ({
      label: f.querySelector('figcaption')!.textContent,
      // Ink on the 28 × 28 canvas: dark pixels where the digit is drawn.
      ink: (() => {
        const c = f.querySelector('canvas')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++;
        return n;
      })(),
    })));
    expect(digits).toHaveLength(24);
    expect(digits.every((d) => /^[0-9]$/.test(d.label ?? '') && d.ink > 20)).toBe(true);
  }, STEP_TIMEOUT_MS + 30_000);

  it('opens a wt.lab panel, runs its experiment and plots the result', async () => {
    const state = await demo();
    const id = ['tanhSurface', 'interpolation'].find((x) => state.lab.experiments.includes(x));
    expect(id, `lab panels: ${state.lab.experiments.join(', ') || 'none'}`).toBeDefined();
    await page.click(`#tabs a[data-panel="lab/${id}"]`);
    await race(page.waitForFunction((p) => window.__demo!.panel === p, { timeout: 5_000 }, `lab/${id}`));
    const panel = `.lab-panel[data-experiment="${id}"]`;
    expect(await page.$eval(panel, (el) => (el as HTMLElement).hidden || el.getBoundingClientRect().height === 0)).toBe(false);
    expect(await page.$eval('#panel-playground', (el) => (el as HTMLElement).hidden)).toBe(true);
    // Small settings where the experiment has them (each is a field named after its default).
    for (const [name, value] of Object.entries(SMALL_LAB_SETTINGS[id!] ?? {})) await setNumber(page, name, value, panel);

    const started = performance.now();
    await page.click(`${panel} [data-action="run"]`);
    await race(page.waitForFunction((x) => window.__demo!.lab.last?.id === x || window.__demo!.lab.error !== undefined,
      { timeout: STEP_TIMEOUT_MS, polling: 200 }, id));
    const lab = (await demo()).lab;
    expect(lab.error).toBeUndefined();
    console.log(`lab ${id}: ${lab.last!.plots} plots, ${lab.last!.heatmaps} heatmaps in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `summary ${JSON.stringify(lab.last!.summary)}`);
    expect(lab.last!.plots + lab.last!.heatmaps).toBeGreaterThan(0);
    // Each plot is a uPlot chart with its first series drawn; each heatmap shows a range of colors.
    const plots = await page.$$eval(`${panel} [data-chart="lab-plot"]`, (els) => els.length);
    const heatmaps = await page.$$eval(`${panel} [data-chart="lab-heatmap"]`, (els) => els.length);
    expect(plots).toBe(lab.last!.plots);
    expect(heatmaps).toBe(lab.last!.heatmaps);
    if (plots > 0) expect(await countColor(page, `${panel} [data-chart="lab-plot"] canvas`, BLUE)).toBeGreaterThan(50);
    if (heatmaps > 0) expect(await distinctColors(page, `${panel} [data-chart="lab-heatmap"] canvas`)).toBeGreaterThan(20);
    expect(await page.$eval(`${panel} .lab-message`, (el) => el.textContent)).toMatch(/^done in/);
    mkdirSync(shotsDir, { recursive: true });
    await page.screenshot({ path: join(shotsDir, `lab-${id}.png`) as `${string}.png`, fullPage: true });
  }, STEP_TIMEOUT_MS + 30_000);
});

/** Settings that keep an experiment short on SwiftShader (only names its defaults have are set). */
const SMALL_LAB_SETTINGS: Record<string, Record<string, number>> = {
  tanhSurface: {},
  interpolation: {},
};

/** Sets a number field (by name, in `scope`) and fires its change event, as typing and leaving it would. */
async function setNumber(page: Page, name: string, value: number, scope = '#pg-form'): Promise<void> {
  const found = await page.$eval(scope, (form, n, v) => {
    const el = form.querySelector<HTMLInputElement>(`[name="${n}"]`);
    if (!el) return false;
    el.value = String(v);
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  }, name, value);
  if (!found) throw new Error(`no field named '${name}' in ${scope}`);
}

/** Pixels of the first canvas matching `selector` within ±12 of `rgb` (opaque). */
function countColor(page: Page, selector: string, rgb: number[]): Promise<number> {
  return page.$eval(selector, (canvas, [r, g, b]) => {
    const c = canvas as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && Math.abs(d[i] - r) <= 12 && Math.abs(d[i + 1] - g) <= 12 && Math.abs(d[i + 2] - b) <= 12) n++;
    }
    return n;
  }, rgb);
}

/**
 * Shares of the canvas's pixels tinted blue (b > r + 20) and orange (r > b + 20), leaving out the
 * saturated colors of the data points themselves: what remains is the map's pale background.
 */
function tints(page: Page, selector: string): Promise<{ blue: number; orange: number }> {
  return page.$eval(selector, (canvas, points) => {
    const c = canvas as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let blue = 0;
    let orange = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 200) continue;
      if (points.some(([r, g, b]) => Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 90)) continue;
      if (d[i + 2] > d[i] + 20) blue++;
      else if (d[i] > d[i + 2] + 20) orange++;
    }
    const n = d.length / 4;
    return { blue: blue / n, orange: orange / n };
  }, [BLUE, ORANGE]);
}

/** Number of distinct opaque colors (quantized to 5 bits per channel) on the canvas. */
function distinctColors(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (canvas) => {
    const c = canvas as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) seen.add(((d[i] >> 3) << 10) | ((d[i + 1] >> 3) << 5) | (d[i + 2] >> 3));
    return seen.size;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
