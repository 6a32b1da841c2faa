/**
 * wt.lab, part 2 (over-parametrization and sparsity): pruning masks (MaskedModel, maskedOptimizer,
 * checkpoints), lotteryTicket, fgsm, and the experiments lotteryTicket, adversarial, memorization
 * and doubleDescent on tiny settings: well-formed results, no leaked tensors, and facts that fail
 * when the computation is wrong.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { Tensor } from '../src/tensor';
import type { ExperimentId, LabResult } from '../src/lab/types';
import { availableBackends } from './setup-backends';
import { leaksOf, resultOf, runChecked } from './lab-checks';

const backends = await availableBackends();
afterAll(() => wt.shutdown());


async function values(ts: Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.data())));
}

/** A small two-class set on a backend (moons) and a 2-8-8-2 MLP. */
function setup(backend: 'cpu' | 'webgpu', seed = 3) {
  const train = wt.data.moons({ n: 24, noise: 0.2, seed, backend });
  const test = wt.data.moons({ n: 20, noise: 0.2, seed: seed + 100, backend });
  const model = wt.nn.mlp({ sizes: [2, 8, 8, 2], seed: 5, backend });
  return { train, test, model, dispose: () => { train.dispose(); test.dispose(); model.dispose(); } };
}

describe.each(backends)('pruning masks and tools on %s', (backend) => {
  beforeAll(async () => { await wt.init({ backend }); });

  test('an all-ones mask trains exactly as the dense model: same weights, same predictions', async () => {
    const a = setup(backend);
    const b = setup(backend);
    const leaks = await leaksOf(async () => {
      const masked = new wt.lab.MaskedModel(b.model);
      expect([...masked.masks.keys()]).toEqual(['0.weight', '2.weight', '4.weight']); // weights only, no biases
      const fitOpts = { epochs: 3, batchSize: 8, seed: 9, readsPerEpoch: 1 };
      const optA = new wt.optim.Adam(a.model.parameters(), { lr: 0.01 });
      const optB = wt.lab.maskedOptimizer(new wt.optim.Adam(b.model.parameters(), { lr: 0.01 }), masked);
      await wt.train.fit(a.model, a.train, { ...fitOpts, optimizer: optA });
      await wt.train.fit(masked, b.train, { ...fitOpts, optimizer: optB });
      expect(await values(b.model.parameters())).toEqual(await values(a.model.parameters()));
      const pa = wt.tidy(() => wt.noGrad(() => a.model.forward(a.test.x)));
      const pb = wt.tidy(() => wt.noGrad(() => masked.forward(b.test.x)));
      expect(Array.from(await pb.data())).toEqual(Array.from(await pa.data()));
      for (const t of [pa, pb]) t.dispose();
      optA.dispose();
      optB.dispose();
      masked.dispose();
    });
    expect(leaks).toEqual([]);
    a.dispose();
    b.dispose();
  });

  test('the mask keeps pruned weights at exactly zero through training (AdamW with weight decay, and SGD with momentum)', async () => {
    for (const spec of [{ name: 'adamw', lr: 0.05, weightDecay: 0.1 }, { name: 'momentum', lr: 0.1, weightDecay: 0.01 }] as const) {
      const s = setup(backend);
      const masked = new wt.lab.MaskedModel(s.model);
      const rng = (i: number) => ((i * 2654435761) >>> 0) % 3 !== 0; // a fixed pattern keeping about 2/3
      const host = new Map([...masked.masks].map(([k, m]) => [k, Float32Array.from({ length: m.size }, (_, i) => (rng(i + k.length) ? 1 : 0))]));
      masked.setMasks(host);
      // setMasks applies the masks at once.
      for (const [k, p] of masked.entries().map(([k, p]) => [k, p] as const)) {
        const w = await p.data();
        host.get(k)!.forEach((m, i) => { if (m === 0) expect(w[i] === 0, `${k}[${i}] = ${w[i]}`).toBe(true); });
      }
      const opt = wt.lab.maskedOptimizer(wt.train.makeOptimizer({ ...spec }, s.model.parameters()), masked);
      await wt.train.fit(masked, s.train, { epochs: 4, batchSize: 8, optimizer: opt, seed: 1, readsPerEpoch: 1 });
      let zeros = 0;
      let kept = 0;
      let keptNonZero = 0;
      for (const [k, p] of masked.entries()) {
        const w = await p.data();
        host.get(k)!.forEach((m, i) => {
          if (m === 0) { zeros++; expect(w[i] === 0, `${spec.name} ${k}[${i}] = ${w[i]}`).toBe(true); } else { kept++; if (w[i] !== 0) keptNonZero++; }
        });
      }
      expect(zeros).toBeGreaterThan(20);
      expect(keptNonZero).toBe(kept);
      // Gradients of pruned weights were masked too: the optimizer's state for them stays zero.
      const state = opt.stateDict().state;
      const first = Object.values(state[0]).find((v) => typeof v !== 'number') as Tensor;
      const st = await first.data();
      host.get('0.weight')!.forEach((m, i) => { if (m === 0) expect(st[i] === 0).toBe(true); });
      for (const e of Object.values(state)) for (const v of Object.values(e)) if (typeof v !== 'number') v.dispose();
      opt.dispose();
      masked.dispose();
      s.dispose();
    }
  });

  test('masks round-trip through a checkpoint as <key>_mask entries, with the weights', async () => {
    const s = setup(backend);
    const masked = new wt.lab.MaskedModel(s.model);
    const m0 = Float32Array.from({ length: 16 }, (_, i) => (i % 3 ? 1 : 0));
    masked.setMasks(new Map([['0.weight', m0]]));
    const bytes = await wt.io.toBytes({ model: masked, meta: { note: 'ticket' } });
    const file = wt.io.decodeSafetensors(bytes);
    expect([...file.tensors.keys()]).toEqual(expect.arrayContaining(['0.weight', '0.weight_mask', '2.weight_mask', '4.weight_mask', '4.bias']));
    const other = wt.nn.mlp({ sizes: [2, 8, 8, 2], seed: 77, backend });
    const restored = new wt.lab.MaskedModel(other);
    const r = await wt.io.fromBytes(bytes, { model: restored });
    expect(r.meta).toEqual({ note: 'ticket' });
    expect(Array.from((await restored.readMasks()).get('0.weight')!)).toEqual(Array.from(m0));
    expect(Array.from((await restored.readMasks()).get('2.weight')!).every((v) => v === 1)).toBe(true);
    expect(await values(other.parameters())).toEqual(await values(s.model.parameters()));
    // A plain model loads the weights of a masked checkpoint with strict: false (the masks are extra keys).
    const plain = wt.nn.mlp({ sizes: [2, 8, 8, 2], seed: 78, backend });
    await expect(wt.io.fromBytes(bytes, { model: plain })).rejects.toThrow(/unexpected keys: .*weight_mask/);
    await wt.io.fromBytes(bytes, { model: plain, strict: false });
    expect(await values(plain.parameters())).toEqual(await values(s.model.parameters()));
    for (const m of [masked, restored]) m.dispose();
    for (const m of [other, plain]) m.dispose();
    s.dispose();
  });

  test('lotteryTicket at 0% pruning is the dense model: every round trains the same, and the model ends as dense training from θ0 does', async () => {
    const s = setup(backend);
    const dense = setup(backend);
    let result!: Awaited<ReturnType<typeof wt.lab.lotteryTicket>>;
    const leaks = await leaksOf(async () => {
      result = await wt.lab.lotteryTicket({
        model: s.model, data: { train: s.train, test: s.test }, rounds: 2, prunePerRound: 0, epochs: 3, batchSize: 8,
        optimizer: { name: 'adam', lr: 0.02 }, seed: 4, controls: { reinit: false, randomMask: false },
      });
      result.masked.dispose();
    });
    expect(leaks).toEqual([]);
    expect(result.rounds.map((r) => r.remaining)).toEqual([1, 1, 1]);
    expect(result.rounds[1].ticket).toEqual(result.rounds[0].ticket);
    expect(result.rounds[2].ticket).toEqual(result.rounds[0].ticket);
    await wt.train.fit(dense.model, { train: dense.train, valid: dense.test }, { epochs: 3, batchSize: 8, optimizer: { name: 'adam', lr: 0.02 }, seed: 4, readsPerEpoch: 1 });
    expect(await values(s.model.parameters())).toEqual(await values(dense.model.parameters()));
    s.dispose();
    dense.dispose();
  });

  test('lotteryTicket prunes p% of each layer’s remaining weights per round (the output layer at half rate), rewinds, and keeps the pruned weights at zero', async () => {
    const s = setup(backend);
    const theta0 = await values(s.model.parameters());
    const r = await wt.lab.lotteryTicket({
      model: s.model, data: { train: s.train, test: s.test }, rounds: 2, prunePerRound: 0.5, epochs: 2, batchSize: 16,
      optimizer: { name: 'adam', lr: 0.02 }, seed: 4, rewind: { step: 2 },
    });
    // Per layer: 16, 64, 16 weights; 50% then 50% of the rest; the output layer at 25%.
    const expected = [[16, 8, 4], [64, 32, 16], [16, 12, 9]];
    const masks = await r.masked.readMasks();
    const counts = [...masks.values()].map((m) => m.reduce((a, b) => a + b, 0));
    expect(counts).toEqual(expected.map((e) => e[2]));
    expect(r.rounds.map((x) => x.remaining)).toEqual([0, 1, 2].map((k) => expected.reduce((a, e) => a + e[k], 0) / 96));
    expect(r.rounds[0].reinit).toBeUndefined();
    for (const x of r.rounds.slice(1)) {
      expect(x.reinit!.curve.epoch).toEqual([1, 2]);
      expect(x.randomMask!.curve.epoch).toEqual([1, 2]);
    }
    // The model holds the last ticket, trained: pruned weights exactly zero, the rest moved from θ0.
    const entries = r.masked.entries();
    for (const [k, p] of entries) {
      const w = await p.data();
      masks.get(k)!.forEach((m, i) => { if (m === 0) expect(w[i] === 0, `${k}[${i}] = ${w[i]}`).toBe(true); });
    }
    expect(Number.isFinite(r.movement.ticket) && Number.isFinite(r.movement.rest)).toBe(true);
    expect((await values(s.model.parameters()))[0]).not.toEqual(theta0[0]);
    r.masked.dispose();
    s.dispose();
  });

  test('fgsm: the loss rises, the step is ε·sign(∇ₓL) within the data range, and inputs, weights and their gradients are untouched', async () => {
    const s = setup(backend);
    await wt.train.fit(s.model, s.train, { epochs: 5, batchSize: 8, optimizer: { name: 'adam', lr: 0.05 }, seed: 2, readsPerEpoch: 1 });
    const x = s.test.x;
    const y = s.test.y;
    const before = Array.from(await x.data());
    const weights = await values(s.model.parameters());
    const loss = async (t: Tensor) => {
      const l = wt.noGrad(() => wt.nn.functional.crossEntropy(s.model.forward(t), y));
      const v = await l.item();
      l.dispose();
      return v;
    };
    const eps = 0.1;
    let adv!: Tensor;
    const leaks = await leaksOf(async () => { adv = wt.lab.fgsm(s.model, x, y, eps, { range: null }); });
    expect(leaks).toHaveLength(1); // only the result lives on
    expect(await loss(adv)).toBeGreaterThan((await loss(x)) + 0.01);
    // Independently: the gradient by wt.grad, and the step is exactly ε·sign of it.
    const [g] = wt.grad((xi: Tensor) => wt.nn.functional.crossEntropy(s.model.forward(xi), y))(x);
    const gv = await g.data();
    const av = await adv.data();
    before.forEach((v, i) => expect(av[i]).toBeCloseTo(v + eps * Math.sign(gv[i]), 6));
    expect(Array.from(await x.data())).toEqual(before);
    expect(await values(s.model.parameters())).toEqual(weights);
    expect(s.model.parameters().every((p) => p.grad === null)).toBe(true);
    // Clipped to [0, 1] by default.
    const clipped = wt.lab.fgsm(s.model, x, y, 5);
    const cv = await clipped.data();
    expect(Array.from(cv).every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(cv).some((v) => v === 0) && Array.from(cv).some((v) => v === 1)).toBe(true);
    for (const t of [adv, g, clipped]) t.dispose();
    expect(() => wt.lab.fgsm(s.model, x, y, -1)).toThrow(/epsilon/);
    s.dispose();
  });
});

/** Tiny settings: seconds on the CPU backend and on SwiftShader. */
const tiny: Record<'lotteryTicket' | 'adversarial' | 'memorization' | 'doubleDescent', Record<string, number | string | boolean>> = {
  lotteryTicket: { dataset: 'moons', n: 20, nTest: 20, hidden: 8, epochs: 2, batchSize: 20, rounds: 2, prunePerRound: 0.5 },
  adversarial: { source: 'synthetic', n: 100, nTest: 50, hidden: 16, epochs: 4, batchSize: 50, lr: 0.01, epsilons: '0,0.1,0.3', showEpsilon: 0.2 },
  memorization: { source: 'synthetic', n: 100, nTest: 100, hidden: 64, epochs: 40, batchSize: 25, lr: 0.005, regularized: false },
  doubleDescent: { source: 'synthetic', n: 40, nTest: 100, labelNoise: 0.2, widths: '5,20,40,60,400', wideWidth: 32, epochs: 2, batchSize: 20 },
};
/** Which backends run each experiment in this file (the 784-wide ones only on the CPU: SwiftShader is slow). */
const onWebgpu = new Set(['lotteryTicket', 'adversarial']);

describe.each(backends)('lab part 2 experiments on %s', (backend) => {
  beforeAll(async () => { await wt.init({ backend }); });
  const results = new Map<string, LabResult>();
  const ids = (Object.keys(tiny) as (keyof typeof tiny)[]).filter((id) => backend === 'cpu' || onWebgpu.has(id));

  test('registered with a description and plain defaults', () => {
    for (const id of Object.keys(tiny) as ExperimentId[]) {
      const x = wt.lab.experiments[id];
      expect(x.id).toBe(id);
      expect(x.description.length).toBeGreaterThan(100);
      for (const v of Object.values(x.defaults)) expect(['number', 'string', 'boolean']).toContain(typeof v);
      for (const k of Object.keys(tiny[id as keyof typeof tiny])) expect(x.defaults).toHaveProperty(k);
    }
  });

  for (const id of ids) {
    test(`${id}: a well-formed result, monotone progress ending at 1, no leaked tensors`, async () => {
      results.set(id, await runChecked(id, tiny[id]));
    });
  }
  const get = resultOf(results);

  test('lotteryTicket: one row per round at the expected sparsities, all three runs at every pruned round', () => {
    const r = get('lotteryTicket');
    // 2-8-8-2: 16, 64, 16 weights; rounds prune 50% (output layer 25%): 52 then 29 of 96 left.
    expect(r.table!.rows.map((row) => row[1])).toEqual([100, 54.17, 30.21]);
    expect(r.plots[0].series.map((s) => s.label)).toEqual(['winning ticket', 'random re-init', 'random mask']);
    expect(r.plots[0].series[1].x).toEqual([54.17, 30.21]);
  });

  test.runIf(backend === 'cpu')('adversarial: accuracy at ε = 0 is the clean accuracy and FGSM lowers it; the perturbation is at most ε per pixel', () => {
    const r = get('adversarial');
    const [fgsmCurve] = r.plots[0].series;
    expect(fgsmCurve.x).toEqual([0, 0.1, 0.3]);
    expect(fgsmCurve.y[0]).toBeCloseTo(r.summary['test accuracy, clean'] as number, 3);
    expect(fgsmCurve.y[2]).toBeLessThan(fgsmCurve.y[0] - 0.2);
    expect(r.summary.data).toBe('synthetic seven-segment digits');
    const [orig, pert, adv] = r.heatmaps!;
    expect(orig.values).toHaveLength(784);
    pert.values.forEach((v, i) => {
      expect(Math.abs(v)).toBeLessThanOrEqual(0.2 + 1e-6);
      expect(adv.values[i]).toBeCloseTo(orig.values[i] + v, 6);
      expect(adv.values[i]).toBeGreaterThanOrEqual(0);
      expect(adv.values[i]).toBeLessThanOrEqual(1);
    });
    expect(r.summary['example prediction, original']).toBe(r.summary['example label']);
    expect(r.summary['example probability of the label, adversarial']).toBeLessThan(r.summary['example probability of the label, original'] as number);
  });

  test.runIf(backend === 'cpu')('memorization: random labels are fit to 100% training accuracy while test accuracy stays near chance', () => {
    const r = get('memorization');
    expect(r.summary['training accuracy, random labels']).toBe(1);
    expect(r.summary['training accuracy, true labels']).toBe(1);
    expect(r.summary['test accuracy, random labels']).toBeLessThan(0.3);
    // The true labels generalize (a little, from 10 examples a class); the random ones cannot.
    expect(r.summary['test accuracy, true labels']).toBeGreaterThan((r.summary['test accuracy, random labels'] as number) + 0.15);
  });

  test.runIf(backend === 'cpu')('doubleDescent: zero training error from the threshold on; the test loss peaks at p = n', () => {
    const r = get('doubleDescent');
    const [train, testErr] = r.plots[0].series;
    expect(train.x).toEqual([5, 20, 40, 60, 400]);
    train.x.forEach((p, i) => { if (p >= 40) expect(train.y[i]).toBe(0); });
    expect(train.y[0]).toBeGreaterThan(0);
    expect(r.summary['width with the highest test loss']).toBe(40);
    expect(testErr.y[2]).toBeGreaterThan(testErr.y[4]);
    expect(r.plots[2].series[0].x).toEqual([1, 2]);
  });

  test.runIf(backend === 'cpu')('digit experiments use arrays passed to run({digits}), and reject unknown settings', async () => {
    const digits = wt.lab.syntheticDigits(60, new (await import('../src/data/rng')).Rng(5));
    const r = await wt.lab.experiments.adversarial.run({ ...tiny.adversarial, source: 'auto', n: 40, nTest: 20, epochs: 1, digits } as never);
    expect(r.summary.data).toBe('given arrays');
    await expect(wt.lab.experiments.memorization.run({ epoch: 3 } as never)).rejects.toThrow(/unknown setting 'epoch'/);
    await expect(wt.lab.experiments.doubleDescent.run({ widths: '10,x' })).rejects.toThrow(/widths/);
  });
});

