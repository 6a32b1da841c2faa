/**
 * Losses (crossEntropy, nll, mse, bce, bceWithLogits) against formulas in plain JS and against the
 * compositions they fuse; their gradients and double backward; penalties; the normalization layers
 * against the composition of plain ops (train mode), running statistics, eval mode, state dict
 * keys; and the error messages. The op rows themselves (crossEntropy, norm, ...) are checked by
 * the registry-driven table in ops.test.ts.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { BackendName } from '../src/backend/backend';
import type { Tensor } from '../src/tensor';
import type { NormLayer } from '../src/nn/norm';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

const { nn } = wt;
const F = nn.functional;
const values = async (t: Tensor) => Array.from(await t.data());

function expectClose(got: number[], want: number[], atol = 1e-5, rtol = 1e-4): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) expect.fail(`element ${i}: ${got[i]} vs ${want[i]}`);
  }
}

/** Deterministic values in [lo, hi). */
function seq(n: number, seed: number, lo = -2, hi = 2): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return Math.fround(lo + ((hi - lo) * a) / 2 ** 32);
  });
}

// ---------------------------------------------------------------------------------------------
// Plain-JS references

function logSumExp(row: number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
}
const rows = (flat: number[], c: number) => Array.from({ length: flat.length / c }, (_, i) => flat.slice(i * c, (i + 1) * c));
const softmaxRow = (row: number[]) => row.map((v) => Math.exp(v - logSumExp(row)));
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);

describe.each(backends)('%s', (backend: BackendName) => {
  const T = (data: number[], shape: number[], requiresGrad = false) => wt.tensor(data, shape, { backend, requiresGrad });
  const I = (data: number[], shape: number[]) => wt.tensor(data, shape, { backend, dtype: 'i32' });

  describe('crossEntropy', () => {
    const N = 4;
    const C = 5;
    const x = seq(N * C, 1, -3, 3);
    const labels = [3, 0, 4, 1];
    const perSample = rows(x, C).map((r, n) => logSumExp(r) - r[labels[n]]);

    test('hard labels: mean, sum and none against lse - x[label]', async () => {
      const logits = T(x, [N, C]);
      expectClose(await values(F.crossEntropy(logits, I(labels, [N]), { reduction: 'none' })), perSample);
      expectClose(await values(F.crossEntropy(logits, I(labels, [N]), { reduction: 'sum' })), [sum(perSample)]);
      expectClose(await values(F.crossEntropy(logits, I(labels, [N]))), [mean(perSample)]);
      // Labels as a JS array: checked and uploaded by crossEntropy itself.
      expectClose(await values(F.crossEntropy(logits, labels)), [mean(perSample)]);
    });

    test('soft labels: Σ_c -p_c log softmax(x)_c', async () => {
      const p = seq(N * C, 2, 0, 1);
      const want = rows(x, C).map((r, n) => sum(r.map((v, c) => p[n * C + c] * (logSumExp(r) - v))));
      const loss = F.crossEntropy(T(x, [N, C]), T(p, [N, C]), { reduction: 'none' });
      expectClose(await values(loss), want);
      expectClose(await values(F.crossEntropy(T(x, [N, C]), T(p, [N, C]))), [mean(want)]);
    });

    test('ignoreIndex (-100): loss 0, and mean over the other labels (as PyTorch)', async () => {
      const y = [3, -100, 4, -100];
      const none = await values(F.crossEntropy(T(x, [N, C]), I(y, [N]), { reduction: 'none' }));
      expectClose(none, [perSample[0], 0, perSample[2], 0]);
      const m = (perSample[0] + perSample[2]) / 2;
      expectClose(await values(F.crossEntropy(T(x, [N, C]), I(y, [N]))), [m]);
      expectClose(await values(F.crossEntropy(T(x, [N, C]), y)), [m]);
      const want = sum(rows(x, C).map((r, n) => (n === 1 ? 0 : logSumExp(r) - r[n])));
      expectClose(await values(F.crossEntropy(T(x, [N, C]), I([0, 1, 2, 3], [N]), { ignoreIndex: 1, reduction: 'sum' })), [want]);
    });

    test('class axis 1 of [N, C, d] logits with [N, d] labels (PyTorch K-dimensional form)', async () => {
      const d = 3;
      const xs = seq(2 * C * d, 3);
      const ys = [0, 4, 2, 1, 1, 3];
      const want: number[] = [];
      for (let n = 0; n < 2; n++) {
        for (let k = 0; k < d; k++) {
          const r = Array.from({ length: C }, (_, c) => xs[n * C * d + c * d + k]);
          want.push(logSumExp(r) - r[ys[n * d + k]]);
        }
      }
      expectClose(await values(F.crossEntropy(T(xs, [2, C, d]), I(ys, [2, d]), { reduction: 'none' })), want);
    });

    test('equals the logSoftmax + gather composition, value and gradient', async () => {
      const a = T(x, [N, C], true);
      const b = T(x, [N, C], true);
      const y = I(labels, [N]);
      const fused = F.crossEntropy(a, y);
      const plain = b.logSoftmax(1).gather(1, y.reshape([N, 1])).mean().neg();
      expectClose(await values(fused), await values(plain));
      fused.backward();
      plain.backward();
      expectClose(await values(a.grad!), await values(b.grad!));
    });

    test('gradient of the mean is (softmax - onehot) / N; soft labels (softmax Σp - p) / N', async () => {
      const a = T(x, [N, C], true);
      F.crossEntropy(a, labels).backward();
      const want = rows(x, C).flatMap((r, n) => softmaxRow(r).map((s, c) => (s - (c === labels[n] ? 1 : 0)) / N));
      expectClose(await values(a.grad!), want);
      const p = seq(N * C, 4, 0, 1);
      const b = T(x, [N, C], true);
      F.crossEntropy(b, T(p, [N, C])).backward();
      const wantSoft = rows(x, C).flatMap((r, n) => {
        const total = sum(p.slice(n * C, (n + 1) * C));
        return softmaxRow(r).map((s, c) => (s * total - p[n * C + c]) / N);
      });
      expectClose(await values(b.grad!), wantSoft);
    });

    test('double backward: hvp of a tiny logistic regression against finite differences of its gradient', async () => {
      const D = 3;
      const X = seq(N * D, 5);
      const w0 = seq(D * C, 6, -1, 1);
      const v = seq(D * C, 7, -1, 1);
      const loss = (xs: Tensor, w: Tensor) => F.crossEntropy(xs.matmul(w), labels);
      const [hv] = wt.hvp((w) => loss(T(X, [N, D]), w), [T(w0, [D, C])], [T(v, [D, C])]);
      // Finite differences of the gradient in f64 on the CPU: (g(w + εv) - g(w - εv)) / 2ε.
      const cpu = (d: number[], s: number[]) => wt.tensor(d, s, { backend: 'cpu', dtype: 'f64' });
      const eps = 1e-5;
      const g = async (sign: number) => {
        const [gw] = wt.grad((w) => loss(cpu(X, [N, D]), w))(cpu(w0.map((wi, i) => wi + sign * eps * v[i]), [D, C]));
        return values(gw);
      };
      const [gp, gm] = [await g(1), await g(-1)];
      expectClose(await values(hv), gp.map((a, i) => (a - gm[i]) / (2 * eps)), 1e-4, 1e-3);
    });

    test('nll: -logProbs[label], and nll(logSoftmax(x)) equals crossEntropy(x)', async () => {
      const lp = T(x, [N, C]).logSoftmax(1);
      expectClose(await values(F.nll(lp, I(labels, [N]), { reduction: 'none' })), perSample);
      expectClose(await values(F.nll(lp, labels)), await values(F.crossEntropy(T(x, [N, C]), labels)));
      const raw = seq(6, 8, -3, 0);
      expectClose(await values(F.nll(T(raw, [2, 3]), [2, -100], { reduction: 'sum' })), [-raw[2]]);
    });

    test('labels out of range: a clear error on the CPU and for JS arrays; NaN rows on the GPU', async () => {
      const logits = T(seq(20, 9), [2, 10]);
      expect(() => F.crossEntropy(logits, [3, 12])).toThrow('crossEntropy: label 12 is out of range for 10 classes');
      expect(() => F.nll(logits, [-1, 2])).toThrow('nll: label -1 is out of range for 10 classes');
      if (backend === 'cpu') {
        expect(() => F.crossEntropy(logits, I([3, 12], [2]))).toThrow('crossEntropy: label 12 is out of range for 10 classes');
      } else {
        const loss = await values(F.crossEntropy(logits, I([3, 12], [2]), { reduction: 'none' }));
        expect(Number.isFinite(loss[0])).toBe(true);
        expect(loss[1]).toBeNaN();
      }
    });

    test('labels of the wrong dtype or shape: errors naming both', () => {
      const logits = T(seq(12, 10), [4, 3]);
      expect(() => F.crossEntropy(logits, T([0, 1, 2, 0], [4]))).toThrow(/f32 \[4\].*cast\('i32'\)/);
      expect(() => F.crossEntropy(logits, I([0, 1, 2], [3]))).toThrow('class-index labels must have shape [4] for logits [4, 3], got [3]');
      expect(() => F.crossEntropy(logits, I([0, 1, 2, 0], [4, 1]))).toThrow(/squeeze the trailing 1/);
      expect(() => F.crossEntropy(logits, T(seq(8, 1, 0, 1), [4, 2]))).toThrow(/probabilities of shape \[4, 3\]/);
      expect(() => F.crossEntropy(logits, [0, 1])).toThrow('2 labels for logits [4, 3]; expected 4');
      expect(() => F.crossEntropy(logits, [0, 1, 2, 0], { reduction: 'avg' as never })).toThrow(/reduction must be/);
      expect(() => F.crossEntropy(logits, [0, 1, 2, 0], { reductoin: 'sum' } as never)).toThrow(/unknown option 'reductoin'/);
    });
  });

  test.runIf(backend === 'webgpu')('dispatch counts: crossEntropy mean 2 forward; BatchNorm train 3, eval 1; LayerNorm 1', async () => {
    const x = T(seq(40, 100), [8, 5], true);
    const y = I([0, 1, 2, 3, 4, 0, 1, 2], [8]);
    const bn = new nn.BatchNorm1d(5, { backend });
    const ln = new nn.LayerNorm(5, { backend });
    await Promise.all([x.data(), y.data(), bn.runningMean!.data(), ln.weight!.data()]);
    const count = (fn: () => unknown) => {
      const before = wt.stats().dispatches;
      fn();
      return wt.stats().dispatches - before;
    };
    let loss: Tensor | null = null;
    expect(count(() => { loss = F.crossEntropy(x, y); })).toBe(2); // per-row losses, then the mean over counted labels
    expect(count(() => loss!.backward())).toBe(3); // the seed gradient 1, validMeanGrad, crossEntropyGrad
    expect(count(() => bn.forward(x))).toBe(3); // normStats, the in-place running update, norm
    expect(count(() => ln.forward(x))).toBe(1);
    bn.eval();
    expect(count(() => bn.forward(x))).toBe(1);
  });

  describe('mse, bce, bceWithLogits', () => {
    const n = 6;
    const a = seq(n, 11);
    const b = seq(n, 12);

    test('mse: mean, sum, none of (pred - target)²', async () => {
      const sq = a.map((v, i) => (v - b[i]) ** 2);
      expectClose(await values(F.mse(T(a, [2, 3]), T(b, [2, 3]))), [mean(sq)]);
      expectClose(await values(F.mse(T(a, [2, 3]), T(b, [2, 3]), { reduction: 'sum' })), [sum(sq)]);
      expectClose(await values(F.mse(T(a, [2, 3]), T(b, [2, 3]), { reduction: 'none' })), sq);
    });

    test('bce: -(y log p + (1 - y) log(1 - p)), log clamped at -100, finite gradient at p = 0 and 1', async () => {
      const p = seq(n, 13, 0.05, 0.95);
      const y = seq(n, 14, 0, 1);
      const want = p.map((pi, i) => -(y[i] * Math.log(pi) + (1 - y[i]) * Math.log(1 - pi)));
      expectClose(await values(F.bce(T(p, [n]), T(y, [n]), { reduction: 'none' })), want);
      const w = seq(n, 15, 0, 2);
      expectClose(await values(F.bce(T(p, [n]), T(y, [n]), { weight: T(w, [n]), reduction: 'sum' })), [sum(want.map((l, i) => l * w[i]))]);
      // Saturated probabilities: loss 100 per wrong certain prediction, 0 per right one; gradient (p - y) / max(p(1-p), 1e-12).
      const ps = T([0, 1, 0, 1], [4], true);
      const loss = F.bce(ps, T([0, 1, 1, 0], [4]), { reduction: 'sum' });
      expectClose(await values(loss), [200]);
      loss.backward();
      expectClose(await values(ps.grad!), [0, 0, -1e12, 1e12], 0, 1e-5);
    });

    test('bceWithLogits: stable (1 - y) x + softplus(-x); gradient sigmoid(x) - y, also at x = 0; posWeight', async () => {
      const x = [...seq(4, 16, -5, 5), 0, 30, -30];
      const y = [...seq(4, 17, 0, 1), 1, 0, 1];
      const sp = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      const want = x.map((v, i) => (1 - y[i]) * v + sp(-v));
      const xt = T(x, [7], true);
      const loss = F.bceWithLogits(xt, T(y, [7]), { reduction: 'sum' });
      expectClose(await values(loss), [sum(want)], 1e-4);
      loss.backward();
      expectClose(await values(xt.grad!), x.map((v, i) => 1 / (1 + Math.exp(-v)) - y[i]));
      const pw = 3;
      const wantPw = x.map((v, i) => (1 - y[i]) * v + (1 + (pw - 1) * y[i]) * sp(-v));
      expectClose(await values(F.bceWithLogits(T(x, [7]), T(y, [7]), { posWeight: T([pw], [1]), reduction: 'none' })), wantPw, 1e-4);
      expect(() => F.bceWithLogits(T(x, [7]), T(y.slice(0, 3), [3]))).toThrow(/target \[3\] must have the input's shape \[7\]/);
    });
  });

  describe('penalties', () => {
    test('l2Penalty = λ Σ w² over weights only (not biases, not norm layers), gradient 2λW', async () => {
      const model = new nn.Sequential(new nn.Linear(3, 4, { backend, seed: 1 }), new nn.BatchNorm1d(4, { backend }), new nn.ReLU(),
        new nn.Linear(4, 2, { backend, seed: 2 }));
      const named = new Map(model.namedParameters());
      const w0 = await values(named.get('0.weight')!);
      const w3 = await values(named.get('3.weight')!);
      const lambda = 1e-2;
      const pen = F.l2Penalty(model, lambda);
      expectClose(await values(pen), [lambda * (sum(w0.map((v) => v * v)) + sum(w3.map((v) => v * v)))]);
      pen.backward();
      expectClose(await values(named.get('0.weight')!.grad!), w0.map((v) => 2 * lambda * v));
      expectClose(await values(named.get('3.weight')!.grad!), w3.map((v) => 2 * lambda * v));
      for (const k of ['0.bias', '1.weight', '1.bias', '3.bias']) expect(named.get(k)!.grad).toBeNull();
      // include overrides the rule: every parameter named '*.bias'.
      const onlyBiases = F.l2Penalty(model, 1, { include: (name) => name.endsWith('bias') });
      const b0 = await values(named.get('0.bias')!);
      expectClose(await values(onlyBiases), [sum(b0.map((v) => v * v))]); // BatchNorm and Linear biases start at 0
      model.dispose();
    });

    test('l1Penalty = λ Σ |w|, gradient λ sign(w); lists of tensors and [name, tensor] pairs', async () => {
      const w = T([0.5, -2, 0, 3], [2, 2], true);
      const b = T([1, -1], [2], true);
      const pen = F.l1Penalty([['weight', w], ['bias', b]], 0.1);
      expectClose(await values(pen), [0.55]);
      pen.backward();
      expectClose(await values(w.grad!), [0.1, -0.1, 0, 0.1]);
      expect(b.grad).toBeNull();
      expectClose(await values(F.l1Penalty([w, b], 1)), [7.5]);
      expect(() => F.l2Penalty([w], -1)).toThrow(/lambda must be a non-negative number/);
    });

    test('loss + l2Penalty trains through autodiff', async () => {
      const lin = new nn.Linear(2, 3, { backend, seed: 3 });
      const x = T(seq(8, 20), [4, 2]);
      const loss = F.crossEntropy(lin.forward(x), [0, 1, 2, 1]).add(F.l2Penalty(lin, 0.5));
      loss.backward();
      const plain = new nn.Linear(2, 3, { backend, seed: 3 });
      F.crossEntropy(plain.forward(x), [0, 1, 2, 1]).backward();
      const w = await values(lin.weight);
      expectClose(await values(lin.weight.grad!), (await values(plain.weight.grad!)).map((g, i) => g + w[i]));
      expectClose(await values(lin.bias!.grad!), await values(plain.bias!.grad!));
    });
  });

  describe('normalization', () => {
    /** (x - mean) / sqrt(var + eps) over `axes` (biased variance), with plain ops. */
    const plainNorm = (x: Tensor, axes: number[], eps = 1e-5) => {
      const m = x.mean(axes, true);
      const c = x.sub(m);
      return c.div(c.square().mean(axes, true).add(eps).sqrt());
    };
    const channelAffine = (y: Tensor, w: Tensor, b: Tensor) => {
      const shape = y.shape.map((d, i) => (i === 1 ? d : 1));
      return y.mul(w.reshape(shape)).add(b.reshape(shape));
    };

    /** The layer vs the composition: output and the gradients of Σ y·c w.r.t. x, weight and bias. */
    async function compare(layer: NormLayer, shape: number[], plain: (x: Tensor) => Tensor, seed: number) {
      const clearGrads = () => layer.parameters().forEach((p) => { p.grad = null; });
      const n = shape.reduce((p, d) => p * d, 1);
      const data = seq(n, seed);
      const c = T(seq(n, seed + 1), shape);
      // Non-trivial affine parameters.
      if (layer.weight) layer.weight.assign(T(seq(layer.weight.size, seed + 2, 0.5, 2), [...layer.weight.shape]));
      if (layer.bias) layer.bias.assign(T(seq(layer.bias.size, seed + 3), [...layer.bias.shape]));
      clearGrads();
      const xa = T(data, shape, true);
      const xb = T(data, shape, true);
      const ya = layer.forward(xa);
      const yb = plain(xb);
      expectClose(await values(ya), await values(yb), 1e-4);
      ya.mul(c).sum().backward();
      const fused = [xa.grad!, layer.weight?.grad, layer.bias?.grad];
      const got = await Promise.all(fused.map((g) => (g ? values(g) : null)));
      clearGrads();
      yb.mul(c).sum().backward();
      const want = await Promise.all([xb.grad!, layer.weight?.grad, layer.bias?.grad].map((g) => (g ? values(g) : null)));
      got.forEach((g, i) => {
        expect(g === null).toBe(want[i] === null);
        if (g) expectClose(g, want[i]!, 1e-4);
      });
      clearGrads();
    }

    test('BatchNorm1d ([N, C] and [N, C, L]) and BatchNorm2d equal the composition in train mode', async () => {
      const bn = new nn.BatchNorm1d(3, { backend });
      await compare(bn, [5, 3], (x) => channelAffine(plainNorm(x, [0]), bn.weight!, bn.bias!), 30);
      await compare(bn, [2, 3, 4], (x) => channelAffine(plainNorm(x, [0, 2]), bn.weight!, bn.bias!), 31);
      const bn2 = new nn.BatchNorm2d(2, { backend });
      await compare(bn2, [2, 2, 3, 2], (x) => channelAffine(plainNorm(x, [0, 2, 3]), bn2.weight!, bn2.bias!), 32);
    });

    test('BatchNorm with more than 64 values per channel (workgroup kernels)', async () => {
      const bn = new nn.BatchNorm1d(2, { backend });
      await compare(bn, [3, 2, 30], (x) => channelAffine(plainNorm(x, [0, 2]), bn.weight!, bn.bias!), 33);
    });

    test('LayerNorm (one and two normalized dims) equals the composition', async () => {
      const ln = new nn.LayerNorm(4, { backend });
      await compare(ln, [3, 4], (x) => plainNorm(x, [1]).mul(ln.weight!).add(ln.bias!), 40);
      const ln2 = new nn.LayerNorm([2, 3], { backend });
      await compare(ln2, [2, 2, 3], (x) => plainNorm(x, [1, 2]).mul(ln2.weight!).add(ln2.bias!), 41);
      const ln3 = new nn.LayerNorm(70, { backend, elementwiseAffine: false });
      await compare(ln3, [2, 70], (x) => plainNorm(x, [1]), 42);
      expect(ln3.parameters()).toEqual([]);
    });

    test('GroupNorm and InstanceNorm equal the composition', async () => {
      const gn = new nn.GroupNorm(2, 4, { backend });
      await compare(gn, [2, 4, 3], (x) => channelAffine(plainNorm(x.reshape([2, 2, 6]), [2]).reshape([2, 4, 3]), gn.weight!, gn.bias!), 50);
      const inorm = new nn.InstanceNorm(3, { backend, affine: true });
      await compare(inorm, [2, 3, 2, 2], (x) => channelAffine(plainNorm(x, [2, 3]), inorm.weight!, inorm.bias!), 51);
    });

    test('running statistics after two train steps follow the formula; eval mode uses them', async () => {
      const C = 3;
      const bn = new nn.BatchNorm1d(C, { backend });
      const rm = bn.runningMean!;
      const rv = bn.runningVar!;
      let wantMean = [0, 0, 0];
      let wantVar = [1, 1, 1];
      for (const seed of [60, 61]) {
        const data = seq(4 * C * 2, seed);
        bn.forward(T(data, [4, C, 2]));
        for (let c = 0; c < C; c++) {
          const vals = data.filter((_, i) => Math.floor(i / 2) % C === c);
          const m = mean(vals);
          const unbiased = sum(vals.map((v) => (v - m) ** 2)) / (vals.length - 1);
          wantMean[c] = 0.9 * wantMean[c] + 0.1 * m;
          wantVar[c] = 0.9 * wantVar[c] + 0.1 * unbiased;
        }
        wantMean = [...wantMean];
        wantVar = [...wantVar];
      }
      expect(bn.runningMean).toBe(rm); // updated in place: the same tensors
      expect(bn.runningVar).toBe(rv);
      expectClose(await values(rm), wantMean);
      expectClose(await values(rv), wantVar);
      expect(await values(bn.numBatchesTracked!)).toEqual([2]);
      // Eval mode: the running statistics normalize, and nothing is updated.
      bn.eval();
      const x = T(seq(2 * C, 62), [2, C], true);
      const y = bn.forward(x);
      const shape = [1, C];
      const plain = x.sub(rm.reshape(shape)).div(rv.add(1e-5).sqrt().reshape(shape)).mul(bn.weight!.reshape(shape)).add(bn.bias!.reshape(shape));
      expectClose(await values(y), await values(plain));
      y.sum().backward();
      const r = wantVar.map((v) => 1 / Math.sqrt(v + 1e-5)); // d y / d x = weight · r = r (weight is 1)
      expectClose(await values(x.grad!), [...r, ...r]);
      expectClose(await values(rm), wantMean);
      expect(await values(bn.numBatchesTracked!)).toEqual([2]);
    });

    test('momentum null: the cumulative average of the batch statistics', async () => {
      const bn = new nn.BatchNorm1d(2, { backend, momentum: null });
      const batches = [seq(6, 70), seq(6, 71), seq(6, 72)];
      for (const b of batches) bn.forward(T(b, [3, 2]));
      const means = batches.map((b) => [0, 1].map((c) => mean(b.filter((_, i) => i % 2 === c))));
      expectClose(await values(bn.runningMean!), [0, 1].map((c) => mean(means.map((m) => m[c]))));
      expect(await values(bn.numBatchesTracked!)).toEqual([3]);
    });

    test('InstanceNorm: PyTorch defaults (no parameters or buffers); with running stats, batch-averaged instance statistics', async () => {
      const plainIn = new nn.InstanceNorm(2, { backend });
      expect([...plainIn.stateDict().keys()]).toEqual([]);
      const inorm = new nn.InstanceNorm(2, { backend, affine: true, trackRunningStats: true });
      expect([...inorm.stateDict().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
      const data = seq(2 * 2 * 3, 80);
      inorm.forward(T(data, [2, 2, 3]));
      const inst = (n: number, c: number) => data.slice((n * 2 + c) * 3, (n * 2 + c) * 3 + 3);
      const wantMean = [0, 1].map((c) => 0.1 * mean([0, 1].map((n) => mean(inst(n, c)))));
      const wantVar = [0, 1].map((c) => 0.9 + 0.1 * mean([0, 1].map((n) => {
        const v = inst(n, c);
        return sum(v.map((e) => (e - mean(v)) ** 2)) / 2;
      })));
      expectClose(await values(inorm.runningMean!), wantMean);
      expectClose(await values(inorm.runningVar!), wantVar);
    });

    test('state dict keys are PyTorch\'s; GroupNorm and LayerNorm have no running statistics', () => {
      const model = new nn.Sequential(new nn.Linear(3, 4, { backend, seed: 1 }), new nn.BatchNorm1d(4, { backend }),
        new nn.LayerNorm(4, { backend }), new nn.GroupNorm(2, 4, { backend }));
      expect([...model.stateDict().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
        '1.num_batches_tracked', '2.weight', '2.bias', '3.weight', '3.bias']);
      const sd = model.stateDict();
      expect(sd.get('1.num_batches_tracked')!.dtype).toBe('i32');
      expect(sd.get('1.num_batches_tracked')!.shape).toEqual([]);
      const noTrack = new nn.BatchNorm2d(3, { backend, affine: false, trackRunningStats: false });
      expect([...noTrack.stateDict().keys()]).toEqual([]);
      expect(noTrack.runningMean).toBeNull();
      model.dispose();
    });

    test('wrong channel counts name the layer, its features, the shape and a batch hint', () => {
      const bn = new nn.BatchNorm1d(3, { backend });
      expect(() => bn.forward(T(seq(10, 1), [2, 5]))).toThrow('BatchNorm1d(3): expected input [N, 3] or [N, 3, L] with 3 features (channels) in dimension 1, got shape [2, 5]');
      expect(() => bn.forward(T(seq(3, 1), [3]))).toThrow(/got shape \[3\]; a single sample\? add a batch dimension first: x.unsqueeze\(0\) gives \[1, 3\]/);
      expect(() => bn.forward(T(seq(12, 1), [2, 2, 3]))).toThrow(/channels in dimension 1/);
      expect(() => bn.forward(T(seq(3, 1), [1, 3]))).toThrow('BatchNorm1d: expected more than 1 value per channel when training, got input of shape [1, 3]');
      const bn2 = new nn.BatchNorm2d(3, { backend });
      expect(() => bn2.forward(T(seq(12, 1), [3, 2, 2]))).toThrow(/BatchNorm2d\(3\): .*got shape \[3, 2, 2\]; a single sample\? .*\[1, 3, 2, 2\]/);
      const ln = new nn.LayerNorm(4, { backend });
      expect(() => ln.forward(T(seq(6, 1), [2, 3]))).toThrow('LayerNorm([4]): expected an input whose last dimension is 4 (the normalized features), got shape [2, 3]');
      const gn = new nn.GroupNorm(2, 4, { backend });
      expect(() => gn.forward(T(seq(6, 1), [2, 3]))).toThrow(/GroupNorm\(2, 4\): expected input \[N, 4, \.\.\.\] with 4 channels in dimension 1, got shape \[2, 3\]/);
      expect(() => new nn.GroupNorm(3, 4)).toThrow('GroupNorm: numChannels (4) must be divisible by numGroups (3)');
      const inorm = new nn.InstanceNorm(3, { backend });
      expect(() => inorm.forward(T(seq(6, 1), [3, 2]))).toThrow(/an unbatched \[C, L\] input\? add a batch dimension/);
      expect(() => new nn.BatchNorm1d(3, { momentom: 0.1 } as never)).toThrow(/unknown option 'momentom'/);
    });

    test('functional forms: batchNorm in eval needs running statistics; layerNorm and groupNorm as the modules', async () => {
      const x = T(seq(12, 90), [3, 4]);
      expect(() => F.batchNorm(x, null, null)).toThrow(/running statistics are needed/);
      const w = T(seq(4, 91, 0.5, 2), [4]);
      const b = T(seq(4, 92), [4]);
      expectClose(await values(F.layerNorm(x, [4], { weight: w, bias: b })), await values(plainNorm(x, [1]).mul(w).add(b)));
      expectClose(await values(F.groupNorm(x, 2, { weight: w, bias: b })),
        await values(channelAffine(plainNorm(x.reshape([3, 2, 2]), [2]).reshape([3, 4]), w, b)));
      expectClose(await values(F.batchNorm(x, null, null, { training: true })), await values(plainNorm(x, [0])));
    });

    test('double backward through LayerNorm: hvp against finite differences of the gradient', async () => {
      const shape = [2, 5];
      const x0 = seq(10, 95);
      const v = seq(10, 96, -1, 1);
      const c = seq(10, 97);
      const f = (x: Tensor, on: BackendName, dtype: 'f32' | 'f64') =>
        F.layerNorm(x, 5).square().mul(wt.tensor(c, shape, { backend: on, dtype })).sum();
      const [hv] = wt.hvp((x) => f(x, backend, 'f32'), [T(x0, shape)], [T(v, shape)]);
      const eps = 1e-5;
      const g = async (sign: number) => {
        const [gx] = wt.grad((x) => f(x, 'cpu', 'f64'))(wt.tensor(x0.map((xi, i) => xi + sign * eps * v[i]), shape, { backend: 'cpu', dtype: 'f64' }));
        return values(gx);
      };
      const [gp, gm] = [await g(1), await g(-1)];
      expectClose(await values(hv), gp.map((a, i) => (a - gm[i]) / (2 * eps)), 1e-3, 1e-3);
    });
  });
});
