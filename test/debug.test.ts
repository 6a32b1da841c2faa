/**
 * wt.debug and reliability over time: the per-op NaN/Inf check (CPU: synchronous; WebGPU: queued and
 * read with the next read back), allocation tracking for leaks, fit's handling of a diverging loss,
 * and a soak run whose live tensor count and bytes must stay exactly flat.
 */
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import * as wt from '../src/index';
import { NonFiniteError, type NumericsReport } from '../src/debug';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());
afterEach(() => {
  wt.debug.checkNumerics(false);
  wt.debug.trackAllocations(false);
});

// First in the file: the other tests leave garbage tensors (on purpose, or behind an exception),
// which the FinalizationRegistry would release at unpredictable moments during the soak.
describe.each(backends)('soak on %s', (backend) => {
  const marks = (label: string, m: Map<number, MemoryMark>) =>
    console.log(`soak ${backend} ${label}: ${[...m].map(([step, v]) => `step ${step} ${JSON.stringify(v)}`).join('; ')}`);

  test('2000 steps of a raw training loop: live tensors and bytes exactly flat from step 100 on', async () => {
    await collectGarbage();
    const ds = wt.data.spirals({ n: 48, noise: 0.1, seed: 11, backend }); // 96 examples
    const model = wt.nn.mlp({ sizes: [2, 16, 2], seed: 12, backend });
    const opt = new wt.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const at = new Map<number, MemoryMark>();
    const losses: number[] = [];
    let step = 0;
    for (let epoch = 0; step < 2000; epoch++) {
      for (const b of ds.batches({ batchSize: 8, seed: epoch })) {
        opt.zeroGrad();
        const loss = wt.tidy(() => {
          const l = wt.nn.functional.crossEntropy(model.forward(b.x), b.y);
          l.backward();
          return l.detach();
        });
        opt.step();
        b.x.dispose();
        b.y.dispose();
        step++;
        if (step % 250 === 0) losses.push(await loss.item());
        loss.dispose();
        if (step === 100 || step === 1000 || step === 2000) at.set(step, memoryMark());
        if (step === 2000) break;
      }
    }
    marks(`raw loop (loss every 250 steps: ${losses.map((l) => l.toFixed(3)).join(' ')})`, at);
    const [m100, m1000, m2000] = [at.get(100)!, at.get(1000)!, at.get(2000)!];
    expect(m1000.numTensors).toBe(m100.numTensors);
    expect(m2000.numTensors).toBe(m100.numTensors);
    expect(m2000.numBytes).toBe(m100.numBytes);
    // The GPU buffer pool settles too: no buffer is created after step 100 (the working set is reused).
    expect(m2000.buffersCreated).toBe(m100.buffersCreated);
    expect(m2000.pooledBytes).toBe(m1000.pooledBytes);
    expect(losses.at(-1)!).toBeLessThan(losses[0]); // and it trained
    opt.dispose();
    model.dispose();
    ds.dispose();
  });

  test('2000 steps of fit (Adam): live tensors and bytes exactly flat between early and late epochs', async () => {
    await collectGarbage();
    const ds = wt.data.spirals({ n: 48, noise: 0.1, seed: 13, backend });
    const model = wt.nn.mlp({ sizes: [2, 16, 2], seed: 14, backend });
    const at = new Map<number, MemoryMark>();
    let steps = 0;
    // 12 steps per epoch; marks at epoch ends (every metric read has completed there). On the CPU,
    // Adam's bias corrections are two new numbers per step, each a cached 0-d tensor: the scalar
    // cache (256 per backend and dtype) is full by step 128, so the first mark is after that.
    // No wall-clock yields (yieldEveryMs): with them, when the background metric reads complete and
    // free their sums depends on the device's speed, and on an H100 the pool's high-water mark
    // was once reached after the first mark (one more buffer created). Without them every read
    // completes at its epoch's end, and each epoch allocates the same way.
    const h = await wt.train.fit(model, ds, {
      epochs: 167, batchSize: 8, optimizer: { name: 'adam', lr: 0.01 }, seed: 15, yieldEveryMs: Infinity,
      callbacks: {
        onBatchEnd: (_, logs) => { steps = logs.step; },
        onEpochEnd: (epoch) => { if (epoch === 16 || epoch === 166) at.set(steps, memoryMark()); },
      },
    });
    marks(`fit (loss ${h.epochs[0].trainLoss.toFixed(3)} → ${h.epochs.at(-1)!.trainLoss.toFixed(3)})`, at);
    expect([...at.keys()]).toEqual([204, 2004]);
    const [early, late] = [at.get(204)!, at.get(2004)!];
    expect(late.numTensors).toBe(early.numTensors);
    expect(late.numBytes).toBe(early.numBytes);
    expect(late.buffersCreated).toBe(early.buffersCreated);
    expect(h.epochs.at(-1)!.trainLoss).toBeLessThan(h.epochs[0].trainLoss);
    model.dispose();
    ds.dispose();
  });
});

type MemoryMark = ReturnType<typeof wt.memory> & { buffersCreated: number };

function memoryMark(): MemoryMark {
  wt.flush(); // freed buffers return to the pool at a submit
  return { ...wt.memory(), buffersCreated: wt.stats().buffersCreated };
}

/** Lets the FinalizationRegistry release garbage tensors of earlier tests now (vitest runs node with --expose-gc). */
async function collectGarbage(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 10));
}

/** The report a failing op produced: thrown at once on the CPU, by the next read back on WebGPU. */
async function reportOf(run: () => wt.Tensor): Promise<NumericsReport> {
  let err: unknown = null;
  try {
    const y = run();
    await y.data();
    y.dispose();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NonFiniteError);
  expect(err).toBeInstanceOf(wt.WebtrainError);
  return (err as NonFiniteError).report;
}

describe.each(backends)('checkNumerics on %s', (backend) => {
  const opts = { backend };

  test('log(-1) in the middle of a chain is reported as log, with shapes and counts', async () => {
    wt.debug.checkNumerics(true);
    const x = wt.tensor([[1, -1, 2], [3, 4, -5]], undefined, opts);
    const r = await reportOf(() => wt.tidy(() => x.mul(2).log().exp().sum()));
    expect(r).toEqual({
      op: 'log', phase: 'forward', backend, dtype: 'f32', inputShapes: [[2, 3]], outputShape: [2, 3], nan: 2, posInf: 0, negInf: 0,
    });
    const message = new NonFiniteError(r).message;
    expect(message).toContain("'log' (forward");
    expect(message).toContain('2 NaN, 0 +Inf and 0 -Inf');
    expect(message).toContain('output of shape [2, 3] from finite inputs of shapes [2, 3]');
    // After a report the queue is empty: the next read is clean.
    const ok = x.abs().add(1).log();
    expect(Array.from(await ok.data())[0]).toBeCloseTo(Math.log(2), 6);
    ok.dispose();
    x.dispose();
  });

  test('1/0 is counted as +Inf, -1/0 as -Inf and 0/0 as NaN', async () => {
    wt.debug.checkNumerics(true);
    const a = wt.tensor([1, -2, 3, 0, 5], undefined, opts);
    const b = wt.tensor([0, 0, 1, 0, 0], undefined, opts);
    const r = await reportOf(() => a.div(b));
    expect(r).toMatchObject({ op: 'div', phase: 'forward', inputShapes: [[5], [5]], outputShape: [5], nan: 1, posInf: 2, negInf: 1 });
    a.dispose();
    b.dispose();
  });

  test('an op fed values that are already NaN/Inf only propagates them and is not blamed', async () => {
    wt.debug.checkNumerics(true);
    const x = wt.tensor([NaN, 1, Infinity, 2], undefined, opts);
    const y = x.exp().add(1).mul(x).sum();
    expect(Number.isNaN(await y.item())).toBe(true);
    expect(await wt.debug.flushNumerics()).toBeNull();
    // ... but a fresh NaN made downstream of them, from finite values, still is.
    const z = wt.tensor([4, -9], undefined, opts);
    const r = await reportOf(() => wt.tidy(() => x.sum().add(z.sqrt())));
    expect(r).toMatchObject({ op: 'sqrt', inputShapes: [[2]], outputShape: [2], nan: 1 });
    for (const t of [x, y, z]) t.dispose();
  });

  test('a NaN made in backward is reported with the phase (sqrt at 0: its vjp divides by 0)', async () => {
    wt.debug.checkNumerics(true);
    const x = wt.tensor([0, 4], undefined, { ...opts, requiresGrad: true });
    const y = x.sqrt().sum();
    let err: unknown = null;
    try {
      y.backward();
      await x.grad!.data();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    // The vjp is gy / (2y): the division makes +Inf from finite values.
    expect((err as NonFiniteError).report).toMatchObject({ op: 'div', phase: 'backward', outputShape: [2], posInf: 1, nan: 0, negInf: 0 });
    expect((err as NonFiniteError).message).toContain('(backward');
    x.grad = null;
    x.dispose();
    y.dispose();
  });

  test('a handler receives the first report instead of an exception', async () => {
    const reports: NumericsReport[] = [];
    wt.debug.checkNumerics(true, { onNonFinite: (r) => reports.push(r) });
    const x = wt.tensor([-1, 0, 1], undefined, opts);
    // log(-1) = NaN, log(0) = -Inf: both in the first op; the ops after only propagate.
    const y = x.log().neg().exp();
    const values = Array.from(await y.data());
    // NOTE: exp(NaN) is +Inf on SwiftShader (WGSL may assume no NaN), NaN on the CPU.
    expect(Number.isFinite(values[0])).toBe(false);
    expect(values[1]).toBe(Infinity);
    expect(await wt.debug.flushNumerics()).toBeNull(); // already delivered
    expect(reports).toEqual([expect.objectContaining({ op: 'log', nan: 1, posInf: 0, negInf: 1, inputShapes: [[3]] })]);
    x.dispose();
    y.dispose();
  });

  test('off: no check runs and no error is raised', async () => {
    wt.debug.checkNumerics(false);
    expect(wt.debug.isCheckingNumerics()).toBe(false);
    const x = wt.tensor([-1, 2], undefined, opts);
    const before = wt.stats().dispatches;
    const y = x.log();
    // On the GPU the op is its one dispatch: no check kernel ran.
    if (backend === 'webgpu') expect(wt.stats().dispatches - before).toBe(1);
    const v = await y.data();
    expect(Number.isNaN(v[0])).toBe(true);
    expect(await wt.debug.flushNumerics()).toBeNull();
    // Switched on, the same op costs its check (and on the GPU, one of its input: an upload).
    wt.debug.checkNumerics(true);
    const before2 = wt.stats().dispatches;
    const three = wt.tensor([3], undefined, opts);
    const z = three.log();
    if (backend === 'webgpu') expect(wt.stats().dispatches - before2).toBe(3);
    await z.data();
    for (const t of [x, y, three, z]) t.dispose();
  });

  test('the first offending op is found in execution order across many queued checks', async () => {
    wt.debug.checkNumerics(true);
    const x = wt.tensor([0.5, 0.25], undefined, opts);
    // ~1300 checks: more than one window of counters on the GPU (1024 slots), read in the background.
    const r = await reportOf(() => wt.tidy(() => {
      let t = x.add(0);
      for (let i = 0; i < 650; i++) t = t.mul(1);
      const first = t.sub(1).log(); // the first culprit: log of negatives
      const second = t.mul(0).reciprocal(); // a second, independent one: 1/0
      return t.add(first).add(second);
    }));
    expect(r).toMatchObject({ op: 'log', inputShapes: [[2]], nan: 2, posInf: 0 });
    x.dispose();
  });
});

describe.each(backends)('fit with a diverging loss on %s', (backend) => {
  const setup = () => ({
    ds: wt.data.blobs({ n: 16, classes: 2, seed: 3, backend }),
    model: wt.nn.mlp({ sizes: [2, 16, 2], seed: 4, backend }),
  });
  // lr 1e12: the first updates blow the logits past f32 range, so the loss becomes NaN/Inf.
  const diverging = { epochs: 20, batchSize: 8, optimizer: { name: 'sgd' as const, lr: 1e12 }, seed: 5, readsPerEpoch: 1 };

  test("'stop' (default): stops, says why in history.stopReason, and warns", async () => {
    const { ds, model } = setup();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const h = await wt.train.fit(model, ds, diverging);
      expect(h.stoppedEarly).toBe(true);
      expect(h.epochs.length).toBeLessThan(20);
      expect(Number.isFinite(h.epochs.at(-1)!.trainLoss)).toBe(false);
      expect(h.stopReason).toMatch(/training loss became (NaN|Infinity|-Infinity) in epoch \d+/);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toContain('Training stopped');
    } finally {
      warn.mockRestore();
      ds.dispose();
      model.dispose();
    }
  });

  test("'throw' throws a WebtrainError; 'continue' runs every epoch", async () => {
    let { ds, model } = setup();
    await expect(wt.train.fit(model, ds, { ...diverging, onNonFinite: 'throw' })).rejects.toThrow(/training loss became/);
    ds.dispose();
    model.dispose();
    ({ ds, model } = setup());
    const h = await wt.train.fit(model, ds, { ...diverging, epochs: 4, onNonFinite: 'continue' });
    expect(h.epochs).toHaveLength(4);
    expect(h.stopReason).toBeUndefined();
    expect(Number.isFinite(h.epochs[3].trainLoss)).toBe(false);
    await expect(wt.train.fit(model, ds, { ...diverging, onNonFinite: 'halt' as never })).rejects.toThrow(/onNonFinite must be/);
    ds.dispose();
    model.dispose();
  });

  test('with checkNumerics on, fit fails with the report of the op that overflowed first', async () => {
    const { ds, model } = setup();
    wt.debug.checkNumerics(true);
    let err: unknown = null;
    try {
      await wt.train.fit(model, ds, diverging);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    // The weights are huge but finite after the first update; the output layer's product overflows.
    expect((err as NonFiniteError).report).toMatchObject({
      op: 'linear', phase: 'forward', backend, outputShape: [8, 2], inputShapes: [[8, 16], [2, 16], [2]], nan: 0,
    });
    wt.debug.checkNumerics(false);
    ds.dispose();
    model.dispose();
  });

  test('a sane learning rate is not stopped', async () => {
    const { ds, model } = setup();
    const h = await wt.train.fit(model, ds, { ...diverging, epochs: 3, optimizer: { name: 'sgd', lr: 0.1 } });
    expect(h.epochs).toHaveLength(3);
    expect(h.stoppedEarly).toBe(false);
    expect(h.stopReason).toBeUndefined();
    ds.dispose();
    model.dispose();
  });
});

describe.each(backends)('allocation tracking on %s', (backend) => {
  test('a tensor created and not disposed in a function is listed with that function in its stack', () => {
    wt.debug.trackAllocations(true);
    function leakyHelper(): void {
      const a = wt.ones([3, 4], { backend });
      const b = a.exp(); // leaked
      const c = b.mul(2);
      a.dispose();
      c.dispose();
    }
    leakyHelper();
    const live = wt.debug.liveTensors();
    // a (fill) and c (mul) were disposed: only b is left of the three.
    const leaked = live.filter((t) => t.stack?.includes('leakyHelper'));
    expect(leaked.map((t) => t.op)).toEqual(['exp']);
    expect(leaked[0]).toMatchObject({ op: 'exp', shape: [3, 4], dtype: 'f32', backend, bytes: 48, requiresGrad: false });
    // The stack starts at the user's frame: webtrain's own frames are trimmed.
    expect(leaked[0].site).toContain('leakyHelper');
    expect(leaked[0].stack).toContain('debug.test.ts');
    expect(leaked[0].stack).not.toMatch(/src[\\/](runtime|tensor|ops[\\/]functional)\.ts/);
    wt.debug.trackAllocations(false);
    expect(() => wt.debug.liveTensors()).toThrow(/trackAllocations\(true\)/);
  });

  test('groups sum the live tensors of one allocation site; disposed ones are gone', () => {
    wt.debug.trackAllocations(true);
    const kept: wt.Tensor[] = [];
    function makeActivations(n: number): void {
      for (let i = 0; i < n; i++) kept.push(wt.zeros([8, 2], { backend }));
    }
    makeActivations(3);
    const tmp = wt.ones([100], { backend });
    const groups = wt.debug.liveTensorGroups();
    const site = groups.find((g) => g.key.includes('makeActivations'))!;
    expect(site).toMatchObject({ count: 3, bytes: 3 * 64 });
    expect(groups[0].bytes).toBeGreaterThanOrEqual(groups.at(-1)!.bytes);
    expect(wt.debug.liveTensors({ sortBy: 'bytes' })[0]).toMatchObject({ shape: [100], bytes: 400 });
    expect(wt.debug.liveTensorGroups('op').find((g) => g.key === 'fill')!.count).toBe(4);
    for (const t of kept) t.dispose();
    tmp.dispose();
    expect(wt.debug.liveTensors()).toEqual([]);
  });
});
