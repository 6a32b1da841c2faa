// Runs in headless Chromium (served by vite from the source, see test/browser.test.ts): WebGPU
// init, the op table (GPU vs CPU), and a tiny MLP trained with raw ops. The Node side only reads
// window.__result / window.__error, so everything asserted must be plain JSON.
import * as wt from '../../src/index.ts';
import { runOpTable } from '../op-table.ts';

type Tensor = ReturnType<typeof wt.tensor>;

/** What the page reports back to the test. A stage that throws leaves its error in `errors` and the
 * stages that don't depend on it still run, so one broken op doesn't hide the training result. */
export interface BrowserResult {
  /** navigator.gpu.requestAdapter() before the library touches it: tells "no adapter" apart from a library bug. */
  rawAdapter: { found: boolean; description?: string; architecture?: string; vendor?: string };
  backend?: { name: string; isFallback: boolean };
  opTable?: { checked: number; failures: string[] };
  losses?: number[];
  /** Backend in effect while training: the op table must not leave the default switched. */
  trainBackend?: string;
  memory?: unknown;
  errors: Partial<Record<'init' | 'opTable' | 'train', string>>;
}

declare global {
  interface Window {
    __result?: BrowserResult;
    __error?: string;
    /** Last stage entered, read by the test when the page times out. */
    __stage?: string;
  }
}

run().then(
  (result) => {
    window.__result = result;
  },
  (e: unknown) => {
    window.__error = e instanceof Error ? String(e.stack ?? e) : String(e);
  },
);

async function run(): Promise<BrowserResult> {
  stage('adapter');
  const adapter = await navigator.gpu?.requestAdapter();
  const result: BrowserResult = {
    rawAdapter: adapter
      ? {
          found: true,
          description: adapter.info.description,
          architecture: adapter.info.architecture,
          vendor: adapter.info.vendor,
        }
      : { found: false },
    errors: {},
  };

  const attempt = async (name: keyof BrowserResult['errors'], fn: () => Promise<void>): Promise<boolean> => {
    stage(name);
    try {
      await fn();
      return true;
    } catch (e) {
      result.errors[name] = e instanceof Error ? String(e.stack ?? e) : String(e);
      console.error(`${name} failed: ${result.errors[name]}`);
      return false;
    }
  };

  const ready = await attempt('init', async () => {
    await wt.init();
    const b = wt.backend();
    result.backend = { name: b.name, isFallback: b.isFallback };
  });
  if (ready) {
    await attempt('opTable', async () => {
      result.opTable = await runOpTable(wt);
    });
    await attempt('train', async () => {
      result.trainBackend = wt.backend().name;
      result.losses = await trainTinyMlp(30);
      result.memory = JSON.parse(JSON.stringify(wt.memory()));
    });
  }
  stage('done');
  return result;
}

/**
 * 2 → 8 (tanh) → 2 classifier on a 4×4 grid, full-batch SGD with the update written by hand,
 * so the test exercises matmul, broadcasting add, tanh, logSoftmax, gather and their vjps on the GPU.
 */
async function trainTinyMlp(steps: number, lr = 0.5): Promise<number[]> {
  const coords = [-1.5, -0.5, 0.5, 1.5];
  const xs: number[] = [];
  const ys: number[] = [];
  for (const u of coords) {
    for (const v of coords) {
      xs.push(u, v);
      ys.push(u + 0.5 * v > 0 ? 1 : 0); // never exactly 0 on this grid: no ambiguous labels
    }
  }
  const x = wt.tensor(xs, [16, 2]);
  const y = wt.tensor(ys, [16, 1], { dtype: 'i32' });

  // Fixed pseudo-random init (not wt.randn) so the starting loss is the same on every backend.
  const rand = lcg(7);
  const param = (shape: number[], scale: number): Tensor => {
    const n = shape.reduce((a, s) => a * s, 1);
    const values = Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
    return wt.tensor(values, shape, { requiresGrad: true });
  };
  const w1 = param([2, 8], 1);
  const b1 = param([8], 0.1);
  const w2 = param([8, 2], 0.5);
  const b2 = param([2], 0.1);
  const params = [w1, b1, w2, b2];

  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = await wt.tidy(async () => {
      const logits = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
      // NLL of the true class: -mean(log p[i, y_i])
      const nll = logits.logSoftmax(1).gather(1, y).mean().mul(-1);
      const value = await nll.item();
      nll.backward();
      wt.noGrad(() => {
        for (const p of params) p.assign(p.sub(p.grad!.mul(lr)));
      });
      for (const p of params) {
        p.grad?.dispose();
        p.grad = null;
      }
      return value;
    });
    losses.push(loss);
    if (step % 10 === 0) console.log(`train step ${step}: loss ${loss}`);
  }
  for (const t of [x, y, ...params]) t.dispose();
  return losses;
}

/** Park–Miller LCG in [0, 1): tiny, deterministic, good enough for an init. */
function lcg(seed: number): () => number {
  let s = seed % 2147483647;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s - 1) / 2147483646;
  };
}

function stage(name: string): void {
  window.__stage = name;
  console.log(`stage: ${name}`);
}
