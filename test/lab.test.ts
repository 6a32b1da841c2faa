/**
 * wt.lab: the generic tools (loss surface, interpolation, Hessian top eigenvalue), the tanh toy of
 * the course, and every registered experiment on small settings: well-formed results, progress,
 * abort, no leaked tensors, and one or two facts per experiment that would fail if it were wrong.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { Tensor } from '../src/tensor';
import type { ExperimentId, LabResult } from '../src/lab/types';
import { availableBackends } from './setup-backends';
import { leaksOf, resultOf, runChecked } from './lab-checks';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

/** The course's closed form, written out here independently of wt.lab.tanhToy. */
const toyLoss = (w1: number, w2: number) => (0.5 - Math.tanh(w1 * Math.tanh(0.5 * w2))) ** 2;


async function values(ts: Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.data())));
}

/** lossFn() evaluated without recording, read back, and freed. */
async function lossNow(lossFn: () => Tensor): Promise<number> {
  const t = wt.tidy(() => wt.noGrad(lossFn));
  try {
    return await t.item();
  } finally {
    t.dispose();
  }
}

describe.each(backends)('lab tools on %s', (backend) => {
  beforeAll(async () => { await wt.init({ backend }); });
  const T = (data: number[], shape?: number[], requiresGrad = false) => wt.tensor(data, shape, { backend, requiresGrad });

  test('lossSurface2d of the tanh toy along the axes equals the closed form at every grid point', async () => {
    const w = T([0, 0], [2], true);
    const [e1, e2] = [T([1, 0]), T([0, 1])];
    const s = await wt.lab.lossSurface2d(() => wt.lab.tanhToy.lossTensor(w), [w], { dirs: [[e1], [e2]], range: 3, steps: 7 });
    expect(s.alphas).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(s.betas).toEqual(s.alphas);
    expect(s.loss).toHaveLength(49);
    s.betas.forEach((b, j) => s.alphas.forEach((a, i) => expect(s.loss[j * 7 + i]).toBeCloseTo(toyLoss(a, b), 5)));
    // The saddle value at the centre, and the plateaus in the corners: ŷ → 1 where w1·w2 ≫ 0, ŷ → −1 where w1·w2 ≪ 0.
    expect(s.loss[3 * 7 + 3]).toBe(0.25);
    expect(s.loss[6 * 7 + 6]).toBeCloseTo(0.25, 1);
    expect(s.loss[0 * 7 + 6]).toBeCloseTo(2.25, 1);
    expect(Array.from(await w.data())).toEqual([0, 0]);
    for (const t of [w, e1, e2]) t.dispose();
  });

  test.runIf(backend === 'cpu')('lossSurface2d in float64 matches the closed form to 1e-12, off the axes too', async () => {
    const opts = { backend, dtype: 'f64' as const };
    const w = wt.tensor([0.3, -0.2], [2], { ...opts, requiresGrad: true });
    const [d1, d2] = [wt.tensor([1, 1], [2], opts), wt.tensor([0.5, -2], [2], opts)];
    const s = await wt.lab.lossSurface2d(() => wt.lab.tanhToy.lossTensor(w), [w], { dirs: [[d1], [d2]], range: [-1, 2], steps: 4 });
    s.betas.forEach((b, j) => s.alphas.forEach((a, i) => {
      expect(Math.abs(s.loss[j * 4 + i] - toyLoss(0.3 + a + 0.5 * b, -0.2 + a - 2 * b))).toBeLessThan(1e-12);
    }));
    for (const t of [w, d1, d2]) t.dispose();
  });

  test('lossSurface2d with random filter-normalized directions: restores the parameters bit for bit; values are L(θ + a·d1 + b·d2)', async () => {
    const model = wt.nn.mlp({ sizes: [2, 6, 2], seed: 11, backend });
    const x = T([0.5, -1, 1, 0.2, -0.3, 0.8], [3, 2]);
    const y = wt.tensor([0, 1, 1], [3], { backend, dtype: 'i32' });
    const lossFn = () => wt.nn.functional.crossEntropy(model.forward(x), y);
    const params = model.parameters();
    const before = await values(params);
    const leaks = await leaksOf(async () => {
      const s = await wt.lab.lossSurface2d(lossFn, params, { range: 0.5, steps: 3, seed: 5 });
      expect(await values(params)).toEqual(before);
      // The directions the surface used are randomDirection(params, seed, 0 and 1, filterNormalize).
      const [d1, d2] = [0, 1].map((k) => wt.lab.randomDirection(params, 5, k, true));
      const theta = params.map((p) => wt.noGrad(() => p.add(0))); // copies
      for (const [j, b] of s.betas.entries()) {
        for (const [i, a] of s.alphas.entries()) {
          wt.noGrad(() => wt.tidy(() => params.forEach((p, k) => p.assign(theta[k].add(d1[k].mul(a)).add(d2[k].mul(b))))));
          expect(s.loss[j * 3 + i]).toBeCloseTo(await lossNow(lossFn), 5);
        }
      }
      expect(s.loss[4]).toBeCloseTo(await lossNow(() => { wt.noGrad(() => params.forEach((p, k) => p.assign(theta[k]))); return lossFn(); }), 6);
      [...d1, ...d2, ...theta].forEach((t) => t.dispose());
    });
    expect(leaks).toEqual([]);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });

  test('randomDirection with filter normalization gives each row the norm of the same row of θ', async () => {
    const W = T([3, 4, 0, 1, 1, 1], [3, 2]); // row norms 5, 1, sqrt(2)
    const b = T([0, 2]); // a vector counts as one filter: norm 2
    const [dW, db] = wt.lab.randomDirection([W, b], 9, 0, true);
    const rows = Array.from(await dW.data());
    [5, 1, Math.SQRT2].forEach((norm, r) => expect(Math.hypot(rows[2 * r], rows[2 * r + 1])).toBeCloseTo(norm, 5));
    expect(Math.hypot(...Array.from(await db.data()))).toBeCloseTo(2, 5);
    // Seeded: the same call gives the same direction, another index another one.
    const [again] = wt.lab.randomDirection([W], 9, 0, true);
    const [other] = wt.lab.randomDirection([W], 9, 1, true);
    expect(Array.from(await again.data())).toEqual(rows);
    expect(Array.from(await other.data())).not.toEqual(rows);
    for (const t of [W, b, dW, db, again, other]) t.dispose();
  });

  test('hessianTopEigen finds the top eigenvalue and eigenvector of ½xᵀAx with a rotated, known spectrum', async () => {
    // A = Q diag(λ) Qᵀ, Q from Gram–Schmidt on fixed vectors; x split over two parameters.
    const spectrum = [5, 2, 1, -0.5];
    const Q = gramSchmidt([[1, 2, 0, -1], [0, 1, 3, 1], [2, -1, 1, 0], [1, 1, 1, 1]]);
    const A = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => spectrum.reduce((s, l, k) => s + l * Q[k][i] * Q[k][j], 0)));
    const At = T(A.flat(), [4, 4]);
    const p1 = T([0.3, -0.7], [2], true);
    const p2 = T([1.1, 0.4], [2], true);
    const quad = () => {
      const x = wt.concat([p1, p2]).reshape([4, 1]);
      return x.transpose().matmul(At).matmul(x).sum().mul(0.5);
    };
    const before = await values([p1, p2]);
    let found!: Awaited<ReturnType<typeof wt.lab.hessianTopEigen>>;
    const leaks = await leaksOf(async () => {
      found = await wt.lab.hessianTopEigen(quad, [p1, p2], { iters: 60, tol: 1e-7, seed: 3 });
    });
    expect(found.eigenvalue).toBeCloseTo(5, 3);
    expect(found.history.at(-1)).toBe(found.eigenvalue);
    expect(found.history.length).toBeGreaterThan(1);
    const v = (await values(found.vector)).flat();
    const cos = v.reduce((s, vi, i) => s + vi * Q[0][i], 0) / Math.hypot(...v);
    expect(Math.abs(cos)).toBeGreaterThan(0.9999);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(await values([p1, p2])).toEqual(before);
    expect(leaks.length).toBe(2); // the eigenvector's two tensors, handed to the caller
    found.vector.forEach((t) => t.dispose());
    // sharpness is the same number; parameters that do not require grad work too (and are left so).
    p1.requiresGrad = false;
    const s = await wt.lab.sharpness(quad, [p1, p2], { iters: 60, tol: 1e-7, seed: 3 });
    expect(s).toBeCloseTo(5, 3);
    expect(p1.requiresGrad).toBe(false);
    for (const t of [At, p1, p2]) t.dispose();
  });

  test('hessianTopEigen returns the eigenvalue of largest magnitude (a negative one at a saddle) and stops early at tolerance', async () => {
    const x = T([1, 1, 1], [3], true);
    const d = T([-6, 3, 1]);
    const f = () => x.square().mul(d).sum().mul(0.5); // Hessian diag(-6, 3, 1)
    const r = await wt.lab.hessianTopEigen(f, [x], { iters: 200, tol: 1e-6, seed: 1 });
    expect(r.eigenvalue).toBeCloseTo(-6, 3);
    expect(r.history.length).toBeLessThan(200);
    r.vector.forEach((t) => t.dispose());
    for (const t of [x, d]) t.dispose();
  });

  test('interpolate: endpoints are the losses at θ0 and θ1, the middle the loss at their mean, parameters restored', async () => {
    const model = wt.nn.mlp({ sizes: [2, 5, 2], seed: 12, activation: 'tanh', backend });
    const x = T([0.5, -1, 1, 0.2, -0.3, 0.8, 2, 1], [4, 2]);
    const y = wt.tensor([0, 1, 1, 0], [4], { backend, dtype: 'i32' });
    const lossFn = () => wt.nn.functional.crossEntropy(model.forward(x), y);
    const params = model.parameters();
    const theta0 = params.map((p) => wt.noGrad(() => p.add(0)));
    const theta1 = params.map((p, i) => wt.noGrad(() => p.add(wt.randn([...p.shape], { seed: 20 + i, backend }))));
    const lossAt = async (ts: Tensor[]) => {
      wt.noGrad(() => params.forEach((p, i) => p.assign(ts[i])));
      return lossNow(lossFn);
    };
    const before = await values(params);
    const r = await wt.lab.interpolate(lossFn, params, theta0, theta1, { steps: 5 });
    expect(r.alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(await values(params)).toEqual(before);
    const mean = theta0.map((t, i) => wt.noGrad(() => t.add(theta1[i]).mul(0.5)));
    const [l0, l1, lm] = [await lossAt(theta0), await lossAt(theta1), await lossAt(mean)];
    expect(r.loss[0]).toBeCloseTo(l0, 6);
    expect(r.loss[4]).toBeCloseTo(l1, 6);
    expect(r.loss[2]).toBeCloseTo(lm, 5);
    expect(l1).not.toBeCloseTo(l0, 2); // the two ends really differ
    // θ1 may be the parameters themselves: the segment from θ0 to where they are.
    wt.noGrad(() => params.forEach((p, i) => p.assign(theta1[i])));
    const toHere = await wt.lab.interpolate(lossFn, params, theta0, params, { steps: 3 });
    expect(toHere.loss[0]).toBeCloseTo(l0, 6);
    expect(toHere.loss[1]).toBeCloseTo(lm, 5);
    expect(toHere.loss[2]).toBeCloseTo(l1, 6);
    [...theta0, ...theta1, ...mean, x, y].forEach((t) => t.dispose());
    model.dispose();
  });

  test('tanh toy: gradient descent from zero never moves; from a small start it escapes; Newton near the saddle goes to it, GD from there does not', async () => {
    const [fromZero, small, near] = await wt.lab.tanhPaths({ starts: [[0, 0], [0.05, -0.02], [0.3, 0.2]], method: 'gd', lr: 0.5, steps: 40 });
    expect(fromZero.points).toHaveLength(41);
    expect(fromZero.points.every(([a, b]) => a === 0 && b === 0)).toBe(true);
    expect(fromZero.losses.every((l) => l === 0.25)).toBe(true);
    expect(small.losses[0]).toBeCloseTo(toyLoss(0.05, -0.02), 6);
    expect(small.losses.at(-1)).toBeLessThan(1e-3); // slid into a ravine
    expect(near.losses.at(-1)).toBeLessThan(1e-3);
    // Every reported loss is the loss at the reported point.
    small.points.forEach(([a, b], k) => expect(small.losses[k]).toBeCloseTo(toyLoss(a, b), 5));
    const [newton] = await wt.lab.tanhPaths({ starts: [[0.3, 0.2]], method: 'newton', steps: 8 });
    const [a, b] = newton.points.at(-1)!;
    expect(Math.hypot(a, b)).toBeLessThan(1e-6);
    expect(newton.losses.at(-1)).toBeCloseTo(0.25, 6);
    // Any optimizer by spec: Adam takes steps of about lr whatever the gradient's size.
    const [adam] = await wt.lab.tanhPaths({ starts: [[0.05, -0.02]], method: 'gd', optimizer: { name: 'adam', lr: 0.1 }, steps: 3 });
    expect(Math.hypot(adam.points[1][0] - 0.05, adam.points[1][1] + 0.02)).toBeCloseTo(0.1 * Math.SQRT2, 3);
  });
});

describe('tanhToy closed forms', () => {
  const fd = (f: (a: number, b: number) => number, a: number, b: number, h = 1e-5): [number, number] =>
    [(f(a + h, b) - f(a - h, b)) / (2 * h), (f(a, b + h) - f(a, b - h)) / (2 * h)];
  test('loss, gradient (vs central differences of the loss) and Hessian (vs central differences of the gradient)', () => {
    const toy = wt.lab.tanhToy;
    for (const [a, b] of [[0.3, -0.7], [1.5, 2], [-2, 0.4], [0.01, 3]]) {
      expect(toy.loss(a, b)).toBe(toyLoss(a, b));
      const [g1, g2] = toy.grad(a, b);
      const [n1, n2] = fd(toyLoss, a, b);
      expect(g1).toBeCloseTo(n1, 8);
      expect(g2).toBeCloseTo(n2, 8);
      const H = toy.hessian(a, b);
      const [h11, h12] = fd((p, q) => toy.grad(p, q)[0], a, b);
      const [h21, h22] = fd((p, q) => toy.grad(p, q)[1], a, b);
      [[H[0][0], h11], [H[0][1], h12], [H[1][0], h21], [H[1][1], h22]].forEach(([exact, num]) => expect(exact).toBeCloseTo(num, 7));
    }
    // The saddle: zero gradient, Hessian [[0, -1/2], [-1/2, 0]] (L ≈ 1/4 − w1·w2/2 near zero), eigenvalues ±1/2.
    expect(toy.grad(0, 0).every((g) => g === 0)).toBe(true);
    expect(toy.hessian(0, 0)).toEqual([[0, -0.5], [-0.5, 0]]);
  });
});

/** Issue 9 part 2's experiments (over-parametrization and sparsity): run and checked in test/lab2.test.ts and test/lab3.test.ts. */
type Part2Id = 'lotteryTicket' | 'adversarial' | 'memorization' | 'doubleDescent' | 'biasVariance' | 'minimaSpread' | 'deconstructingTickets';
const part2: Part2Id[] = ['lotteryTicket', 'adversarial', 'memorization', 'doubleDescent', 'biasVariance', 'minimaSpread', 'deconstructingTickets'];

/** Small settings for every experiment of part 1: seconds on SwiftShader. */
const tiny: Record<Exclude<ExperimentId, Part2Id>, Record<string, number | string | boolean>> = {
  tanhSurface: { gridSteps: 5, steps: 6 },
  initialization: { n: 30, nTest: 20, hidden: 8, epochs: 10, batchSize: 10, lr: 0.1 },
  activations: { n: 20, nTest: 20, depth: 5, width: 8, epochs: 2, batchSize: 20 },
  optimizerRace: { n: 20, nTest: 20, hidden: 8, epochs: 2, batchSize: 20, pathSteps: 4, gridSteps: 5 },
  lrDecay: { n: 20, nTest: 20, hidden: 8, epochs: 2, batchSize: 10, warmupSteps: 2 },
  normalization: { n: 16, nTest: 16, channels: 2, positions: 2, groups: 2, depth: 2, epochs: 2, batchSize: 16, sweepBatchSizes: '16,4', sweepEpochs: 1 },
  sharpness: { n: 20, nTest: 20, hidden: 8, activation: 'tanh', epochs: 3, smallBatch: 10, largeBatch: 40, iters: 12, profileRadius: 0.05, profileSteps: 5 },
  interpolation: { n: 20, nTest: 20, hidden: 8, epochs: 3, batchSize: 20, steps: 5 },
  swa: { n: 20, nTest: 20, hidden: 8, epochs: 2, swaEpochs: 3, batchSize: 20, lineSteps: 4 },
  mixup: { n: 10, nTest: 20, hidden: 8, epochs: 3, batchSize: 10, mapSteps: 6 },
  earlyStopping: { n: 10, nValid: 20, hidden: 32, epochs: 30, batchSize: 5, lr: 0.03, patience: 3, compareFull: false },
};

describe.each(backends)('lab experiments on %s', (backend) => {
  beforeAll(async () => { await wt.init({ backend }); });
  const results = new Map<ExperimentId, LabResult>();

  test('the registry holds every experiment of the contract, each with a description and plain defaults', () => {
    expect(Object.keys(wt.lab.experiments).sort()).toEqual([...Object.keys(tiny), ...part2].sort());
    for (const [id, x] of Object.entries(wt.lab.experiments)) {
      expect(x.id).toBe(id);
      expect(x.title.length).toBeGreaterThan(5);
      expect(x.description.length).toBeGreaterThan(100);
      for (const v of Object.values(x.defaults)) expect(['number', 'string', 'boolean']).toContain(typeof v);
      for (const k of Object.keys(tiny[id as keyof typeof tiny] ?? {})) expect(x.defaults).toHaveProperty(k);
    }
  });

  for (const id of Object.keys(tiny) as (keyof typeof tiny)[]) {
    test(`${id}: a well-formed result, monotone progress ending at 1, no leaked tensors`, async () => {
      results.set(id, await runChecked(id, tiny[id], 2));
    });
  }

  const get = resultOf(results);
  const series = (r: LabResult, plot: number, label: string) => {
    const s = r.plots[plot].series.find((x) => x.label === label);
    if (!s) throw new Error(`no series '${label}' in plot '${r.plots[plot].title}' (has ${r.plots[plot].series.map((x) => x.label).join(', ')})`);
    return s;
  };

  test('tanhSurface: the heatmap is the closed form; GD from zero stays at the saddle, Newton ends at it', () => {
    const r = get('tanhSurface');
    const h = r.heatmaps![0];
    expect(h.xs).toEqual([-4, -2, 0, 2, 4]);
    h.ys.forEach((b, j) => h.xs.forEach((a, i) => expect(h.values[j * h.xs.length + i]).toBeCloseTo(toyLoss(a, b), 5)));
    const path = (label: string) => h.paths!.find((p) => p.label === label)!.points;
    expect(path('GD from zero').every(([a, b]) => a === 0 && b === 0)).toBe(true);
    expect(Math.hypot(...path('Newton near the saddle').at(-1)!)).toBeLessThan(1e-3);
    expect(r.summary['final loss, GD near the saddle']).toBeLessThan(0.2); // gradient descent from the same point escapes
    expect(r.summary['final loss, GD from a large init']).toBeGreaterThan(2); // stuck on the plateau at 2.25
  });

  test('initialization: zero and constant init leave one distinct unit per layer; zeros stall near ln 2 while Glorot learns', () => {
    const r = get('initialization');
    expect(r.summary['distinct hidden units, zeros']).toBe('1 / 1');
    expect(r.summary['distinct hidden units, constant 0.5']).toBe('1 / 1');
    expect(r.summary['distinct hidden units, Glorot uniform']).toBe('8 / 8');
    const zeros = r.summary['final training loss, zeros'] as number;
    const glorot = r.summary['final training loss, Glorot uniform'] as number;
    expect(Math.abs(zeros - Math.LN2)).toBeLessThan(0.05);
    expect(glorot).toBeLessThan(zeros - 0.1);
  });

  test('activations: the sigmoid network’s first-layer gradient is orders of magnitude below the ReLU network’s', () => {
    const r = get('activations');
    const sigmoid = r.summary['first-layer gradient norm, sigmoid'] as number;
    const relu = r.summary['first-layer gradient norm, relu'] as number;
    expect(sigmoid).toBeGreaterThan(0);
    expect(sigmoid).toBeLessThan(0.05 * relu);
    // The mean sigmoid derivative never exceeds 1/4; tanh's and ReLU's are larger.
    const deriv = r.plots[1];
    expect(Math.max(...deriv.series.find((s) => s.label === 'sigmoid')!.y)).toBeLessThanOrEqual(0.25);
    expect(Math.max(...deriv.series.find((s) => s.label === 'tanh')!.y)).toBeGreaterThan(0.25);
  });

  test('optimizerRace: six optimizers over the same epochs; every path starts at the same point and its losses are the closed form', () => {
    const r = get('optimizerRace');
    expect(r.plots[0].series.map((s) => s.label)).toEqual(['SGD', 'momentum', 'Nesterov', 'Adagrad', 'RMSprop', 'Adam']);
    r.plots[0].series.forEach((s) => expect(s.x).toEqual([1, 2]));
    const paths = r.heatmaps![0].paths!;
    expect(paths).toHaveLength(6);
    paths.forEach((p, k) => {
      expect(p.points[0][0]).toBeCloseTo(0.05, 6);
      expect(p.points[0][1]).toBeCloseTo(-0.05, 6);
      const losses = r.plots[2].series[k].y;
      p.points.forEach(([a, b], i) => expect(losses[i]).toBeCloseTo(Math.max(toyLoss(a, b), 1e-12), 5));
    });
  });

  test('lrDecay: the learning-rate curves are α/(1+δt), α/t^δ and the warm-up, over every update', () => {
    const r = get('lrDecay');
    const { lr, inverseDelta, powerDelta } = wt.lab.experiments.lrDecay.defaults;
    const updates = 2 * Math.ceil(40 / 10);
    expect(r.summary.updates).toBe(updates);
    const lrPlot = r.plots[2];
    const [constant, inverse, power, warm] = lrPlot.series;
    expect(constant.x).toEqual(Array.from({ length: updates }, (_, i) => i + 1));
    constant.x.forEach((t, i) => {
      expect(constant.y[i]).toBe(lr);
      expect(inverse.y[i]).toBeCloseTo(lr / (1 + inverseDelta * t), 12);
      expect(power.y[i]).toBeCloseTo(lr / t ** powerDelta, 12);
      expect(warm.y[i]).toBeCloseTo(t <= 2 ? lr / (1 + inverseDelta) : lr / (1 + inverseDelta * (t - 2)), 12);
    });
  });

  test('normalization: five variants, and the batch-size sweep for batch and group norm', () => {
    const r = get('normalization');
    expect(r.table!.rows.map((row) => row[0])).toEqual(['none', 'batch', 'layer', 'group', 'instance']);
    const sweep = r.plots[2];
    expect(sweep.series.map((s) => s.label)).toEqual(['batch norm', 'group norm']);
    sweep.series.forEach((s) => expect(s.x).toEqual([16, 4]));
  });

  test('sharpness: the loss profile along the top eigenvector curves as ½λt² (second difference ≈ the eigenvalue)', () => {
    const r = get('sharpness');
    const profiles = r.plots[1].series;
    expect(profiles).toHaveLength(4);
    for (const p of profiles) {
      const eig = r.summary[`top eigenvalue, ${p.label}`] as number;
      expect(eig).toBeGreaterThan(0); // a trained network's loss curves up along its sharpest direction
      const h = p.x[3] - p.x[2];
      expect(p.x[2]).toBeCloseTo(0, 12);
      const second = (p.y[3] - 2 * p.y[2] + p.y[1]) / (h * h);
      expect(Math.abs(second - eig) / eig).toBeLessThan(0.1);
    }
  });

  test('interpolation: the curve passes through the losses at θ0 and θ evaluated on their own', () => {
    const r = get('interpolation');
    const train = series(r, 0, 'training loss');
    expect(train.x).toEqual([-0.5, 0, 0.5, 1, 1.5]);
    const [start, end] = r.plots[0].markers!;
    expect(train.y[1]).toBeCloseTo(start.y, 5);
    expect(train.y[3]).toBeCloseTo(end.y, 5);
    expect(r.summary['training loss at θ']).toBeLessThan(r.summary['training loss at θ0'] as number);
  });

  test('swa: the line passes through the SGD and SWA losses; one snapshot per averaged epoch', () => {
    const r = get('swa');
    const train = series(r, 0, 'training loss');
    expect(train.x).toEqual([-1, 0, 1, 2]);
    const marker = (label: string) => r.plots[0].markers!.find((m) => m.label === label)!.y;
    expect(train.y[1]).toBeCloseTo(marker('SGD'), 5);
    expect(train.y[2]).toBeCloseTo(marker('SWA'), 5);
    expect(series(r, 0, 'test loss').y[2]).toBeCloseTo(marker('SWA (test)'), 5);
    expect(r.summary['SWA snapshots']).toBe(3);
    expect(marker('SWA')).not.toBe(marker('SGD'));
  });

  test('mixup: decision maps are probabilities, and mixup changes training (its curves differ from ERM’s)', () => {
    const r = get('mixup');
    expect(r.heatmaps).toHaveLength(2);
    r.heatmaps!.forEach((h) => h.values.forEach((v) => { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); }));
    const [erm, mix] = r.plots[0].series;
    expect(mix.y).not.toEqual(erm.y);
  });

  test('earlyStopping: the best-epoch marker sits at the minimum of the validation curve, the stop marker patience epochs later', () => {
    const r = get('earlyStopping');
    const valid = series(r, 0, 'validation loss');
    const [best, stop] = r.plots[0].markers!;
    const argmin = valid.y.indexOf(Math.min(...valid.y));
    expect(best.x).toBe(valid.x[argmin]);
    expect(best.y).toBe(valid.y[argmin]);
    expect(stop.x).toBe(valid.x.at(-1));
    if (r.summary['stopped early'] === 'yes') expect(stop.x - best.x).toBe(3);
    else expect(stop.x).toBe(30);
  });

  test('an aborted run rejects with an AbortError and frees everything it made', async () => {
    const controller = new AbortController();
    let error: unknown;
    const leaks = await leaksOf(async () => {
      try {
        await wt.lab.experiments.lrDecay.run({ ...tiny.lrDecay, epochs: 50, onProgress: () => controller.abort(), signal: controller.signal });
      } catch (e) {
        error = e;
      }
    });
    expect(error).toBeInstanceOf(wt.WebtrainError);
    expect((error as Error).name).toBe('AbortError');
    expect(leaks).toEqual([]);
    // An already aborted signal stops before any work.
    await expect(wt.lab.experiments.tanhSurface.run({ signal: controller.signal })).rejects.toThrow(/aborted/);
  });

  test('settings are checked: unknown names and wrong types are errors', async () => {
    await expect(wt.lab.experiments.swa.run({ epoch: 3 } as never)).rejects.toThrow(/unknown setting 'epoch'/);
    await expect(wt.lab.experiments.swa.run({ epochs: '3' } as never)).rejects.toThrow(/'epochs' must be a number/);
    await expect(wt.lab.experiments.normalization.run({ groups: 3 })).rejects.toThrow(/must divide/);
  });
});

describe('lab experiments yield to the event loop', () => {
  test('timers fire while a run is computing', async () => {
    await wt.init({ backend: 'cpu' });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const started = performance.now();
    try {
      await wt.lab.experiments.tanhSurface.run({ gridSteps: 15, steps: 30, backend: 'cpu' });
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - started;
    expect(ms).toBeGreaterThan(40); // long enough that a run which never yields would starve the timer
    expect(ticks).toBeGreaterThan(1);
  });
});


/** Orthonormal rows from linearly independent rows (classical Gram–Schmidt, in float64). */
function gramSchmidt(rows: number[][]): number[][] {
  const out: number[][] = [];
  for (const r of rows) {
    let v = [...r];
    for (const q of out) {
      const d = v.reduce((s, vi, i) => s + vi * q[i], 0);
      v = v.map((vi, i) => vi - d * q[i]);
    }
    const n = Math.hypot(...v);
    out.push(v.map((vi) => vi / n));
  }
  return out;
}
