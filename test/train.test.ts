/** wt.train: fit (accuracy, early stopping, callbacks, flat memory, metrics reads) and model selection. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { getBackend, setOpObserver } from '../src/runtime';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

describe.each(backends)('fit on %s', (backend) => {
  test('an MLP learns two spirals (high train and validation accuracy)', async () => {
    const all = wt.data.spirals({ n: 150, noise: 0.05, seed: 1, backend });
    const { train, valid } = wt.data.split(all, { valid: 0.2, seed: 2 });
    const model = wt.nn.mlp({ sizes: [2, 32, 32, 2], seed: 3, backend });
    const history = await wt.train.fit(model, { train, valid }, {
      epochs: 60, batchSize: 16, optimizer: { name: 'adam', lr: 0.01 }, seed: 4,
    });
    const last = history.epochs.at(-1)!;
    expect(history.epochs).toHaveLength(60);
    expect(history.stoppedEarly).toBe(false);
    expect(history.epochs[0].trainLoss).toBeGreaterThan(last.trainLoss);
    expect(last.trainAccuracy).toBeGreaterThan(0.95);
    expect(last.validAccuracy).toBeGreaterThan(0.9);
    // evaluate agrees with the last epoch's validation numbers (same weights, eval mode).
    const ev = await wt.train.evaluate(model, valid!);
    expect(ev.loss).toBeCloseTo(last.validLoss!, 4);
    expect(ev.accuracy).toBeCloseTo(last.validAccuracy!, 6);
    for (const d of [all, train, valid!]) d.dispose();
    model.dispose();
  });

  test('captureSteps gives the same history and weights as running the ops (regularizer, partial last batch, validation)', async () => {
    const all = wt.data.spirals({ n: 53, noise: 0.1, seed: 21, backend }); // 106 examples: 8 batches of 12 and one of 10
    const { train, valid } = wt.data.split(all, { valid: 0.1, seed: 22 });
    const run = async (captureSteps: boolean) => {
      const model = wt.nn.mlp({ sizes: [2, 16, 16, 2], seed: 23, backend, norm: 'batch' });
      let ops = 0; // ops run through JavaScript (a replay runs none)
      setOpObserver(() => { ops++; });
      const h = await wt.train.fit(model, { train, valid }, {
        epochs: 4, batchSize: 12, optimizer: { name: 'adam', lr: 0.02 }, seed: 24, readsPerEpoch: 3, captureSteps,
        regularizer: (m) => wt.nn.functional.l2Penalty(m, 1e-3),
      }).finally(() => setOpObserver(null));
      const weights = await Promise.all(model.parameters().map((p) => p.data()));
      const running = await Promise.all([...model.stateDict()].filter(([k]) => /running|num_batches/.test(k)).map(([, t]) => t.data()));
      model.dispose();
      return { epochs: h.epochs.map(({ seconds: _, ...e }) => e), weights, running, ops };
    };
    const eager = await run(false);
    const memory = wt.memory().numTensors;
    const replayed = await run(true);
    if (backend === 'webgpu') expect(replayed.ops).toBeLessThan(eager.ops / 2);
    else expect(replayed.ops).toBe(eager.ops); // nothing to replay on the CPU
    expect(replayed.epochs).toEqual(eager.epochs);
    expect(replayed.weights).toEqual(eager.weights);
    expect(replayed.running).toEqual(eager.running);
    expect(eager.running.length).toBeGreaterThan(0);
    expect(eager.epochs.at(-1)!.trainLoss).toBeLessThan(eager.epochs[0].trainLoss);
    expect(wt.memory().numTensors).toBe(memory); // the captured step's inputs and sums are released
    for (const d of [all, train, valid!]) d.dispose();
  });

  test.runIf(backend === 'webgpu')('captureSteps refuses a model with dropout, naming it', async () => {
    const ds = wt.data.blobs({ n: 12, classes: 2, seed: 5, backend });
    const model = wt.nn.mlp({ sizes: [2, 8, 2], seed: 6, backend, dropout: 0.5 });
    await expect(wt.train.fit(model, ds, { epochs: 1, batchSize: 8, optimizer: { name: 'sgd', lr: 0.1 }, seed: 1, captureSteps: true }))
      .rejects.toThrow(/captureStep: 'dropout' draws new random numbers/);
    ds.dispose();
    model.dispose();
  });

  test('the metrics read back equal a per-step computation (mean loss, accuracy over the epoch)', async () => {
    const ds = wt.data.blobs({ n: 20, classes: 3, seed: 5, backend });
    // lr 0: the weights never change, so every epoch's training loss is the loss of the initial model.
    const model = wt.nn.mlp({ sizes: [2, 8, 3], seed: 6, backend });
    const before = await wt.train.evaluate(model, ds, { batchSize: 7 });
    const h = await wt.train.fit(model, ds, { epochs: 2, batchSize: 7, optimizer: { name: 'sgd', lr: 0 }, readsPerEpoch: 3, seed: 1 });
    for (const e of h.epochs) {
      expect(e.trainLoss).toBeCloseTo(before.loss, 5);
      expect(e.trainAccuracy).toBeCloseTo(before.accuracy!, 6);
    }
    ds.dispose();
    model.dispose();
  });

  test.runIf(backend === 'webgpu')('metrics cost a few read backs per epoch, not a sync per step', async () => {
    const ds = wt.data.blobs({ n: 100, classes: 4, seed: 24, backend }); // 400 examples: 50 steps of 8
    const model = wt.nn.mlp({ sizes: [2, 8, 4], seed: 25, backend });
    // Count the device → host reads (each one is a sync) and the queue submits.
    const gpu = getBackend('webgpu');
    const read = gpu.read.bind(gpu);
    let reads = 0;
    gpu.read = (...args: Parameters<typeof read>) => { reads++; return read(...args); };
    const perEpoch: { reads: number; submits: number }[] = [];
    let before = { reads: 0, submits: 0 };
    try {
      await wt.train.fit(model, ds, {
        epochs: 2, batchSize: 8, optimizer: { name: 'adam', lr: 0.01 }, readsPerEpoch: 3, seed: 1,
        callbacks: {
          onEpochBegin: () => { before = { reads, submits: wt.stats().submits }; },
          onEpochEnd: () => { perEpoch.push({ reads: reads - before.reads, submits: wt.stats().submits - before.submits }); },
        },
      });
    } finally {
      gpu.read = read;
    }
    for (const e of perEpoch) {
      expect(e.reads).toBe(3); // readsPerEpoch, for 50 steps
      // One submit per optimizer step (the GPU runs a step while the next is encoded), one per read,
      // plus the backend's size-bound flushes: never a wait.
      expect(e.submits).toBeGreaterThanOrEqual(50);
      expect(e.submits).toBeLessThanOrEqual(50 + 3 + 2);
    }
    ds.dispose();
    model.dispose();
  });

  test('early stopping stops when the validation loss rises and restores the best weights', async () => {
    // 12 noisy training points, a big network and a large learning rate: it memorizes them within a
    // few epochs and the validation loss climbs from there.
    const train = wt.data.spirals({ n: 6, noise: 0.4, seed: 7, backend });
    const valid = wt.data.spirals({ n: 100, noise: 0.4, seed: 8, backend });
    const model = wt.nn.mlp({ sizes: [2, 128, 128, 2], seed: 9, backend });
    let bestState: Map<string, Float32Array> | null = null;
    let bestSeen = Infinity;
    const history = await wt.train.fit(model, { train, valid }, {
      epochs: 200, batchSize: 12, optimizer: { name: 'adam', lr: 0.05 }, seed: 10,
      earlyStopping: { patience: 5 },
      callbacks: {
        // Record the weights at the best validation loss so far, as the test's own reference.
        onEpochEnd: async (_e, logs) => {
          if (logs.validLoss! < bestSeen) {
            bestSeen = logs.validLoss!;
            bestState = new Map();
            for (const [k, t] of model.stateDict()) bestState.set(k, (await t.data()) as Float32Array);
          }
        },
      },
    });
    expect(history.stoppedEarly).toBe(true);
    const n = history.epochs.length;
    expect(n).toBeLessThan(200);
    const losses = history.epochs.map((e) => e.validLoss!);
    const best = losses.indexOf(Math.min(...losses));
    expect(history.bestEpoch).toBe(best);
    expect(n - 1 - best).toBe(5); // patience epochs without improvement, then stop
    expect(losses[n - 1]).toBeGreaterThan(losses[best]);
    // The model holds the best epoch's weights again (values, not the last epoch's).
    for (const [k, t] of model.stateDict()) expect(Array.from(await t.data())).toEqual(Array.from(bestState!.get(k)!));
    const ev = await wt.train.evaluate(model, valid);
    expect(ev.loss).toBeCloseTo(losses[best], 4);
    for (const d of [train, valid]) d.dispose();
    model.dispose();
  });

  test('callbacks fire in order with their arguments', async () => {
    const ds = wt.data.moons({ n: 10, seed: 11, backend }); // 20 examples
    const model = wt.nn.mlp({ sizes: [2, 4, 2], seed: 12, backend });
    const events: string[] = [];
    const h = await wt.train.fit(model, { train: ds, valid: ds }, {
      epochs: 2, batchSize: 8, optimizer: { name: 'sgd', lr: 0.1 }, seed: 1,
      callbacks: {
        onTrainBegin: () => { events.push('trainBegin'); },
        onEpochBegin: (e) => { events.push(`epochBegin ${e}`); },
        onBatchEnd: (b, logs) => { events.push(`batch ${logs.epoch}.${b} step ${logs.step} size ${logs.size}`); },
        onEpochEnd: async (e, logs) => {
          await new Promise((r) => setTimeout(r, 1)); // async callbacks are awaited
          events.push(`epochEnd ${e} ${typeof logs.trainLoss} ${typeof logs.validAccuracy}`);
        },
        onTrainEnd: (history) => { events.push(`trainEnd ${history.epochs.length}`); },
      },
    });
    expect(events).toEqual([
      'trainBegin',
      'epochBegin 0', 'batch 0.0 step 1 size 8', 'batch 0.1 step 2 size 8', 'batch 0.2 step 3 size 4', 'epochEnd 0 number number',
      'epochBegin 1', 'batch 1.0 step 4 size 8', 'batch 1.1 step 5 size 8', 'batch 1.2 step 6 size 4', 'epochEnd 1 number number',
      'trainEnd 2',
    ]);
    expect(h.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    ds.dispose();
    model.dispose();
  });

  test('onEpochEnd returning false stops training', async () => {
    const ds = wt.data.xor({ n: 8, seed: 13, backend });
    const model = wt.nn.mlp({ sizes: [2, 4, 2], seed: 14, backend });
    const h = await wt.train.fit(model, ds, {
      epochs: 10, batchSize: 8, optimizer: { name: 'sgd', lr: 0.1 }, callbacks: { onEpochEnd: (e) => e < 2 },
    });
    expect(h.epochs).toHaveLength(3);
    expect(h.stoppedEarly).toBe(true);
    ds.dispose();
    model.dispose();
  });

  test('memory stays flat across epochs (and nothing is left after fit)', async () => {
    const ds = wt.data.spirals({ n: 40, seed: 15, backend });
    const valid = wt.data.spirals({ n: 10, seed: 16, backend });
    const model = wt.nn.mlp({ sizes: [2, 16, 16, 2], seed: 17, norm: 'batch', dropout: 0.1, backend });
    const perEpoch: { numTensors: number; numBytes: number }[] = [];
    const opts: wt.train.FitOptions = {
      epochs: 5, batchSize: 8, optimizer: { name: 'adam', lr: 0.01 }, seed: 1, earlyStopping: { patience: 10 },
      regularizer: (m) => wt.nn.functional.l2Penalty(m, 1e-4),
    };
    // A first fit warms up what backends cache once per process (small constants), then measure.
    await wt.train.fit(model, { train: ds, valid }, { ...opts, epochs: 1 });
    const start = wt.memory();
    await wt.train.fit(model, { train: ds, valid }, { ...opts, callbacks: { onEpochEnd: () => { perEpoch.push(wt.memory()); } } });
    for (const m of perEpoch.slice(1)) {
      expect(m.numTensors).toBe(perEpoch[0].numTensors);
      expect(m.numBytes).toBe(perEpoch[0].numBytes);
    }
    // fit built the optimizer and disposed it; its best-weights copy is gone too.
    expect(wt.memory().numTensors).toBe(start.numTensors);
    for (const d of [ds, valid]) d.dispose();
    model.dispose();
  });

  test('batchSize 1 is per-example SGD; mse regression reports no accuracy', async () => {
    // y = 2x + 1 on 16 points.
    const xs = Array.from({ length: 16 }, (_, i) => i / 8 - 1);
    const ds = new wt.data.Dataset(wt.tensor(xs, [16, 1], { backend }), wt.tensor(xs.map((v) => 2 * v + 1), [16, 1], { backend }));
    const model = new wt.nn.Linear(1, 1, { seed: 1, backend });
    const steps: number[] = [];
    const h = await wt.train.fit(model, ds, {
      epochs: 30, batchSize: 1, loss: 'mse', optimizer: { name: 'sgd', lr: 0.05 }, seed: 2,
      callbacks: { onBatchEnd: (_b, logs) => { steps.push(logs.size); } },
    });
    expect(steps).toHaveLength(30 * 16);
    expect(steps.every((s) => s === 1)).toBe(true);
    expect(h.epochs.at(-1)!.trainLoss).toBeLessThan(1e-3);
    expect(h.epochs.at(-1)!.trainAccuracy).toBeUndefined();
    expect((await model.weight.data())[0]).toBeCloseTo(2, 1);
    ds.dispose();
    model.dispose();
  });

  test('a given Optimizer instance is used (and left to its owner); schedules report their lr', async () => {
    const ds = wt.data.blobs({ n: 10, classes: 2, seed: 18, backend });
    const model = wt.nn.mlp({ sizes: [2, 4, 2], seed: 19, backend });
    const opt = new wt.optim.SGD(model.parameters(), { lr: wt.optim.schedule.step(0.1, 2, 0.5) });
    const h = await wt.train.fit(model, ds, { epochs: 3, batchSize: 20, optimizer: opt, seed: 1 });
    expect(h.epochs.map((e) => e.lr)).toEqual([0.1, 0.1, 0.05]); // one step per epoch: α γ^⌊(t − 1) / 2⌋
    expect(opt.paramGroups[0].step).toBe(3);
    opt.step(); // still usable: fit did not dispose it
    opt.dispose();
    ds.dispose();
    model.dispose();
  });

  test('checkpoint: saves {model, optimizer, step} every N steps and after the last one', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'webtrain-fit-'));
    const path = join(dir, 'ckpt.safetensors');
    const ds = wt.data.moons({ n: 20, seed: 26, backend }); // 40 examples: 4 steps of 10 per epoch
    const model = wt.nn.mlp({ sizes: [2, 8, 2], seed: 27, backend });
    const saved: number[] = [];
    await wt.train.fit(model, ds, {
      epochs: 2, batchSize: 10, optimizer: { name: 'adam', lr: 0.01 }, seed: 1, checkpoint: { path, every: 3, meta: { run: 'a' } },
      callbacks: { onBatchEnd: async (_b, logs) => { if (logs.step % 3 === 0) saved.push(logs.step); } },
    });
    expect(saved).toEqual([3, 6]);
    // The last save came after step 8 (the end); it restores into fresh objects.
    const fresh = wt.nn.mlp({ sizes: [2, 8, 2], seed: 99, backend });
    const opt = new wt.optim.Adam(fresh.parameters(), { lr: 0.01 });
    const { step, meta } = await wt.io.load(path, { model: fresh, optimizer: opt });
    expect(step).toBe(8);
    expect(meta).toEqual({ run: 'a', epoch: 1 });
    for (const [k, t] of model.stateDict()) expect(Array.from(await fresh.stateDict().get(k)!.data())).toEqual(Array.from(await t.data()));
    expect(opt.paramGroups[0].step).toBe(8);
    opt.dispose();
    fresh.dispose();
    ds.dispose();
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('clear errors for bad options', async () => {
    const ds = wt.data.xor({ n: 4, seed: 1, backend });
    const model = wt.nn.mlp({ sizes: [2, 2], seed: 1, backend });
    const opts = { epochs: 1, batchSize: 4, optimizer: { name: 'sgd' as const, lr: 0.1 } };
    await expect(wt.train.fit(model, ds, { ...opts, batchSize: 0 })).rejects.toThrow(/batchSize must be an integer >= 1, got 0/);
    await expect(wt.train.fit(model, ds, { ...opts, earlyStopping: { patience: 2 } })).rejects.toThrow(/no validation set/);
    await expect(wt.train.fit(model, ds, { ...opts, optimizer: { name: 'adamax' as 'adam' } })).rejects.toThrow(/unknown name 'adamax'/);
    await expect(wt.train.fit(model, ds, { ...opts, lr: 0.1 } as never)).rejects.toThrow(/unknown option 'lr'/);
    ds.dispose();
    model.dispose();
  });
});

describe('model selection', () => {
  beforeAll(async () => { await wt.init({ backend: 'cpu' }); });

  /** Trains a small classifier on blobs with `config` and returns its validation loss. */
  async function trainBlobs(config: { lr: number; hidden: number }) {
    const all = wt.data.blobs({ n: 40, classes: 3, spread: 0.6, seed: 20, backend: 'cpu' });
    const { train, valid } = wt.data.split(all, { valid: 0.25, seed: 21 });
    const model = wt.nn.mlp({ sizes: [2, config.hidden, 3], seed: 22, backend: 'cpu' });
    await wt.train.fit(model, train, { epochs: 10, batchSize: 30, optimizer: { name: 'adam', lr: config.lr }, seed: 23 });
    const ev = await wt.train.evaluate(model, valid!);
    for (const d of [all, train, valid!]) d.dispose();
    model.dispose();
    return { score: ev.loss, accuracy: ev.accuracy };
  }

  test('gridSearch runs every combination and picks the lowest validation loss', async () => {
    const seen: string[] = [];
    const res = await wt.train.gridSearch({ lr: [1e-4, 3e-2], hidden: [4, 16] }, async (c) => {
      seen.push(`${c.lr}/${c.hidden}`);
      return trainBlobs(c);
    });
    expect(seen).toEqual(['0.0001/4', '0.0001/16', '0.03/4', '0.03/16']);
    expect(res.trials).toHaveLength(4);
    // lr 1e-4 barely moves in 10 steps; 3e-2 learns.
    expect(res.best!.config.lr).toBe(3e-2);
    expect(res.best!.score).toBe(Math.min(...res.trials.map((t) => t.score)));
    expect(typeof res.best!.result.accuracy).toBe('number');
  });

  test('gridSearch maximizes with minimize: false, and scores may be plain numbers', async () => {
    const res = await wt.train.gridSearch({ a: [1, 5, 3], b: ['x'] }, (c) => c.a, { minimize: false });
    expect(res.best!.config).toEqual({ a: 5, b: 'x' });
    expect(res.trials.map((t) => t.result)).toEqual([1, 5, 3]);
  });

  test('randomSearch draws seeded configurations from the distributions and picks the best', async () => {
    const space = {
      lr: wt.train.logUniform(1e-5, 1e-1),
      hidden: wt.train.choice([4, 16]),
      momentum: wt.train.uniform(0.5, 0.9),
      layers: wt.train.intUniform(1, 3),
      activation: ['relu', 'tanh'],
      fixed: 7,
    };
    const a = await wt.train.randomSearch(space, 50, () => 0, { seed: 3 });
    const b = await wt.train.randomSearch(space, 50, () => 0, { seed: 3 });
    const c = await wt.train.randomSearch(space, 50, () => 0, { seed: 4 });
    expect(a.trials.map((t) => t.config)).toEqual(b.trials.map((t) => t.config));
    expect(a.trials.map((t) => t.config)).not.toEqual(c.trials.map((t) => t.config));
    for (const { config } of a.trials) {
      expect(config.lr).toBeGreaterThanOrEqual(1e-5);
      expect(config.lr).toBeLessThan(1e-1);
      expect([4, 16]).toContain(config.hidden);
      expect(config.momentum).toBeGreaterThanOrEqual(0.5);
      expect(config.momentum).toBeLessThan(0.9);
      expect([1, 2, 3]).toContain(config.layers);
      expect(['relu', 'tanh']).toContain(config.activation);
      expect(config.fixed).toBe(7);
    }
    // Every value of the discrete distributions shows up; log-uniform covers the decades.
    expect(new Set(a.trials.map((t) => t.config.layers)).size).toBe(3);
    const decades = new Set(a.trials.map((t) => Math.floor(Math.log10(t.config.lr))));
    expect(decades.size).toBeGreaterThanOrEqual(3);

    const res = await wt.train.randomSearch({ lr: wt.train.logUniform(1e-5, 1e-1), hidden: wt.train.choice([4, 16]) }, 6,
      (cfg) => trainBlobs(cfg), { seed: 5 });
    expect(res.trials).toHaveLength(6);
    const sorted = [...res.trials].sort((p, q) => p.score - q.score);
    expect(res.best).toBe(sorted[0]);
    // The winner learned: its learning rate is in the upper part of the range.
    expect(res.best!.config.lr).toBeGreaterThan(1e-3);
  });

  test('errors name the problem', async () => {
    await expect(wt.train.gridSearch({ lr: [] }, () => 0)).rejects.toThrow(/space.lr must be a non-empty array/);
    await expect(wt.train.randomSearch({}, 0, () => 0)).rejects.toThrow(/n \(the number of trials\) must be a positive integer/);
    await expect(wt.train.gridSearch({ lr: [1] }, () => 'x' as never)).rejects.toThrow(/must return a number or \{score/);
    expect(() => wt.train.logUniform(0, 1)).toThrow(/bounds must be positive/);
    expect(() => wt.train.intUniform(3, 1)).toThrow(/a <= b/);
  });
});
