/**
 * wt.lab, issue 9's last experiments: biasVariance (the decomposition checked against its exact
 * identity from the returned predictions), minimaSpread (the spread read back from the table), and
 * deconstructingTickets (mask criteria at exact sparsities; the supermask over frozen weights, with
 * its straight-through gradient checked against an independent computation). Tiny settings, mostly
 * on the CPU backend; one WebGPU case.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { Tensor } from '../src/tensor';
import { availableBackends } from './setup-backends';
import { leaksOf, runChecked } from './lab-checks';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

async function values(ts: Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.data())));
}


/**
 * Two Gaussian blobs at (±2, 0), σ = 0.5: linearly separable in practice. Drawn here with a plain
 * LCG and Box–Muller, independent of wt.data.
 */
function twoBlobs(n: number, seed: number, backend: 'cpu' | 'webgpu') {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 2 * n; i++) {
    const c = i % 2;
    const r = Math.sqrt(-2 * Math.log(u()));
    const a = 2 * Math.PI * u();
    x.push((c ? 2 : -2) + 0.5 * r * Math.cos(a), 0.5 * r * Math.sin(a));
    y.push(c);
  }
  return new wt.data.Dataset(wt.tensor(x, [2 * n, 2], { backend }), wt.tensor(y, [2 * n], { dtype: 'i32', backend }));
}

describe('lab part 3 on cpu', () => {
  beforeAll(async () => { await wt.init({ backend: 'cpu' }); });

  test('MlpEnsemble: each member trains exactly as it would alone (the loss is the sum of the members’ losses)', async () => {
    const x = wt.tensor(Array.from({ length: 8 }, (_, i) => i / 4 - 1), [8, 1]);
    const y = wt.tensor(Array.from({ length: 8 }, (_, i) => Math.sin(3 * (i / 4 - 1))), [8, 1]);
    const run = async (members: number) => {
      const ens = new wt.lab.MlpEnsemble(members, [1, 5, 1], { seed: 3, backend: 'cpu' });
      const progress = { report: async () => {}, check: () => {} } as never;
      await wt.lab.trainEnsemble(ens, () => ens.forward(x).sub(y).square().mean().mul(members), { steps: 40, lr: 0.05, progress });
      const p = wt.noGrad(() => ens.forward(x));
      const out = Array.from(await p.data());
      p.dispose();
      ens.dispose();
      return out;
    };
    const three = await run(3);
    const one = await run(1);
    // Member 0 of the ensemble starts from the same draw (the first elements of the seeded stream) as the lone model.
    one.forEach((v, i) => expect(three[i]).toBeCloseTo(v, 4));
    // The other members are different models.
    expect(Math.max(...three.slice(8, 16).map((v, i) => Math.abs(v - three[i])))).toBeGreaterThan(1e-3);
    x.dispose();
    y.dispose();
  });

  test('biasVariance: mean (f̂ − f)² over models and test points = bias² + variance, recomputed from the returned predictions', async () => {
    const opts = { widths: [1, 12], n: 12, resamples: 6, noise: 0.3, testPoints: 15, steps: 150, lr: 0.03, seed: 5, backend: 'cpu' as const };
    let r!: Awaited<ReturnType<typeof wt.lab.biasVariance>>;
    const leaks = await leaksOf(async () => { r = await wt.lab.biasVariance(opts); });
    expect(leaks).toEqual([]);
    expect(r.xTest).toHaveLength(15);
    r.xTest.forEach((x, t) => {
      expect(x).toBeCloseTo(-Math.PI + (2 * Math.PI * t) / 14, 12);
      expect(r.target[t]).toBe(Math.sin(x));
    });
    expect(r.noiseVariance).toBeCloseTo(0.09, 12);
    expect(r.capacities.map((c) => c.width)).toEqual([1, 12]);
    expect(r.capacities.map((c) => c.parameters)).toEqual([4, 37]);
    for (const c of r.capacities) {
      expect(c.predictions).toHaveLength(6);
      for (const p of c.predictions) expect(p).toHaveLength(15);
      // Independently: the average model, its squared bias, the spread around it, and the total error against sin.
      const B = 6;
      const T = 15;
      let bias2 = 0;
      let variance = 0;
      let error = 0;
      let testMse = 0;
      for (let t = 0; t < T; t++) {
        const f = Math.sin(r.xTest[t]);
        const mean = c.predictions.reduce((s, p) => s + p[t], 0) / B;
        bias2 += (mean - f) ** 2 / T;
        for (const p of c.predictions) {
          variance += (p[t] - mean) ** 2 / (B * T);
          error += (p[t] - f) ** 2 / (B * T);
          testMse += (p[t] - r.yTest[t]) ** 2 / (B * T);
        }
      }
      expect(Math.abs(error - (bias2 + variance))).toBeLessThan(1e-12 * Math.max(1, error));
      expect(c.bias2).toBeCloseTo(bias2, 12);
      expect(c.variance).toBeCloseTo(variance, 12);
      expect(c.error).toBeCloseTo(error, 12);
      expect(c.testMse).toBeCloseTo(testMse, 12);
      expect(c.variance).toBeGreaterThan(0); // the resamples differ, so the models do
    }
    // The models learned: training MSE below the variance of the training labels.
    const yMean = r.yTrain.reduce((a, b) => a + b, 0) / r.yTrain.length;
    const yVar = r.yTrain.reduce((a, b) => a + (b - yMean) ** 2, 0) / r.yTrain.length;
    for (const c of r.capacities) expect(c.trainMse).toBeLessThan(yVar);
    // The wide network fits its resamples more closely than the one-unit one.
    expect(r.capacities[1].trainMse).toBeLessThan(r.capacities[0].trainMse);
  });

  test('biasVariance experiment: well formed, no leaks, and its table is the tool’s decomposition', async () => {
    const settings = { widths: '2,8', n: 10, resamples: 4, testPoints: 12, steps: 60, showModels: 2, seed: 9 };
    const r = await runChecked('biasVariance', settings);
    const tool = await wt.lab.biasVariance({ widths: [2, 8], n: 10, resamples: 4, noise: 0.3, testPoints: 12, steps: 60, lr: 0.02, seed: 9, backend: 'cpu' });
    expect(r.table!.rows.map((row) => row[0])).toEqual([2, 8]);
    r.table!.rows.forEach((row, i) => {
      const c = tool.capacities[i];
      expect(row[2]).toBeCloseTo(c.bias2, 3);
      expect(row[3]).toBeCloseTo(c.variance, 3);
      expect(row[4]).toBeCloseTo(c.bias2 + c.variance, 3);
      expect(row[5]).toBeCloseTo(c.error, 3);
    });
    const [plot] = r.plots;
    expect(plot.series.find((s) => s.label === 'bias²')!.y).toEqual(tool.capacities.map((c) => c.bias2));
    expect(r.plots[1].series).toHaveLength(2 + 2); // target, average, 2 models
  });

  test('minimaSpread: the reported spread is max − min of the table’s final losses, and every start lowered its loss', async () => {
    const r = await runChecked('minimaSpread', { widths: '2,16', starts: 4, n: 15, steps: 80, lr: 0.05, seed: 3 });
    const rows = r.table!.rows as number[][];
    expect(r.table!.columns).toEqual(['width', 'start', 'initial loss', 'final loss']);
    expect(rows.map((row) => [row[0], row[1]])).toEqual([[2, 1], [2, 2], [2, 3], [2, 4], [16, 1], [16, 2], [16, 3], [16, 4]]);
    for (const w of [2, 16]) {
      const finals = rows.filter((row) => row[0] === w).map((row) => row[3]);
      expect(r.summary[`spread (max − min), width ${w}`]).toBeCloseTo(Math.max(...finals) - Math.min(...finals), 9);
      expect(Math.max(...finals) - Math.min(...finals)).toBeGreaterThan(0);
    }
    for (const row of rows) expect(row[3]).toBeLessThan(row[2]);
    // Initial losses near ln 2 (small random logits); the plots' max and min series are the table's.
    for (const row of rows) expect(Math.abs(row[2] - Math.LN2)).toBeLessThan(0.5);
    const series = (label: string) => r.plots[0].series.find((s) => s.label === label)!.y;
    [2, 16].forEach((w, i) => {
      const finals = rows.filter((row) => row[0] === w).map((row) => row[3]);
      expect(series('max')[i]).toBeCloseTo(Math.max(...finals), 5);
      expect(series('min')[i]).toBeCloseTo(Math.min(...finals), 5);
    });
    expect(r.plots[1].series[0].y).toEqual([r.summary['spread (max − min), width 2'], r.summary['spread (max − min), width 16']]);
  });

  test('deconstructTickets: every criterion prunes exactly the requested fraction of each layer, keeping the highest scores', async () => {
    const train = wt.data.moons({ n: 24, noise: 0.2, seed: 3 });
    const testSet = wt.data.moons({ n: 20, noise: 0.2, seed: 103 });
    const model = wt.nn.mlp({ sizes: [2, 8, 8, 2], seed: 5 });
    let r!: Awaited<ReturnType<typeof wt.lab.deconstructTickets>>;
    const leaks = await leaksOf(async () => {
      r = await wt.lab.deconstructTickets({
        model, data: { train, test: testSet }, sparsities: [0.5, 0.75], epochs: 2, batchSize: 16, optimizer: { name: 'adam', lr: 0.02 }, seed: 4,
      });
    });
    expect(leaks).toEqual([]);
    expect(r.keys).toEqual(['0.weight', '2.weight', '4.weight']);
    const criteria = ['large_final', 'small_final', 'large_init', 'magnitude_increase', 'random'];
    expect(r.runs.map((x) => `${x.criterion}@${x.sparsity}`)).toEqual(criteria.flatMap((c) => [`${c}@0.5`, `${c}@0.75`]));
    const sizes = [16, 64, 16];
    const score: Record<string, (i: number, f: number) => number> = {
      large_final: (_i, f) => Math.abs(f), small_final: (_i, f) => -Math.abs(f), large_init: (i) => Math.abs(i), magnitude_increase: (i, f) => Math.abs(f) - Math.abs(i),
    };
    for (const run of r.runs) {
      const expectedKept = sizes.map((n) => n - Math.round(run.sparsity * n));
      expect(run.kept).toEqual(expectedKept);
      run.masks.forEach((m, l) => {
        expect(m.length).toBe(sizes[l]);
        expect(Array.from(m).every((v) => v === 0 || v === 1)).toBe(true);
        expect(Array.from(m).filter((v) => v === 0)).toHaveLength(Math.round(run.sparsity * sizes[l]));
        const s = score[run.criterion];
        if (!s) return;
        // Every kept weight scores at least as high as every pruned one.
        const scores = Array.from(m, (_, k) => s(r.init[l][k], r.final[l][k]));
        const keptMin = Math.min(...scores.filter((_, k) => m[k] === 1));
        const prunedMax = Math.max(...scores.filter((_, k) => m[k] === 0));
        expect(keptMin).toBeGreaterThanOrEqual(prunedMax);
      });
      expect(run.remaining).toBeCloseTo(expectedKept.reduce((a, b) => a + b, 0) / 96, 12);
      expect(run.testAccuracy).toBeGreaterThanOrEqual(0);
    }
    // Different criteria choose different masks.
    expect(Array.from(r.runs[0].masks[1])).not.toEqual(Array.from(r.runs[2].masks[1]));
    // The model holds the last run's retrained weights: zero exactly where its mask prunes.
    const lastRun = r.runs[r.runs.length - 1];
    const weights = await values(model.parameters().filter((p) => p.rank === 2));
    weights.forEach((w, l) => lastRun.masks[l].forEach((m, k) => { if (m === 0) expect(w[k] === 0, `${l}[${k}] = ${w[k]}`).toBe(true); }));
    for (const d of [train, testSet, model]) d.dispose();
  });

  test('supermask: the straight-through gradient of a score is ∂L/∂W_eff · W, computed independently', async () => {
    const model = wt.nn.mlp({ sizes: [2, 4, 2], seed: 8 });
    const net = new wt.lab.SupermaskModel(model, 0.5, { seed: 2 });
    await net.updateMasks();
    const masks = await net.readMasks();
    const x = wt.tensor([[0.5, -1], [1.5, 0.25], [-0.3, 0.8]]);
    const labels = wt.tensor([1, 0, 1], [3], { dtype: 'i32' });
    const loss = wt.nn.functional.crossEntropy(net.forward(x), labels);
    loss.backward();
    const scoreGrads = await values(net.layers.map((l) => l.scores.grad!));
    // Independently: a network whose weights ARE W ⊙ M, differentiated with respect to them.
    const [w0, b0, w1, b1] = await values(model.parameters());
    const eff = [wt.tensor(w0.map((v, k) => v * masks[0][k]), [4, 2], { requiresGrad: true }), wt.tensor(w1.map((v, k) => v * masks[1][k]), [2, 4], { requiresGrad: true })];
    const f = (a: Tensor, b: Tensor) => wt.nn.functional.crossEntropy(
      wt.nn.linear(wt.nn.linear(x, a, wt.tensor(b0), { activation: 'relu' }), b, wt.tensor(b1)), labels);
    const [g0, g1] = wt.grad(f)(eff[0], eff[1]);
    const expected = [Array.from(await g0.data()).map((g, k) => g * w0[k]), Array.from(await g1.data()).map((g, k) => g * w1[k])];
    expected.forEach((e, l) => e.forEach((v, k) => expect(scoreGrads[l][k]).toBeCloseTo(v, 6)));
    // The loss value is the masked network's.
    expect(await loss.item()).toBeCloseTo(await f(eff[0], eff[1]).item(), 6);
    expect(masks.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([4, 4]);
    for (const t of [x, labels, loss, g0, g1, ...eff]) t.dispose();
    net.dispose();
    model.dispose();
  });

  test('supermask: trains only the mask (weights bit-identical) and beats a random mask of the same size on separable blobs', async () => {
    const train = twoBlobs(40, 1, 'cpu');
    const testSet = twoBlobs(40, 2, 'cpu');
    const model = wt.nn.mlp({ sizes: [2, 32, 32, 2], seed: 21 });
    const before = await values(model.parameters());
    let r!: Awaited<ReturnType<typeof wt.lab.supermask>>;
    const leaks = await leaksOf(async () => {
      r = await wt.lab.supermask({ model, data: { train, test: testSet }, sparsity: 0.5, epochs: 15, batchSize: 20, lr: 0.05, seed: 3 });
    });
    expect(leaks).toEqual([]);
    const after = await values(model.parameters());
    expect(after).toEqual(before);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(r.kept).toEqual([32, 512, 32]);
    expect(r.masks.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([32, 512, 32]);
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.testAccuracy).toBeGreaterThan(r.randomMaskTestAccuracy + 0.15);
    expect(r.curve.epoch).toHaveLength(15);
    for (const d of [train, testSet, model]) d.dispose();
  });

  test('deconstructingTickets experiment: well formed, no leaks; one row per criterion and the supermask rows', async () => {
    const r = await runChecked('deconstructingTickets', {
      dataset: 'moons', n: 20, nTest: 20, hidden: 8, epochs: 2, batchSize: 20, sparsities: '0.5', supermaskSparsities: '0.5', supermaskEpochs: 2,
    });
    const rows = r.table!.rows;
    expect(rows.map((row) => row[0])).toEqual(['large_final', 'small_final', 'large_init', 'magnitude_increase', 'random',
      'supermask (weights untrained)', 'random mask (weights untrained)']);
    // 2-8-8-2: 16 + 64 + 16 weights, half of each kept.
    for (const row of rows) {
      expect(row[1]).toBe(50);
      expect(row[2]).toBe(48);
    }
    expect(r.plots.map((p) => p.series.length)).toEqual([6, 6, 3]);
    await expect(wt.lab.experiments.deconstructingTickets.run({ criteria: 'large_final,biggest' })).rejects.toThrow(/criteria/);
    await expect(wt.lab.experiments.biasVariance.run({ sampling: 'jackknife' })).rejects.toThrow(/sampling/);
    await expect(wt.lab.experiments.minimaSpread.run({ widths: '4,0' })).rejects.toThrow(/widths/);
  });
});

describe('lab part 3: abort', () => {
  beforeAll(async () => { await wt.init({ backend: 'cpu' }); });

  test.each([
    ['biasVariance', { widths: '2,4', n: 8, resamples: 3, testPoints: 5, steps: 40 }],
    ['minimaSpread', { widths: '2,4', starts: 2, n: 8, steps: 40 }],
    ['deconstructingTickets', { dataset: 'moons', n: 10, nTest: 10, hidden: 4, epochs: 2, batchSize: 5, sparsities: '0.5', criteria: 'random', supermaskSparsities: '0.5', supermaskEpochs: 2 }],
  ] as const)('%s stops with an AbortError at the next step once aborted, freeing everything', async (id, settings) => {
    const ctl = new AbortController();
    let calls = 0;
    let after = 0;
    let error: unknown;
    const leaks = await leaksOf(async () => {
      error = await wt.lab.experiments[id].run({
        ...settings, signal: ctl.signal,
        onProgress: (f: number) => { if (ctl.signal.aborted) after++; else if (++calls === 2 && f < 0.5) ctl.abort(); },
      } as never).then(() => null, (e: unknown) => e);
    });
    expect(ctl.signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(wt.lab.AbortError);
    expect(after).toBe(0);
    expect(leaks).toEqual([]);
  });
});

describe.runIf(backends.includes('webgpu'))('lab part 3 on webgpu', () => {
  beforeAll(async () => { await wt.init({ backend: 'webgpu' }); });

  test('minimaSpread runs on WebGPU (well formed, no leaks) and the supermask leaves the weights bit-identical there', async () => {
    const r = await runChecked('minimaSpread', { widths: '4', starts: 2, n: 10, steps: 10, lr: 0.05, seed: 3 });
    for (const row of r.table!.rows as number[][]) expect(row[3]).toBeLessThan(row[2]);
    const train = twoBlobs(10, 1, 'webgpu');
    const testSet = twoBlobs(10, 2, 'webgpu');
    const model = wt.nn.mlp({ sizes: [2, 8, 2], seed: 21, backend: 'webgpu' });
    const before = await values(model.parameters());
    const s = await wt.lab.supermask({ model, data: { train, test: testSet }, sparsity: 0.5, epochs: 1, batchSize: 10, seed: 3 });
    expect(await values(model.parameters())).toEqual(before);
    expect(s.kept).toEqual([8, 8]);
    for (const d of [train, testSet, model]) d.dispose();
  });
});

