/** Autograd (tape, createGraph, grad of grad, hvp, gradcheck), memory, batching of GPU work, and errors. */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { getBackend } from '../src/runtime';
import { SUBMIT_EVERY, type WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

/**
 * Collects garbage and lets finalizers run: other tests leave undisposed tensors whose safety-net
 * release would otherwise land in the middle of a memory measurement.
 */
async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('tests run with --expose-gc (vite.config.ts)');
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-4) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])));
};

describe.each(backends)('%s', (backend) => {
  const T = (data: number[] | number[][], opts: wt.CreateOptions = {}) => wt.tensor(data, undefined, { backend, ...opts });

  test('backward accumulates into leaves across calls and paths', async () => {
    const x = T([1, 2, 3], { requiresGrad: true });
    // y = Σ x² + Σ 3x  →  dy/dx = 2x + 3
    x.square().sum().add(x.mul(3).sum()).backward();
    close(await x.grad!.data(), [5, 7, 9]);
    x.mul(x).sum().backward(); // accumulates: + 2x
    close(await x.grad!.data(), [7, 11, 15]);
    x.grad = null;
    expect(x.grad).toBeNull();
  });

  test('grad of grad: d²/dx² of x³ is 6x, through nested wt.grad', async () => {
    const f = (x: wt.Tensor) => x.pow(3).sum();
    const d2 = wt.grad((x: wt.Tensor) => wt.grad(f)(x)[0].sum());
    const [g] = d2(T([1, -2, 0.5]));
    close(await g.data(), [6, -12, 3]);
  });

  test('backward with createGraph gives differentiable gradients', async () => {
    const x = T([0.3, -0.7], { requiresGrad: true });
    const y = x.tanh().sum();
    y.backward(undefined, { createGraph: true });
    const g = x.grad!; // 1 - tanh²(x)
    expect(g.requiresGrad).toBe(true);
    const [h] = wt.gradients(g.sum(), [x], undefined, {}); // -2 tanh(x)(1 - tanh²(x))
    const want = [0.3, -0.7].map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    close(await h.data(), want);
  });

  test('hvp matches the analytic Hessian of a quadratic plus a softmax term', async () => {
    // f(w) = ½ wᵀAw  →  H v = A_sym v (A_sym = (A + Aᵀ)/2)
    const A = [[2, 1, 0], [0, 3, 1], [1, 0, 4]];
    const a = T(A);
    const f = (w: wt.Tensor) => w.reshape([1, 3]).matmul(a).matmul(w.reshape([3, 1])).sum().mul(0.5);
    const [hv] = wt.hvp(f, [T([0.1, 0.2, 0.3])], [T([1, -1, 2])]);
    const v = [1, -1, 2];
    const want = [0, 1, 2].map((i) => v.reduce((s, vj, j) => s + 0.5 * (A[i][j] + A[j][i]) * vj, 0));
    close(await hv.data(), want);
  });

  test('hvp of logSumExp against finite differences of its gradient', async () => {
    const f = (w: wt.Tensor) => w.logSoftmax(0).neg().slice([0], [1]).sum();
    const w0 = [0.2, -0.4, 1.1];
    const v = [0.5, 1, -1];
    const [hv] = wt.hvp(f, [T(w0)], [T(v)]);
    const eps = 1e-2;
    const gradAt = async (w: number[]) => wt.grad(f)(T(w))[0].data();
    const gp = await gradAt(w0.map((x, i) => x + eps * v[i]));
    const gm = await gradAt(w0.map((x, i) => x - eps * v[i]));
    close(await hv.data(), Array.from(gp, (p, i) => (p - gm[i]) / (2 * eps)), 2e-3);
  });

  test('gradcheck passes on a small MLP loss and flags a wrong vjp-free function', async () => {
    const f = (x: wt.Tensor, w: wt.Tensor) => x.matmul(w).tanh().logSoftmax(-1).sum();
    const res = await wt.gradcheck(f, [wt.randn([2, 3], { seed: 1, backend }), wt.randn([3, 4], { seed: 2, backend })]);
    expect(res.ok).toBe(true);
    expect(res.maxAbsError).toBeLessThan(1e-6);
  });

  test('backward skips the gradients of inputs that need none (a whole matmul for a first layer)', async () => {
    const x = T([[1, 2], [3, 4], [5, 6]]);
    const w = T([[0.5, -1], [2, 0.25]], { requiresGrad: true });
    const dispatches = () => wt.stats().dispatches;
    let before = dispatches();
    x.matmul(w).sum().backward();
    const withoutX = dispatches() - before;
    close(await w.grad!.data(), [9, 9, 12, 12]); // xᵀ · ones
    const x2 = T([[1, 2], [3, 4], [5, 6]], { requiresGrad: true });
    w.grad = null;
    before = dispatches();
    x2.matmul(w).sum().backward();
    if (backend === 'webgpu') expect(dispatches() - before).toBe(withoutX + 1);
    close(await x2.grad!.data(), [-0.5, 2.25, -0.5, 2.25, -0.5, 2.25]); // ones · wᵀ
  });

  test('a chain of 50 ops followed by one read back submits every SUBMIT_EVERY dispatches and at the read, never per op', async () => {
    if (backend !== 'webgpu') return;
    const gpu = getBackend('webgpu') as WebGPUBackend;
    let x = T([1, 2, 3, 4]);
    await x.data(); // upload and anything pending are flushed
    const before = { ...gpu.stats };
    for (let i = 0; i < 50; i++) {
      const next = i % 2 ? x.add(1) : x.mul(0.5);
      x.dispose();
      x = next;
    }
    await x.data();
    const dispatched = gpu.stats.dispatches - before.dispatches;
    expect(dispatched).toBeGreaterThanOrEqual(50);
    expect(gpu.stats.submits - before.submits).toBe(Math.floor(dispatched / SUBMIT_EVERY) + 1);
  });

  test('1000 forward + backward iterations do not grow memory', async () => {
    const w = wt.randn([8, 4], { seed: 3, backend, requiresGrad: true });
    const x = wt.randn([16, 8], { seed: 4, backend });
    const labels = wt.tensor(Array.from({ length: 16 }, (_, i) => i % 4), [16, 1], { dtype: 'i32', backend });
    const step = () => {
      const loss = wt.tidy(() => x.matmul(w).relu().logSoftmax(-1).gather(1, labels).mean().neg());
      loss.backward();
      const updated = wt.noGrad(() => wt.tidy(() => w.sub(w.grad!.mul(0.01))));
      w.assign(updated);
      updated.dispose();
      w.grad = null;
      loss.dispose();
    };
    for (let i = 0; i < 50; i++) step();
    await w.data();
    await settle();
    const base = wt.memory();
    for (let i = 0; i < 1000; i++) step();
    await w.data();
    await settle();
    const after = wt.memory();
    expect(after.numTensors).toBe(base.numTensors);
    expect(after.numBytes).toBe(base.numBytes);
    expect(after.pooledBytes).toBeLessThanOrEqual(base.pooledBytes);
  });

  test('a tensor dropped without dispose() is freed once garbage collected (the safety net)', async () => {
    await T([0]).exp().data(); // warm up: pipelines, pools
    await settle();
    const before = wt.memory();
    (() => { for (let i = 0; i < 10; i++) T([1, 2, 3]).exp(); })();
    expect(wt.memory().numTensors).toBe(before.numTensors + 20);
    await settle();
    expect(wt.memory().numTensors).toBe(before.numTensors);
    expect(wt.memory().numBytes).toBe(before.numBytes);
  });

  test('tidy disposes intermediates (sync and async) and keeps results', async () => {
    await settle();
    const start = wt.memory().numTensors;
    const x = T([1, 2]);
    const y = wt.tidy(() => x.add(1).mul(2).exp());
    expect(wt.memory().numTensors).toBe(start + 2);
    const z = await wt.tidy(async () => {
      const t = y.sqrt();
      await t.data();
      return { out: t.add(1) };
    });
    expect(wt.memory().numTensors).toBe(start + 3);
    close(await z.out.data(), [1 + Math.exp(2), 1 + Math.exp(3)]);
    [x, y, z.out].forEach((t) => t.dispose());
    expect(wt.memory().numTensors).toBe(start);
  });

  test('a graph that is never backpropagated is freed when its output is disposed', async () => {
    const x = T([1, 2, 3], { requiresGrad: true });
    await x.data();
    const bytes = wt.memory().numBytes;
    const y = wt.tidy(() => x.exp().mul(x).tanh().sum());
    expect(wt.memory().numBytes).toBeGreaterThan(bytes);
    y.dispose();
    expect(wt.memory().numBytes).toBe(bytes);
  });

  test('noGrad, detach and assign', async () => {
    const x = T([1, 2], { requiresGrad: true });
    expect(wt.noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    x.assign(T([5, 6]));
    close(await d.data(), [5, 6]); // shares storage
    x.assign(0);
    close(await x.data(), [0, 0]);
  });

  test('rand and randn give the same numbers as the CPU for the same seed', async () => {
    const a = await wt.randn([64], { seed: 9, backend }).data();
    const b = await wt.randn([64], { seed: 9, backend: 'cpu' }).data();
    close(a, b, 1e-5);
    const u = await wt.rand([64], { seed: 9, backend }).data();
    const v = await wt.rand([64], { seed: 9, backend: 'cpu' }).data();
    expect(Array.from(u)).toEqual(Array.from(v));
    expect(Array.from(a)).not.toEqual(Array.from(await wt.randn([64], { seed: 10, backend }).data()));
  });

  test('matmul follows torch.matmul for 1-D operands', async () => {
    const v = T([1, 2, 3]);
    const m = T([[1, 0], [0, 1], [1, 1]]);
    expect((await v.matmul(v).array())).toBe(14);
    expect(v.matmul(m).shape).toEqual([2]);
    close(await v.matmul(m).data(), [4, 5]);
    expect(m.transpose().matmul(v).shape).toEqual([2]);
  });

  describe('bad input gets a clear error', () => {
    test.each([
      ['broadcast', () => T([1, 2, 3]).add(T([1, 2])), /add: shapes \[3\] and \[2\] cannot be broadcast/],
      ['matmul inner', () => T([[1, 2]]).matmul(T([[1, 2]])), /matmul: inner dimensions differ: \[1, 2\] · \[1, 2\]/],
      ['axis', () => T([[1, 2]]).sum(2), /sum: axis 2 is out of range for a tensor of rank 2/],
      ['reshape', () => T([1, 2, 3]).reshape([2, 2]), /reshape: cannot reshape a tensor of shape \[3\]/],
      ['dtype', () => wt.tensor([1, 2], undefined, { dtype: 'i32', backend }).exp(), /exp: expected a float tensor .* got i32/],
      ['gather index dtype', () => T([[1, 2]]).gather(1, T([[0]])), /gather: index must be i32, got f32/],
      ['slice', () => T([1, 2, 3]).slice([2], [2]), /slice: begin \[2\] with size \[2\] falls outside \[3\]/],
      ['non-scalar backward', () => T([1, 2], { requiresGrad: true }).mul(2).backward(), /backward: gy is required for a non-scalar output of shape \[2\]/],
      ['no grad', () => T([1]).backward(), /backward: the tensor of shape \[1\] does not require grad/],
      ['disposed', () => { const t = T([1]); t.dispose(); return t.add(1); }, /add: an input tensor of shape \[1\] \(f32\) was used after dispose\(\)/],
      ['mixed backends', () => T([1]).add(wt.tensor([1], undefined, { backend: backend === 'cpu' ? 'webgpu' : 'cpu' })),
        /add: inputs live on different backends/],
    ] as const)('%s', (name, fn, message) => {
      if (name === 'mixed backends' && backends.length < 2) return;
      expect(fn).toThrow(message);
    });

    test('reading a disposed tensor', async () => {
      const t = T([1]);
      t.dispose();
      await expect(t.data()).rejects.toThrow(/data: tensor of shape \[1\] \(f32\) was used after dispose\(\)/);
    });

    test('backward twice without retainGraph, and in-place changes to saved values', () => {
      const x = T([1, 2], { requiresGrad: true });
      const y = x.exp().sum();
      y.backward();
      expect(() => y.backward()).toThrow(/already freed by an earlier backward; pass \{retainGraph: true\}/);
      const z = x.square().sum();
      x.assign(T([3, 4]));
      expect(() => z.backward()).toThrow(/square.* was modified in place \(assign\)/);
    });
  });
});
