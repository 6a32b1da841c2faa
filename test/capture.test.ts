/** captureStep: a replayed training step equals the eager one, bit for bit, and refuses what it cannot repeat. */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { availableBackends } from './setup-backends';
import { getBackend } from '../src/runtime';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

/** Two different batches of a 4-class problem, as data. */
function batches(n: number, count: number, seed: number): { x: Float32Array; y: Int32Array }[] {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 * 2 - 1; };
  return Array.from({ length: count }, () => ({
    x: Float32Array.from({ length: n * 6 }, rnd),
    y: Int32Array.from({ length: n }, () => Math.floor((rnd() + 1) * 2) % 4),
  }));
}

/** What the step helpers need of an optimizer. */
type Trainer = { zeroGrad(): void; step(): void };

/** One eager training step: zeroGrad, loss, backward, update; returns the loss. */
async function eagerStep(optimizer: Trainer, lossOf: () => wt.Tensor): Promise<number> {
  optimizer.zeroGrad();
  const loss = wt.tidy(lossOf);
  loss.backward();
  optimizer.step();
  const value = await loss.item();
  loss.dispose();
  return value;
}

/** The same step captured (zeroGrad, loss, backward) with `inputs` refilled per run; the update stays outside. */
const captureTraining = (optimizer: Trainer, lossOf: () => wt.Tensor, inputs: wt.Tensor[]) => wt.captureStep(() => {
  optimizer.zeroGrad();
  const loss = wt.tidy(lossOf);
  loss.backward();
  return loss;
}, { inputs });

describe.each(backends)('%s', (backend) => {
  // Adam, or SGD where the CPU's Adam would fill the 0-d constant cache with its bias corrections.
  const setup = (sgd = false) => {
    const model = wt.nn.mlp({ sizes: [6, 16, 16, 4], activation: 'tanh', seed: 5, backend });
    const optimizer = sgd ? new wt.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) : new wt.optim.Adam(model.parameters(), { lr: 0.01 });
    const x = wt.zeros([8, 6], { backend });
    const y = wt.zeros([8], { dtype: 'i32', backend });
    const lossOf = () => wt.nn.functional.crossEntropy(model.forward(x), y);
    return { model, optimizer, x, y, lossOf, captureTraining: () => captureTraining(optimizer, lossOf, [x, y]) };
  };

  test('a captured step replays the eager step exactly: same losses and parameters over 12 steps', async () => {
    const data = batches(8, 12, 7);
    const eager = setup();
    const eagerLosses: number[] = [];
    for (const b of data) {
      wt.tidy(() => {
        eager.x.assign(wt.tensor(b.x, [8, 6], { backend }));
        eager.y.assign(wt.tensor(b.y, [8], { dtype: 'i32', backend }));
      });
      eagerLosses.push(await eagerStep(eager.optimizer, eager.lossOf));
    }
    const cap = setup();
    wt.tidy(() => {
      cap.x.assign(wt.tensor(data[0].x, [8, 6], { backend }));
      cap.y.assign(wt.tensor(data[0].y, [8], { dtype: 'i32', backend }));
    });
    // The capture run is the first step itself (its update follows, outside).
    const step = cap.captureTraining();
    cap.optimizer.step();
    const capLosses = [await step.result.item()];
    for (const b of data.slice(1)) {
      const loss = step.run(b.x, b.y);
      cap.optimizer.step();
      capLosses.push(await loss.item());
    }
    expect(capLosses).toEqual(eagerLosses);
    const pe = await Promise.all(eager.model.parameters().map((p) => p.data()));
    const pc = await Promise.all(cap.model.parameters().map((p) => p.data()));
    expect(pc).toEqual(pe);
    if (backend === 'webgpu') expect(step.dispatches).toBeGreaterThan(10);
    else expect(step.dispatches).toBe(0);
    step.dispose();
    for (const s of [eager, cap]) { s.optimizer.dispose(); s.model.dispose(); s.x.dispose(); s.y.dispose(); }
  });

  test('replays allocate nothing, leak nothing, and leave other tensors alone', async () => {
    const s = setup(true);
    const data = batches(8, 3, 11);
    const step = s.captureTraining();
    // Tensors made after the capture get buffers the capture freed? They must not: a replay writes those.
    const bystanders = [0, 1, 2, 3].map((i) => wt.full([8, 16], i + 0.5, { backend }));
    // Warm up: Adam creates its state at its first step, and each batch's upload finds its buffer.
    for (let i = 0; i < 3; i++) {
      step.run(data[i].x, data[i].y);
      s.optimizer.step();
    }
    await step.result.data();
    const before = { ...wt.memory(), created: wt.stats().buffersCreated };
    for (let i = 0; i < 30; i++) {
      step.run(data[i % 3].x, data[i % 3].y);
      s.optimizer.step();
    }
    await step.result.data();
    const after = { ...wt.memory(), created: wt.stats().buffersCreated };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.created).toBe(before.created);
    for (const [i, t] of bystanders.entries()) expect(Array.from(await t.data())).toEqual(new Array(128).fill(i + 0.5));
    step.dispose();
    bystanders.forEach((t) => t.dispose());
    s.optimizer.dispose(); s.model.dispose(); s.x.dispose(); s.y.dispose();
  });

  test('a constant first made inside the capture keeps its value on replay (it never gets a buffer the step wrote)', async () => {
    const x = wt.zeros([8], { backend });
    await wt.emptyCache(); // no pooled buffers: the upload below would take the one just freed
    // x.sum() is written into a small buffer and freed; then the new constant 777.2513 is uploaded.
    // Had the upload reused that buffer, each replay would overwrite the constant with the sum.
    const step = wt.captureStep(() => wt.tidy(() => {
      const s = x.sum();
      const kept = s.mul(2);
      s.dispose();
      return kept.add(777.2513).add(x.mean());
    }), { inputs: [x] });
    for (const v of [[1, 2, 3, 4, 5, 6, 7, 8], [-1, 0.5, 2, 0, 0, 3, 1, 1]]) {
      step.run(Float32Array.from(v));
      const sum = v.reduce((a, b) => a + b, 0);
      expect(await step.result.item()).toBeCloseTo(2 * sum + 777.2513 + sum / 8, 3);
    }
    step.dispose();
    step.result.dispose();
    x.dispose();
  });

  // Gradients a step does not zero must add up across runs as in eager steps (gradient accumulation):
  // a replay that wrote its own gradient over them instead would give 1, 2, 3 where eager gives 1, 3, 6.
  test('gradients the step does not zero accumulate across runs as in eager steps; zeroed inside, each run starts afresh', async () => {
    const xs = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
    const runAll = async (zeroInside: boolean, gradBefore: boolean) => {
      const w = wt.tensor([0.5, -1, 2], [3], { requiresGrad: true, backend });
      const x = wt.zeros([3], { backend });
      if (gradBefore) w.grad = wt.tensor([100, 200, 300], [3], { backend });
      // Two backward calls per step: the second adds into what the first left.
      const body = () => {
        if (zeroInside) w.grad = null;
        const a = wt.tidy(() => w.mul(x).sum());
        a.backward();
        const b = wt.tidy(() => w.mul(x).mul(2).sum());
        b.backward();
        a.dispose();
        return b;
      };
      const grads: number[][] = [];
      x.assign(wt.tensor(xs[0], [3], { backend }));
      const step = wt.captureStep(body, { inputs: [x] });
      grads.push(Array.from(await w.grad!.data()));
      for (const v of xs.slice(1)) {
        step.run(v);
        grads.push(Array.from(await w.grad!.data()));
      }
      step.dispose();
      w.dispose(); x.dispose();
      return grads;
    };
    // Each step adds 3·x (x from a, 2·x from b).
    let sum = [0, 0, 0];
    const accumulated = xs.map((v) => (sum = sum.map((s, i) => s + 3 * v[i])));
    expect(await runAll(false, false)).toEqual(accumulated);
    expect(await runAll(false, true)).toEqual(accumulated.map((g) => g.map((v, i) => v + 100 * (i + 1))));
    expect(await runAll(true, true)).toEqual(xs.map((v) => v.map((e) => 3 * e)));
    // A differentiable gradient (createGraph) cannot be accumulated in place across replays: refused.
    if (backend === 'webgpu') {
      const w = wt.tensor([1, 2], [2], { requiresGrad: true, backend });
      expect(() => wt.captureStep(() => { w.square().sum().backward(undefined, { createGraph: true }); })).toThrow(/createGraph inside captureStep.*\[2\].*did not zero/);
      const step = wt.captureStep(() => { w.grad = null; w.square().sum().backward(undefined, { createGraph: true }); });
      expect(Array.from(await w.grad!.data())).toEqual([2, 4]);
      step.run();
      expect(Array.from(await w.grad!.data())).toEqual([2, 4]);
      step.dispose();
      w.dispose();
    }
  });

  test('an optimizer\'s gradients zeroed outside the captured step accumulate over the runs between zeroings', async () => {
    const data = batches(8, 6, 11);
    // Gradient accumulation: zeroGrad and an update every second batch, the step itself not zeroing.
    const train = async (captured: boolean) => {
      const s = setup(true);
      s.optimizer.zeroGrad(); // pending (deferred) when the capture begins
      let step: wt.CapturedStep<wt.Tensor> | null = null;
      const losses: number[] = [];
      for (const [i, b] of data.entries()) {
        let loss: wt.Tensor;
        if (!captured) {
          wt.tidy(() => { s.x.assign(wt.tensor(b.x, [8, 6], { backend })); s.y.assign(wt.tensor(b.y, [8], { dtype: 'i32', backend })); });
          loss = wt.tidy(s.lossOf);
          loss.backward();
        } else if (!step) {
          wt.tidy(() => { s.x.assign(wt.tensor(b.x, [8, 6], { backend })); s.y.assign(wt.tensor(b.y, [8], { dtype: 'i32', backend })); });
          step = wt.captureStep(() => { const l = wt.tidy(s.lossOf); l.backward(); return l; }, { inputs: [s.x, s.y] });
          loss = step.result;
        } else loss = step.run(b.x, b.y);
        losses.push(await loss.item());
        if (!captured) loss.dispose();
        if (i % 2 === 1) { s.optimizer.step(); s.optimizer.zeroGrad(); }
      }
      const params = await Promise.all(s.model.parameters().map(async (p) => Array.from(await p.data())));
      step?.dispose();
      s.optimizer.dispose(); s.model.dispose(); s.x.dispose(); s.y.dispose();
      return { losses, params };
    };
    const eager = await train(false);
    const replayed = await train(true);
    expect(replayed.losses).toEqual(eager.losses);
    expect(replayed.params).toEqual(eager.params);
  });

  test('refuses what a replay cannot repeat, naming it; bad run() arguments are named too', async () => {
    const s = setup();
    if (backend === 'webgpu') {
      expect(() => wt.captureStep(() => wt.nn.functional.dropout(s.x, 0.5, { training: true }))).toThrow(/captureStep: 'dropout' draws new random numbers/);
      expect(() => wt.captureStep(() => wt.rand([3], { backend }))).toThrow(/captureStep: 'random' draws new random numbers/);
      expect(() => wt.captureStep(() => { s.optimizer.step(); })).toThrow(/Adam.step\(\) inside captureStep/);
      // A capture that fails after recording some ops unpins their buffers; the next capture works.
      const pinned = () => (getBackend('webgpu') as unknown as { pinned: Map<unknown, number> }).pinned.size;
      const before = pinned();
      expect(() => wt.captureStep(() => wt.tidy(() => wt.nn.functional.dropout(s.x.mul(2).add(1), 0.5, { training: true }))))
        .toThrow(/'dropout' draws new random numbers/);
      expect(pinned()).toBe(before);
    }
    const step = wt.captureStep(() => wt.tidy(s.lossOf), { inputs: [s.x, s.y] });
    expect(() => step.run(new Float32Array(48))).toThrow(/captureStep.run: expected 2 input value\(s\)/);
    const wrong = wt.zeros([4, 6], { backend });
    expect(() => step.run(wrong, new Int32Array(8))).toThrow(/captureStep.run: input 0 must be f32 \[8,6\], got f32 \[4,6\]/);
    wrong.dispose();
    step.run(new Float32Array(48).fill(0.25), new Int32Array(8).fill(1));
    const eager = wt.tidy(s.lossOf);
    expect(await step.result.item()).toBe(await eager.item());
    eager.dispose();
    step.dispose();
    s.optimizer.dispose(); s.model.dispose(); s.x.dispose(); s.y.dispose();
  });
});

// A convolution's im2col path allocates its patch matrices inside the kernel: a replay must bind the
// ones the capture recorded. Two layers, so the second's input gradient (col2im) reaches the first's
// weight gradient: the parameters after 4 steps check every pass.
test.runIf(backends.includes('webgpu'))('a captured two-layer conv2d step (im2col + matmul) replays the eager one exactly', async () => {
  const data = Array.from({ length: 4 }, (_, i) => wt.randn([2, 3, 6, 5], { seed: 70 + i, backend: 'webgpu' }));
  const setup = () => {
    const w1 = wt.randn([4, 3, 3, 3], { seed: 80, std: 0.3, requiresGrad: true, backend: 'webgpu' });
    const b1 = wt.zeros([4], { requiresGrad: true, backend: 'webgpu' });
    const w2 = wt.randn([2, 4, 3, 3], { seed: 81, std: 0.3, requiresGrad: true, backend: 'webgpu' });
    const params = [w1, b1, w2];
    const optimizer = new wt.optim.SGD(params, { lr: 0.05 });
    const x = wt.zeros([2, 3, 6, 5], { backend: 'webgpu' });
    const conv = wt.nn.functional.conv2d;
    const lossOf = () => conv(conv(x, w1, b1, { padding: 1, stride: [1, 2] }).tanh(), w2, null, { padding: 1 }).square().mean();
    return { params, optimizer, x, lossOf };
  };
  const eager = setup();
  const eagerLosses: number[] = [];
  for (const batch of data) {
    eager.x.assign(batch);
    eagerLosses.push(await eagerStep(eager.optimizer, eager.lossOf));
  }
  const cap = setup();
  cap.x.assign(data[0]);
  const step = captureTraining(cap.optimizer, cap.lossOf, [cap.x]);
  cap.optimizer.step();
  const capLosses = [await step.result.item()];
  for (const batch of data.slice(1)) {
    const loss = step.run(await batch.data());
    cap.optimizer.step();
    capLosses.push(await loss.item());
  }
  expect(capLosses).toEqual(eagerLosses);
  for (let i = 0; i < cap.params.length; i++) expect(Array.from(await cap.params[i].data())).toEqual(Array.from(await eager.params[i].data()));
  step.dispose();
  for (const s of [eager, cap]) { s.optimizer.dispose(); for (const t of [...s.params, s.x]) t.dispose(); }
  for (const t of data) t.dispose();
});
