/**
 * nn: modules (parameter order, PyTorch state dict keys, loadStateDict errors), Linear against the
 * composition of plain ops it fuses, Sequential's activation fusion, initializer statistics and
 * seeding, dropout masks (rate, scale, eval, CPU == GPU, backward), mlp, and input errors.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { BackendName } from '../src/backend/backend';
import type { Tensor } from '../src/tensor';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

const { nn } = wt;
const values = async (t: Tensor) => Array.from(await t.data());

function expectClose(got: number[], want: number[], atol = 1e-5, rtol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > atol + rtol * Math.abs(want[i])) {
      expect.fail(`element ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
}

function stats(v: number[]) {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

describe.each(backends)('%s', (backend: BackendName) => {
  const on = { backend };
  const tensor = (data: number[], shape: number[], requiresGrad = false) => wt.tensor(data, shape, { backend, requiresGrad });
  const randn = (shape: number[], seed: number) => wt.randn(shape, { seed, backend });
  const tiny = (opts: { seed?: number } = {}) =>
    new nn.Sequential(new nn.Linear(3, 4, { ...on, seed: opts.seed ?? 1 }), new nn.ReLU(), new nn.Linear(4, 2, { ...on, seed: (opts.seed ?? 1) + 1 }));

  describe('Module', () => {
    test('parameters and namedParameters of Sequential(Linear, ReLU, Linear): order and PyTorch keys', () => {
      const m = tiny();
      const named = m.namedParameters();
      expect(named.map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
      expect(named.map(([, p]) => p.shape)).toEqual([[4, 3], [4], [2, 4], [2]]);
      const l0 = m.at(0) as InstanceType<typeof nn.Linear>;
      const l2 = m.at(2) as InstanceType<typeof nn.Linear>;
      expect(m.parameters()).toEqual([l0.weight, l0.bias, l2.weight, l2.bias]);
      expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
      expect([...m.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
      expect(m.namedChildren().map(([k]) => k)).toEqual(['0', '1', '2']);
      m.dispose();
    });

    test('stateDict round trip through loadStateDict', async () => {
      const a = tiny({ seed: 10 });
      const b = tiny({ seed: 20 });
      const x = randn([5, 3], 3);
      expect(await values(a.forward(x))).not.toEqual(await values(b.forward(x)));
      const bWeight = b.parameters()[0];
      b.loadStateDict(a.stateDict());
      expect(b.parameters()[0]).toBe(bWeight); // copied in place: the same tensors
      expect(await values(b.forward(x))).toEqual(await values(a.forward(x)));
      // A plain object works too.
      b.loadStateDict(Object.fromEntries(tiny({ seed: 30 }).stateDict()));
      expect(await values(b.forward(x))).not.toEqual(await values(a.forward(x)));
    });

    test('loadStateDict lists missing, unexpected and mis-shaped keys together', () => {
      const m = tiny();
      const dict = new Map(m.stateDict());
      dict.delete('2.bias');
      dict.set('3.weight', wt.zeros([2, 2], on));
      dict.set('0.weight', wt.zeros([3, 4], on));
      let message = '';
      try {
        m.loadStateDict(dict);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/missing keys: 2\.bias/);
      expect(message).toMatch(/unexpected keys: 3\.weight/);
      expect(message).toMatch(/'0\.weight' is \[3, 4\] f32, expected \[4, 3\] f32/);
      // Non-strict: missing and unexpected keys are fine, shapes still must match.
      dict.set('0.weight', wt.zeros([4, 3], on));
      m.loadStateDict(dict, { strict: false });
    });

    test('train() and eval() reach every child', () => {
      const m = new nn.Sequential(new nn.Linear(2, 2, on), new nn.Dropout(0.5));
      m.eval();
      expect(m.modules().every((c) => !c.training)).toBe(true);
      m.train();
      expect(m.modules().every((c) => c.training)).toBe(true);
    });
  });

  describe('Linear', () => {
    test('weight [out, in], bias [out] zero, Glorot-uniform weights by default', async () => {
      const l = new nn.Linear(30, 20, { ...on, seed: 4 });
      expect(l.weight.shape).toEqual([20, 30]);
      expect(l.bias!.shape).toEqual([20]);
      expect(await values(l.bias!)).toEqual(new Array(20).fill(0));
      const b = Math.sqrt(6 / 50);
      const w = await values(l.weight);
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(b);
      expect(w).toEqual(await values(nn.init.glorotUniform([20, 30], { ...on, seed: 4 })));
      expect(new nn.Linear(3, 2, { ...on, bias: false }).bias).toBeNull();
      expect(String(l)).toBe('Linear(in_features=30, out_features=20, bias=true)');
    });

    test.each(['none', 'relu', 'tanh', 'sigmoid'] as const)('forward and gradients equal x·Wᵀ + b from plain ops (%s)', async (activation) => {
      for (const [shape, bias] of [[[5, 3], true], [[2, 3, 3], false], [[3], true]] as const) {
        const l = new nn.Linear(3, 4, { ...on, seed: 7, activation, bias });
        const x = wt.randn([...shape], { seed: 8, backend, requiresGrad: true });
        const gy = randn([...shape.slice(0, -1), 4], 9);
        const y = l.forward(x);
        y.backward(gy);
        const fused = [await values(y), await values(x.grad!), await values(l.weight.grad!), ...(bias ? [await values(l.bias!.grad!)] : [])];
        for (const p of [x, ...l.parameters()]) p.grad = null;
        const z0 = x.matmul(l.weight.transpose());
        const z = bias ? z0.add(l.bias!) : z0;
        const ref = { none: z, relu: z.relu(), tanh: z.tanh(), sigmoid: z.sigmoid() }[activation];
        ref.backward(gy);
        const plain = [await values(ref), await values(x.grad!), await values(l.weight.grad!), ...(bias ? [await values(l.bias!.grad!)] : [])];
        expect(y.shape).toEqual(ref.shape);
        fused.forEach((v, i) => expectClose(v, plain[i]));
      }
    });

    test('second order: a Hessian-vector product through the fused kernel equals the composition\'s', async () => {
      const x = randn([4, 3], 1);
      const b = randn([2], 2);
      const w = randn([2, 3], 3);
      const v = randn([2, 3], 4);
      for (const activation of ['tanh', 'sigmoid'] as const) {
        const fused = (w2: Tensor) => nn.linear(x, w2, b, { activation }).square().sum();
        const plain = (w2: Tensor) => {
          const z = x.matmul(w2.transpose()).add(b);
          return (activation === 'tanh' ? z.tanh() : z.sigmoid()).square().sum();
        };
        const [hf] = wt.hvp(fused, [w], [v]);
        const [hp] = wt.hvp(plain, [w], [v]);
        expectClose(await values(hf), await values(hp), 1e-5, 1e-4);
      }
    });

    test('wrong input width names the layer, in_features and the shape received, with a batch hint', () => {
      const l = new nn.Linear(33, 18, on);
      expect(() => l.forward(wt.zeros([4, 32], on))).toThrow(/Linear\(33, 18\).*in_features = 33.*\[4, 32\].*batch/);
      expect(() => l.forward(wt.zeros([33, 4], on))).toThrow(/transpose/);
      expect(() => nn.linear(wt.zeros([2, 5], on), l.weight)).toThrow(/^linear: .*in_features = 33.*\[2, 5\]/);
      expect(() => nn.linear(wt.zeros([2, 33], on), l.weight, wt.zeros([17], on))).toThrow(/linear: bias must be \[out_features\] = \[18\]/);
    });

    test('bad options and sizes throw', () => {
      expect(() => new nn.Linear(2, 3, { bais: false } as never)).toThrow(/Linear: unknown option 'bais'/);
      expect(() => new nn.Linear(0, 3)).toThrow(/inFeatures must be a positive integer/);
      expect(() => new nn.Linear(2, 3, { activation: 'gelu' as never })).toThrow(/activation/);
      expect(() => new nn.Linear(2, 3, { init: 'glorot' as never })).toThrow(/unknown initializer 'glorot'/);
    });

    test('zero initialization is allowed (the symmetric failure case)', async () => {
      const l = new nn.Linear(3, 2, { ...on, init: 'zeros' });
      expect(await values(l.weight)).toEqual([0, 0, 0, 0, 0, 0]);
    });
  });

  describe('Sequential', () => {
    test('Linear + ReLU/Tanh/Sigmoid fusion gives the unfused values and gradients', async () => {
      for (const Act of [nn.ReLU, nn.Tanh, nn.Sigmoid]) {
        const m = new nn.Sequential(new nn.Linear(4, 6, { ...on, seed: 1 }), new Act(), new nn.Linear(6, 3, { ...on, seed: 2 }), new Act());
        const x = randn([5, 4], 3);
        const run = async (fuse: boolean) => {
          m.fuseActivations = fuse;
          const y = m.forward(x);
          y.sum().backward();
          const out = [await values(y), ...(await Promise.all(m.parameters().map((p) => values(p.grad!))))];
          for (const p of m.parameters()) p.grad = null;
          return out;
        };
        const fused = await run(true);
        const plain = await run(false);
        // Bit for bit on the CPU; on a GPU the compiler may contract the two kernels' arithmetic differently.
        if (backend === 'cpu') expect(fused).toEqual(plain);
        else fused.forEach((v, i) => expectClose(v, plain[i], 1e-6, 1e-6));
      }
    });

    test('a subclass of ReLU is not fused', async () => {
      class Shifted extends nn.ReLU {
        forward(x: Tensor) { return x.relu().add(1); }
      }
      const m = new nn.Sequential(new nn.Linear(2, 2, { ...on, seed: 1 }), new Shifted());
      const y = await values(m.forward(tensor([1, -1], [1, 2])));
      expect(Math.min(...y)).toBeGreaterThanOrEqual(1);
    });

    test('Flatten, Identity, LeakyReLU, GELU', async () => {
      const x = randn([2, 3, 4], 5);
      expect(new nn.Flatten().forward(x).shape).toEqual([2, 12]);
      expect(new nn.Flatten(0).forward(x).shape).toEqual([24]);
      expect(new nn.Flatten(0, 1).forward(x).shape).toEqual([6, 4]);
      expect(new nn.Identity().forward(x)).toBe(x);
      expectClose(await values(new nn.LeakyReLU(0.2).forward(x)), await values(x.leakyRelu(0.2)));
      expectClose(await values(new nn.LeakyReLU().forward(x)), await values(x.leakyRelu(0.01)));
      expectClose(await values(new nn.GELU().forward(x)), await values(x.gelu()));
    });
  });

  describe('init', () => {
    const N = [200, 300]; // fan_in 300, fan_out 200: 60000 draws
    const cases = [
      ['glorotUniform', () => nn.init.glorotUniform(N, { ...on, seed: 1 }), 0, Math.sqrt(6 / 500) / Math.sqrt(3), Math.sqrt(6 / 500)],
      ['glorotNormal', () => nn.init.glorotNormal(N, { ...on, seed: 2 }), 0, Math.sqrt(2 / 500), Infinity],
      ['heUniform', () => nn.init.heUniform(N, { ...on, seed: 3 }), 0, Math.sqrt(6 / 300) / Math.sqrt(3), Math.sqrt(6 / 300)],
      ['heNormal', () => nn.init.heNormal(N, { ...on, seed: 4 }), 0, Math.sqrt(2 / 300), Infinity],
      ['heNormal fanOut', () => nn.init.heNormal(N, { ...on, seed: 4, mode: 'fanOut' }), 0, Math.sqrt(2 / 200), Infinity],
      ['uniform(-1, 3)', () => nn.init.uniform(N, -1, 3, { ...on, seed: 5 }), 1, 4 / Math.sqrt(12), 3],
      ['normal(2, 0.5)', () => nn.init.normal(N, 2, 0.5, { ...on, seed: 6 }), 2, 0.5, Infinity],
    ] as const;

    test.each(cases)('%s: mean, std and bounds', async (_, make, mean, std, bound) => {
      const s = stats(await values(make()));
      expect(Math.abs(s.mean - mean)).toBeLessThan(0.02 * std + 1e-9);
      expect(Math.abs(s.std / std - 1)).toBeLessThan(0.02);
      if (bound !== Infinity) {
        expect(s.max).toBeLessThanOrEqual(bound);
        expect(s.min).toBeGreaterThanOrEqual(mean - (bound - mean));
      }
    });

    test('fans as PyTorch: Linear [out, in] and conv [out, in, kh, kw]', async () => {
      expect(nn.init.fans([20, 30])).toEqual({ fanIn: 30, fanOut: 20 });
      expect(nn.init.fans([8, 4, 3, 3])).toEqual({ fanIn: 36, fanOut: 72 });
      expect(() => nn.init.fans([5])).toThrow(/rank >= 2/);
      const w = await values(nn.init.heUniform([8, 4, 3, 3], { ...on, seed: 1 }));
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 36));
      expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * Math.sqrt(6 / 36));
    });

    test('zeros, ones, constant; gain', async () => {
      expect(await values(nn.init.zeros([2, 2], on))).toEqual([0, 0, 0, 0]);
      expect(await values(nn.init.ones([3], on))).toEqual([1, 1, 1]);
      expect(await values(nn.init.constant([2], 0.25, on))).toEqual([0.25, 0.25]);
      const a = await values(nn.init.glorotUniform([10, 10], { ...on, seed: 3 }));
      const b = await values(nn.init.glorotUniform([10, 10], { ...on, seed: 3, gain: 2 }));
      expectClose(b, a.map((v) => 2 * v));
    });

    test('seeded draws repeat; unseeded ones advance the global generator and replay after wt.seed', async () => {
      const a = await values(nn.init.heNormal([4, 5], { ...on, seed: 9 }));
      expect(await values(nn.init.heNormal([4, 5], { ...on, seed: 9 }))).toEqual(a);
      expect(await values(nn.init.heNormal([4, 5], { ...on, seed: 10 }))).not.toEqual(a);
      wt.seed(123);
      const u1 = await values(nn.init.glorotUniform([4, 5], on));
      const u2 = await values(nn.init.glorotUniform([4, 5], on));
      expect(u1).not.toEqual(u2);
      wt.seed(123);
      expect(await values(nn.init.glorotUniform([4, 5], on))).toEqual(u1);
    });

    test('initialize overwrites in place', async () => {
      const l = new nn.Linear(4, 3, on);
      const w = l.weight;
      nn.init.initialize(l.weight, 'constant', { value: 0.5 });
      expect(l.weight).toBe(w);
      expect(await values(w)).toEqual(new Array(12).fill(0.5));
      nn.init.initialize(w, 'heNormal', { seed: 2 });
      expect(await values(w)).toEqual(await values(nn.init.heNormal([3, 4], { ...on, seed: 2 })));
      expect(() => nn.init.initialize(w, 'uniform', { value: 1 })).toThrow(/takes no option 'value'/);
      expect(() => nn.init.glorotUniform([2, 2], { sed: 1 } as never)).toThrow(/unknown option 'sed'/);
    });
  });

  describe('Dropout', () => {
    test('drops about p of the elements and scales the rest by 1/(1 - p)', async () => {
      const x = wt.ones([100, 100], on);
      for (const p of [0.1, 0.5, 0.8]) {
        const y = await values(nn.dropout(x, p, { seed: 11 }));
        const zeros = y.filter((v) => v === 0).length / y.length;
        expect(Math.abs(zeros - p)).toBeLessThan(0.02); // 4 standard errors at most
        expect(new Set(y.filter((v) => v !== 0))).toEqual(new Set([Math.fround(1 / (1 - p))]));
      }
      expect(await values(nn.dropout(x, 1, { seed: 1 }))).toEqual(new Array(10000).fill(0));
      expect(nn.dropout(x, 0)).toBe(x);
    });

    test('eval mode and training: false are the identity', () => {
      const x = randn([3, 4], 1);
      const d = new nn.Dropout(0.5);
      d.eval();
      expect(d.forward(x)).toBe(x);
      expect(nn.dropout(x, 0.5, { training: false })).toBe(x);
    });

    test('the gradient uses the same mask', async () => {
      const x = wt.randn([6, 7], { seed: 2, backend, requiresGrad: true });
      const y = nn.dropout(x, 0.4, { seed: 5 });
      y.sum().backward();
      const g = await values(x.grad!);
      const yv = await values(y);
      const xv = await values(x);
      g.forEach((gi, i) => expect(gi).toBeCloseTo(yv[i] === 0 ? 0 : yv[i] / xv[i], 5));
      expect(g.filter((v) => v === 0).length).toBe(yv.filter((v) => v === 0).length);
    });

    test('unseeded calls draw fresh masks from the global generator; wt.seed replays them', async () => {
      const x = wt.ones([64], on);
      wt.seed(7);
      const a = await values(nn.dropout(x, 0.5));
      const b = await values(nn.dropout(x, 0.5));
      expect(a).not.toEqual(b);
      wt.seed(7);
      expect(await values(nn.dropout(x, 0.5))).toEqual(a);
      // A module with its own seed: fresh masks per call, the same sequence for a new module.
      const d1 = new nn.Dropout(0.5, { seed: 3 });
      const d2 = new nn.Dropout(0.5, { seed: 3 });
      const m1 = await values(d1.forward(x));
      expect(await values(d1.forward(x))).not.toEqual(m1);
      expect(await values(d2.forward(x))).toEqual(m1);
    });

    test('bad p throws', () => {
      expect(() => new nn.Dropout(1.5)).toThrow(/\[0, 1\], got 1.5/);
      expect(() => nn.dropout(wt.ones([2], on), -0.1)).toThrow(/dropout: p/);
      expect(() => nn.dropout(wt.ones([2], on), 0.5, { seeds: 1 } as never)).toThrow(/unknown option 'seeds'/);
    });
  });

  describe('mlp', () => {
    test('layers, PyTorch indices and output shape', () => {
      const m = nn.mlp({ sizes: [6, 5, 4, 3], ...on, seed: 1 });
      expect(m.namedChildren().map(([k, c]) => `${k}:${c.constructor.name}`)).toEqual(['0:Linear', '1:ReLU', '2:Linear', '3:ReLU', '4:Linear']);
      expect([...m.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
      expect(m.forward(randn([7, 6], 2)).shape).toEqual([7, 3]);
      const d = nn.mlp({ sizes: [6, 5, 4, 3], activation: 'tanh', dropout: 0.2, outputActivation: 'sigmoid', ...on });
      expect(d.namedChildren().map(([, c]) => c.constructor.name))
        .toEqual(['Linear', 'Tanh', 'Dropout', 'Linear', 'Tanh', 'Dropout', 'Linear', 'Sigmoid']);
      expect([...d.stateDict().keys()].filter((k) => k.endsWith('weight'))).toEqual(['0.weight', '3.weight', '6.weight']);
      // A norm factory goes between each hidden Linear and its activation.
      const widths: number[] = [];
      const n = nn.mlp({ sizes: [6, 5, 3], norm: (w) => (widths.push(w), new nn.Identity()), ...on });
      expect(n.namedChildren().map(([, c]) => c.constructor.name)).toEqual(['Linear', 'Identity', 'ReLU', 'Linear']);
      expect(widths).toEqual([5]);
    });

    test('norm: BatchNorm1d or LayerNorm between each hidden Linear and its activation', async () => {
      const b = nn.mlp({ sizes: [6, 5, 3], norm: 'batch', dropout: 0.1, ...on, seed: 1 });
      expect(b.namedChildren().map(([, c]) => c.constructor.name)).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']);
      expect([...b.stateDict().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
        '1.num_batches_tracked', '4.weight', '4.bias']);
      const x = randn([7, 6], 2);
      expect(b.forward(x).shape).toEqual([7, 3]);
      b.eval();
      expect(b.forward(x).shape).toEqual([7, 3]);
      const l = nn.mlp({ sizes: [6, 5, 4, 3], norm: 'layer', activation: 'tanh', ...on, seed: 1 });
      expect(l.namedChildren().map(([, c]) => c.constructor.name))
        .toEqual(['Linear', 'LayerNorm', 'Tanh', 'Linear', 'LayerNorm', 'Tanh', 'Linear']);
      expect(l.forward(x).shape).toEqual([7, 3]);
      expect(() => nn.mlp({ sizes: [6, 3], norm: 'group' as never })).toThrow(/unknown norm 'group'/);
    });

    test('seeded mlps are equal; outputActivation applies', async () => {
      const a = nn.mlp({ sizes: [4, 8, 2], seed: 5, ...on });
      const b = nn.mlp({ sizes: [4, 8, 2], seed: 5, ...on });
      for (const [k, t] of a.stateDict()) expect(await values(t)).toEqual(await values(b.stateDict().get(k)!));
      const s = nn.mlp({ sizes: [4, 8, 2], outputActivation: 'sigmoid', ...on });
      const y = await values(s.forward(randn([3, 4], 1)));
      expect(y.every((v) => v > 0 && v < 1)).toBe(true);
    });

    test('bad options throw', () => {
      expect(() => nn.mlp({ sizes: [4] })).toThrow(/at least the input and output/);
      expect(() => nn.mlp({ sizes: [4, 0, 2] })).toThrow(/sizes\[1\] must be a positive integer/);
      expect(() => nn.mlp({ sizes: [4, 2], activaton: 'tanh' } as never)).toThrow(/unknown option 'activaton'/);
      expect(() => nn.mlp({ sizes: [4, 3, 2], activation: 'swish' as never })).toThrow(/unknown activation 'swish'/);
    });
  });
});

describe.runIf(backends.includes('webgpu'))('CPU and WebGPU agree', () => {
  test('initializers draw the same numbers for a seed', async () => {
    for (const make of [
      (backend: BackendName) => nn.init.glorotUniform([30, 40], { seed: 3, backend }),
      (backend: BackendName) => nn.init.heNormal([30, 40], { seed: 4, backend }),
    ]) {
      expectClose(await values(make('webgpu')), await values(make('cpu')), 1e-5, 1e-5);
    }
  });

  test('dropout masks are the same for a seed and offset', async () => {
    for (const [p, seed, offset] of [[0.3, 1, 0], [0.5, 2 ** 40 + 1, 2 ** 35], [0.77, 9, 123]]) {
      const cpu = await values(nn.dropout(wt.ones([1000], { backend: 'cpu' }), p, { seed, offset }));
      const gpu = await values(nn.dropout(wt.ones([1000], { backend: 'webgpu' }), p, { seed, offset }));
      expect(gpu).toEqual(cpu);
    }
  });

  test('mlp with the same seed gives the same model and outputs', async () => {
    const cpu = nn.mlp({ sizes: [5, 7, 3], seed: 2, backend: 'cpu', activation: 'tanh' });
    const gpu = nn.mlp({ sizes: [5, 7, 3], seed: 2, backend: 'webgpu', activation: 'tanh' });
    const x = [...Array(10).keys()].map((i) => Math.sin(i));
    expectClose(await values(gpu.forward(wt.tensor(x, [2, 5], { backend: 'webgpu' }))),
      await values(cpu.forward(wt.tensor(x, [2, 5], { backend: 'cpu' }))), 1e-5, 1e-5);
  });

  test('a Linear, with its fused activation, is one dispatch', () => {
    const on = { backend: 'webgpu' as const };
    const m = new nn.Sequential(new nn.Linear(4, 3, on), new nn.ReLU(), new nn.Linear(3, 2, on), new nn.Tanh());
    const x = wt.randn([2, 4], { ...on, seed: 1 });
    const dispatches = () => {
      const before = wt.stats().dispatches;
      wt.noGrad(() => m.forward(x));
      return wt.stats().dispatches - before;
    };
    expect(dispatches()).toBe(2);
    m.fuseActivations = false;
    expect(dispatches()).toBe(4);
  });
});
