/**
 * Optimizers: trajectories from fixed parameters and a fixed gradient sequence against the published
 * update rules (PyTorch's documented algorithms, transcribed below in plain float64 JS), the fused
 * WebGPU kernels against the unfused composition of ops, one dispatch per group, groups, state.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

type Hp = Record<string, unknown>;
type Rule = (w: number[], g: number[], state: Record<string, number[]>, hp: Hp, t: number) => void;

/** The published rules, element by element (torch.optim docs, "Algorithm" sections). */
const RULES: Record<string, Rule> = {
  SGD: (w, g, s, hp, t) => {
    const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = hp as Record<string, number & boolean>;
    w.forEach((wi, i) => {
      let d = g[i] + weightDecay * wi;
      if (momentum !== 0) {
        s.buf ??= [];
        s.buf[i] = t === 1 ? d : momentum * s.buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * s.buf[i] : s.buf[i];
      }
      w[i] = wi - lr * d;
    });
  },
  Adam: (w, g, s, hp, t) => adamRule(w, g, s, hp, t, false),
  AdamW: (w, g, s, hp, t) => adamRule(w, g, s, hp, t, true),
  Adagrad: (w, g, s, hp, t) => {
    const { lr, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10 } = hp as Record<string, number>;
    const clr = lr / (1 + (t - 1) * lrDecay);
    w.forEach((wi, i) => {
      const d = g[i] + weightDecay * wi;
      s.sum ??= w.map(() => initialAccumulatorValue);
      s.sum[i] += d * d;
      w[i] = wi - (clr * d) / (Math.sqrt(s.sum[i]) + eps);
    });
  },
  RMSprop: (w, g, s, hp) => {
    const { lr, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false } = hp as Record<string, number & boolean>;
    w.forEach((wi, i) => {
      const d = g[i] + weightDecay * wi;
      s.sq ??= w.map(() => 0);
      s.sq[i] = alpha * s.sq[i] + (1 - alpha) * d * d;
      let avg = s.sq[i];
      if (centered) {
        s.ga ??= w.map(() => 0);
        s.ga[i] = s.ga[i] + (1 - alpha) * (d - s.ga[i]);
        avg -= s.ga[i] ** 2;
      }
      const denom = Math.sqrt(avg) + eps;
      if (momentum > 0) {
        s.buf ??= w.map(() => 0);
        s.buf[i] = momentum * s.buf[i] + d / denom;
        w[i] = wi - lr * s.buf[i];
      } else w[i] = wi - (lr * d) / denom;
    });
  },
};

function adamRule(w: number[], g: number[], s: Record<string, number[]>, hp: Hp, t: number, decoupled: boolean): void {
  const { lr, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0, amsgrad = false } = hp as { lr: number; betas: number[]; eps: number; weightDecay: number; amsgrad: boolean };
  const [b1, b2] = betas;
  s.m ??= w.map(() => 0);
  s.v ??= w.map(() => 0);
  s.vmax ??= w.map(() => 0);
  w.forEach((w0, i) => {
    let wi = w0;
    let d = g[i];
    if (decoupled) wi *= 1 - lr * weightDecay;
    else d += weightDecay * wi;
    s.m[i] = s.m[i] + (1 - b1) * (d - s.m[i]);
    s.v[i] = b2 * s.v[i] + (1 - b2) * d * d;
    s.vmax[i] = Math.max(s.vmax[i], s.v[i]);
    const denom = Math.sqrt(amsgrad ? s.vmax[i] : s.v[i]) / Math.sqrt(1 - b2 ** t) + eps;
    w[i] = wi - ((lr / (1 - b1 ** t)) * s.m[i]) / denom;
  });
}

/** Every optimizer and option the tests run. */
const CASES: [string, Hp][] = [
  ['SGD', { lr: 0.1 }],
  ['SGD', { lr: 0.1, momentum: 0.9 }],
  ['SGD', { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }],
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }],
  ['Adam', { lr: 0.01 }],
  ['Adam', { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.1, amsgrad: true }],
  ['AdamW', { lr: 0.01 }],
  ['AdamW', { lr: 0.01, weightDecay: 0.2, amsgrad: true }],
  ['Adagrad', { lr: 0.1 }],
  ['Adagrad', { lr: 0.1, lrDecay: 0.05, weightDecay: 0.01, initialAccumulatorValue: 0.1 }],
  ['RMSprop', { lr: 0.01 }],
  ['RMSprop', { lr: 0.01, alpha: 0.9, momentum: 0.8, centered: true, weightDecay: 0.01 }],
  ['RMSprop', { lr: 0.01, centered: true }],
];

const make = (name: string, params: wt.Tensor[], hp: Hp) =>
  new (wt.optim as unknown as Record<string, new (p: wt.Tensor[], hp: Hp) => wt.optim.Optimizer<never>>)[name](params, hp);

/** Fixed starting values and gradients (two parameters: a [3, 2] weight and a [2] bias). */
const W0 = [0.5, -1.2, 0.3, 2.0, -0.7, 0.1];
const B0 = [0.25, -0.5];
const gradAt = (t: number, n: number) => Array.from({ length: n }, (_, i) => Math.sin(1.3 * t + 0.7 * i) * (1 + 0.5 * i) - 0.2);
const STEPS = 5;

async function run(name: string, hp: Hp, backend: wt.BackendName, dtype: wt.DType, fused = true) {
  const w = wt.tensor(W0, [3, 2], { backend, dtype, requiresGrad: true });
  const b = wt.tensor(B0, [2], { backend, dtype, requiresGrad: true });
  const opt = make(name, [w, b], hp);
  opt.fused = fused;
  for (let t = 1; t <= STEPS; t++) {
    w.grad = wt.tensor(gradAt(t, 6), [3, 2], { backend, dtype });
    b.grad = wt.tensor(gradAt(t + 10, 2), [2], { backend, dtype });
    opt.step();
  }
  const out = [...(await w.data()), ...(await b.data())];
  opt.dispose();
  return out;
}

function expected(name: string, hp: Hp): number[] {
  const w = [...W0];
  const b = [...B0];
  const sw: Record<string, number[]> = {};
  const sb: Record<string, number[]> = {};
  for (let t = 1; t <= STEPS; t++) {
    RULES[name](w, gradAt(t, 6), sw, hp, t);
    RULES[name](b, gradAt(t + 10, 2), sb, hp, t);
  }
  return [...w, ...b];
}

const near = (got: number[], want: number[], tol: number) => {
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))));
};

describe('trajectories against the published update rules', () => {
  test.each(CASES)('%s %j, CPU float64 (the unfused reference)', async (name, hp) => {
    near(await run(name, hp, 'cpu', 'f64'), expected(name, hp), 1e-12);
  });
  test.runIf(backends.includes('webgpu')).each(CASES)('%s %j, fused WebGPU kernel', async (name, hp) => {
    near(await run(name, hp, 'webgpu', 'f32'), expected(name, hp), 2e-5);
  });
  test.runIf(backends.includes('webgpu')).each(CASES)('%s %j, fused vs unfused on WebGPU', async (name, hp) => {
    near(await run(name, hp, 'webgpu', 'f32', true), await run(name, hp, 'webgpu', 'f32', false), 1e-6);
  });
});

describe.each(backends)('%s', (backend) => {
  test('after zeroGrad a backward overwrites the gradients (no fill), a second one adds, an unused parameter reads zero', async () => {
    const w = wt.randn([3, 4], { seed: 51, backend, requiresGrad: true });
    const unused = wt.randn([5], { seed: 52, backend, requiresGrad: true });
    const opt = new wt.optim.SGD([w, unused], { lr: 0.1 });
    const x = wt.randn([2, 4], { seed: 53, backend });
    const lossOf = () => x.matmul(w.transpose()).square().sum();
    // The gradient of one backward at w's current values, from a plain leaf.
    const gradOnce = async () => {
      const plain = wt.tensor(await w.data(), [3, 4], { backend, requiresGrad: true });
      x.matmul(plain.transpose()).square().sum().backward();
      const g = Array.from(await plain.grad!.data());
      plain.dispose();
      return g;
    };
    const dispatchesOf = (f: () => void) => { const d = wt.stats().dispatches; f(); return wt.stats().dispatches - d; };
    for (let round = 0; round < 2; round++) {
      const once = await gradOnce();
      const adding = dispatchesOf(() => lossOf().backward()); // onto stale gradients (or the arena's zeros): adds
      opt.zeroGrad();
      const copying = dispatchesOf(() => lossOf().backward()); // onto zeroed slots: copies, and no fill first
      expect(copying).toBe(adding);
      near(Array.from(await w.grad!.data()), once, 1e-5);
      expect(Array.from(await unused.grad!.data())).toEqual([0, 0, 0, 0, 0]);
      lossOf().backward(); // accumulates onto the first
      near(Array.from(await w.grad!.data()), once.map((v) => 2 * v), 1e-5);
      opt.step(); // reads every slot: the unused one is filled with zeros, not stale values
    }
    // With a captured step alive, zeroGrad fills at once: a replay repeats the adds it recorded.
    const once = await gradOnce();
    lossOf().backward(); // the slots hold values: the capture records adds
    const step = wt.captureStep(() => { lossOf().backward(); }, { inputs: [x] });
    const filled = wt.stats().dispatches;
    opt.zeroGrad();
    if (backend === 'webgpu') expect(wt.stats().dispatches - filled).toBe(1);
    try {
      step.run(x);
      near(Array.from(await w.grad!.data()), once, 1e-5);
    } finally {
      step.dispose();
    }
    opt.dispose();
    for (const t of [w, unused, x]) t.dispose();
  });

  test('one optimizer step over a 6-layer MLP is one dispatch per group; zeroGrad is deferred', async () => {
    const sizes = [4, 8, 8, 8, 8, 8, 3];
    const params = sizes.slice(1).flatMap((n, i) => [
      wt.randn([n, sizes[i]], { seed: i, backend, requiresGrad: true }),
      wt.zeros([n], { backend, requiresGrad: true }),
    ]);
    const weights = params.filter((p) => p.rank === 2);
    const biases = params.filter((p) => p.rank === 1);
    const opt = new wt.optim.Adam([{ params: weights, weightDecay: 0.01 }, { params: biases }], { lr: 1e-3 });
    const x = wt.randn([5, 4], { seed: 9, backend });
    const lossOf = () => weights.reduce((h, w, i) => h.matmul(w.transpose()).add(biases[i]).tanh(), x).square().mean();
    lossOf().backward();
    opt.step(); // the first step also creates the state buffers (lazily, as PyTorch does)
    lossOf().backward();
    const before = wt.stats();
    opt.step();
    if (backend === 'webgpu') {
      expect(wt.stats().dispatches - before.dispatches).toBe(2);
      expect(opt.lastStepDispatches).toBe(2);
      const z = wt.stats().dispatches;
      opt.zeroGrad();
      expect(wt.stats().dispatches - z).toBe(0); // the fill waits for a read (or never happens: see below)
    } else opt.zeroGrad();
    for (const p of params) expect(Array.from(await p.grad!.data()).every((v) => v === 0)).toBe(true);
    opt.dispose();
  });

  test('disposing the optimizer and the model frees all their memory', async () => {
    const x = wt.randn([5, 4], { seed: 2, backend });
    const y = wt.tensor([0, 1, 0, 1, 1], [5], { dtype: 'i32', backend });
    const train = () => {
      const model = wt.nn.mlp({ sizes: [4, 3, 2], activation: 'relu', seed: 1, backend });
      const opt = new wt.optim.Adam(model.parameters(), { lr: 1e-3 });
      opt.zeroGrad();
      const loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
      loss.backward();
      opt.step();
      loss.dispose();
      opt.dispose();
      model.dispose();
    };
    train(); // warms the scalar-constant cache
    const before = wt.memory();
    train();
    expect(wt.memory().numTensors).toBe(before.numTensors);
    expect(wt.memory().numBytes).toBe(before.numBytes);
  });

  test('parameter groups: weight decay on weights only', async () => {
    const w = wt.tensor([1, 2], undefined, { backend, requiresGrad: true });
    const b = wt.tensor([1, 2], undefined, { backend, requiresGrad: true });
    const opt = new wt.optim.SGD([{ params: [w], weightDecay: 0.5 }, { params: [b] }], { lr: 0.1 });
    w.grad = wt.zeros([2], { backend });
    b.grad = wt.zeros([2], { backend });
    opt.step();
    near(Array.from(await w.data()), [1 - 0.1 * 0.5, 2 - 0.1 * 1], 1e-6);
    near(Array.from(await b.data()), [1, 2], 0);
    opt.dispose();
  });

  test('backward accumulates into the arena; parameters keep working in the graph', async () => {
    const w = wt.tensor([[1, 2], [3, 4]], undefined, { backend, requiresGrad: true });
    const opt = new wt.optim.SGD([w], { lr: 0.5 });
    w.mul(w).sum().backward(); // 2w
    w.sum().backward();        // + 1
    near(Array.from(await w.grad!.data()), [3, 5, 7, 9], 1e-6);
    opt.step();
    near(Array.from(await w.data()), [-0.5, -0.5, -0.5, -0.5], 1e-6);
    opt.dispose();
  });

  // A backward hands the arena every parameter's gradient, and the arena writes them together
  // (packInto): on GPUs (tuning().packGradients) one dispatch per 6 parameters, the vec4-aligned
  // ones apart; copies into zeroed slots, adds otherwise.
  test.each([true, false])('one backward writes its arena gradients together: copies after zeroGrad, adds after (packGradients %s)', async (pack) => {
    if (!pack && backend === 'cpu') return; // one path on the CPU
    const gpuTuning = backend === 'webgpu' ? wt.tuning() : null;
    const saved = gpuTuning?.packGradients;
    if (gpuTuning) gpuTuning.packGradients = pack;
    try {
      const sizes = [3, 10, 1, 257, 4, 64, 7, 2]; // 8 parameters: 4 and 64 pack as vec4s, the 6 others in one scalar pack
      const make = () => sizes.map((n, k) => wt.tensor(Array.from({ length: n }, (_, i) => (i % 5) - k), [n], { backend, requiresGrad: true }));
      const coef = sizes.map((n, k) => Array.from({ length: n }, (_, i) => 0.5 * k + 0.25 * (i % 3) + 1));
      const lossOf = (ps: wt.Tensor[], only?: number[]) => wt.tidy(() => ps
        .map((p, k) => (only && !only.includes(k) ? null : p.mul(wt.tensor(coef[k], [sizes[k]], { backend })).sum()))
        .filter((t): t is wt.Tensor => t !== null)
        .reduce((a, b) => a.add(b)));
      const params = make();
      const opt = new wt.optim.SGD(params, { lr: 0.1 });
      const grads = () => Promise.all(params.map(async (p) => Array.from(await p.grad!.data())));
      opt.zeroGrad();
      let loss = lossOf(params);
      const before = wt.stats().dispatches;
      loss.backward();
      const withArena = wt.stats().dispatches - before;
      loss.dispose();
      expect(await grads()).toEqual(coef);
      loss = lossOf(params); // no zeroGrad: adds
      loss.backward();
      loss.dispose();
      expect(await grads()).toEqual(coef.map((c) => c.map((v) => 2 * v)));
      opt.zeroGrad();
      loss = lossOf(params, [0, 5, 7]); // the others stay zero
      loss.backward();
      loss.dispose();
      expect(await grads()).toEqual(coef.map((c, k) => ([0, 5, 7].includes(k) ? c : c.map(() => 0))));
      if (backend === 'webgpu') {
        // The same backward into plain leaves (no arena: each gradient kept as computed) dispatches
        // 2 fewer when packed (a vec4 pack and a scalar one), 8 fewer when not.
        const plain = make();
        const plainLoss = lossOf(plain);
        const start = wt.stats().dispatches;
        plainLoss.backward();
        expect(withArena - (wt.stats().dispatches - start)).toBe(pack ? 2 : 8);
        plainLoss.dispose();
        for (const p of plain) p.dispose();
      }
      opt.dispose();
      for (const p of params) p.dispose();
    } finally {
      if (gpuTuning) gpuTuning.packGradients = saved!;
    }
  });

  test('maxGradNorm clips by the global norm inside the update, like clip_grad_norm_', async () => {
    const w = wt.tensor([3, 0], undefined, { backend, requiresGrad: true });
    const b = wt.tensor([0], undefined, { backend, requiresGrad: true });
    const opt = new wt.optim.SGD([w, b], { lr: 1, maxGradNorm: 1 });
    w.grad = wt.tensor([3, 0], undefined, { backend });
    b.grad = wt.tensor([4], undefined, { backend }); // ‖g‖ = 5 → scaled by 1/5
    opt.step();
    near(Array.from(await w.data()), [3 - 0.6, 0], 1e-5);
    near(Array.from(await b.data()), [-0.8], 1e-5);
    opt.dispose();
  });

  test('stateDict / loadStateDict: 2N steps == N steps, save, load into fresh objects, N steps', async () => {
    const train = (opt: wt.optim.Optimizer<never>, w: wt.Tensor, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        w.grad = wt.tensor(gradAt(t, 4), [4], { backend });
        opt.step();
      }
    };
    const w1 = wt.tensor([1, -1, 0.5, 2], undefined, { backend, requiresGrad: true });
    const straight = new wt.optim.Adam([w1], { lr: 0.05, amsgrad: true }) as unknown as wt.optim.Optimizer<never>;
    train(straight, w1, 0, 6);
    const w2 = wt.tensor([1, -1, 0.5, 2], undefined, { backend, requiresGrad: true });
    const first = new wt.optim.Adam([w2], { lr: 0.05, amsgrad: true }) as unknown as wt.optim.Optimizer<never>;
    train(first, w2, 0, 3);
    const saved = first.stateDict();
    expect(Object.keys(saved.state[0]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
    const w3 = wt.tensor(Array.from(await w2.data()), [4], { backend, requiresGrad: true });
    const resumed = new wt.optim.Adam([w3], { lr: 0.05, amsgrad: true }) as unknown as wt.optim.Optimizer<never>;
    resumed.loadStateDict(saved);
    train(resumed, w3, 3, 6);
    expect(Array.from(await w3.data())).toEqual(Array.from(await w1.data()));
    for (const o of [straight, first, resumed]) o.dispose();
  });

  test('a schedule sets the rate of the t-th update', async () => {
    const w = wt.tensor([0], undefined, { backend, requiresGrad: true });
    const opt = new wt.optim.SGD([w], { lr: (t) => 1 / t });
    for (let t = 1; t <= 3; t++) {
      w.grad = wt.ones([1], { backend });
      opt.step();
    }
    near(Array.from(await w.data()), [-(1 + 1 / 2 + 1 / 3)], 1e-6);
    opt.dispose();
  });

  test('bad hyper-parameters and parameters are refused with clear errors', () => {
    const p = () => wt.zeros([2], { backend, requiresGrad: true });
    expect(() => new wt.optim.Adam([p()], { lr: 1e-3, beta1: 0.9 } as never)).toThrow(/Adam: unknown hyper-parameter 'beta1' in options \(known: lr, betas, eps, weightDecay, amsgrad/);
    expect(() => new wt.optim.SGD([{ params: [p()], momentun: 0.9 } as never])).toThrow(/SGD: unknown hyper-parameter 'momentun' in parameter group 0/);
    expect(() => new wt.optim.SGD([p()], { nesterov: true })).toThrow(/SGD: Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new wt.optim.Adam([p()], { betas: [0.9, 1.5] })).toThrow(/Adam: invalid betas \[0.9,1.5\]/);
    expect(() => new wt.optim.SGD([wt.zeros([2], { backend })])).toThrow(/SGD: parameters must be leaf tensors with requiresGrad/);
    const shared = p();
    const a = new wt.optim.SGD([shared]);
    expect(() => new wt.optim.SGD([shared])).toThrow(/already managed by another optimizer/);
    a.dispose();
  });
});

describe('schedules', () => {
  const { schedule } = wt.optim;
  test('the course decays, step, exponential, cosine, warmup', () => {
    expect(schedule.constant(0.3)(7)).toBe(0.3);
    expect(schedule.inverseDecay(0.1, 0.5)(2)).toBeCloseTo(0.1 / 2, 15);
    expect(schedule.powerDecay(1, 1)(4)).toBeCloseTo(0.25, 15);
    expect(schedule.powerDecay(1, 0.75)(16)).toBeCloseTo(1 / 8, 15);
    expect(() => schedule.powerDecay(1, 0.5)).toThrow(/powerDecay: δ must be in \(0.5, 1\], got 0.5/);
    expect([1, 2, 3, 4, 5].map(schedule.step(1, 2, 0.5))).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect(schedule.exponential(2, 0.5)(3)).toBe(0.5);
    expect(schedule.cosine(1, 10)(1)).toBeCloseTo(1, 15);
    expect(schedule.cosine(1, 10, 0.1)(6)).toBeCloseTo(0.55, 15);
    expect(schedule.cosine(1, 10)(11)).toBeCloseTo(0, 15);
    const w = schedule.warmup(3, schedule.inverseDecay(1, 1));
    expect([1, 2, 3, 4, 5].map(w)).toEqual([0.5, 0.5, 0.5, 0.5, 1 / 3]);
  });
});

describe.each(backends)('%s: SWA, Newton, clipping', (backend) => {
  test('SWA averages the snapshots taken from `start` every `every` steps', async () => {
    const w = wt.tensor([0, 0], undefined, { backend, requiresGrad: true });
    const swa = new wt.optim.SWA([w], { start: 2, every: 2 });
    const taken: number[][] = [];
    for (let step = 1; step <= 7; step++) {
      w.assign(wt.tensor([step, -2 * step], undefined, { backend }));
      if (swa.update(step)) taken.push([step, -2 * step]);
    }
    expect(taken.map((t) => t[0])).toEqual([2, 4, 6]);
    near(Array.from(await swa.averaged[0].data()), [4, -8], 1e-6);
    swa.apply();
    near(Array.from(await w.data()), [4, -8], 1e-6);
  });

  test('Newton solves a quadratic in one step, and a logistic regression in a few', async () => {
    // f(w) = ½ wᵀAw − bᵀw, minimum at A⁻¹b = [1, -1] for A = [[3, 1], [1, 2]], b = [2, -1].
    const A = wt.tensor([[3, 1], [1, 2]], undefined, { backend });
    const b = wt.tensor([2, -1], undefined, { backend });
    const w = wt.tensor([5, 5], undefined, { backend, requiresGrad: true });
    const quad = () => w.reshape([1, 2]).matmul(A).matmul(w.reshape([2, 1])).sum().mul(0.5).sub(w.mul(b).sum());
    await new wt.optim.Newton([w], { damping: 0 }).step(quad);
    near(Array.from(await w.data()), [1, -1], 1e-5);

    // Logistic regression on 4 separable-with-noise points: the gradient vanishes after a few steps.
    const x = wt.tensor([[1, 0.5], [-1, 0.2], [0.3, -1], [-0.4, 0.8]], undefined, { backend });
    const y = wt.tensor([1, 0, 1, 0], undefined, { backend });
    const v = wt.tensor([0, 0], undefined, { backend, requiresGrad: true });
    const nll = () => {
      const z = x.matmul(v.reshape([2, 1])).reshape([4]);
      return z.softplus().sub(z.mul(y)).mean().add(v.square().sum().mul(0.05));
    };
    const newton = new wt.optim.Newton([v]);
    for (let i = 0; i < 6; i++) await newton.step(nll);
    const [g] = wt.grad(() => nll())(v);
    expect(Math.max(...Array.from(await g.data(), Math.abs))).toBeLessThan(1e-5);
  });

  test('clipGradNorm rescales gradients to the norm and returns the norm before clipping', async () => {
    const a = wt.tensor([1, 1], undefined, { backend, requiresGrad: true });
    const b = wt.tensor([1], undefined, { backend, requiresGrad: true });
    a.grad = wt.tensor([6, 0], undefined, { backend });
    b.grad = wt.tensor([8], undefined, { backend });
    const norm = wt.optim.clipGradNorm([a, b], 2);
    expect(await norm.item()).toBeCloseTo(10, 5);
    near(Array.from(await a.grad!.data()), [1.2, 0], 1e-5);
    near(Array.from(await b.grad!.data()), [1.6], 1e-5);
  });
});

describe.each(backends)('%s: SWA.updateBatchNorm', (backend) => {
  test('recomputes running statistics as the plain average over the batches (update_bn)', async () => {
    const model = new wt.nn.Sequential(new wt.nn.BatchNorm1d(2, { backend }));
    const bn = model.at(0) as wt.nn.BatchNorm1d;
    const batches = [[[1, 10], [3, 14]], [[5, 2], [7, 6]], [[0, 0], [2, 4]]].map((b) => wt.tensor(b, undefined, { backend }));
    model.forward(batches[0]); // stale statistics from other weights
    wt.optim.SWA.updateBatchNorm(model.eval(), batches);
    // Per batch means: [2, 12], [6, 4], [1, 2] → average [3, 6]; unbiased variances: [2, 8], [2, 8], [2, 8].
    near(Array.from(await bn.runningMean!.data()), [3, 6], 1e-5);
    near(Array.from(await bn.runningVar!.data()), [2, 8], 1e-5);
    expect(bn.momentum).toBe(0.1);
    expect(model.training).toBe(false);
  });
});
