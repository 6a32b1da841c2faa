/**
 * Convolution and pooling (issue 8), beside the registry table (test/ops.test.ts, which checks
 * GPU against CPU and vjps against finite differences): the forward passes against direct loops
 * over PyTorch's formulas for every option, closed forms (a 1x1 conv is a matmul, a 3x3 example
 * worked by hand, avgPool of ones, max-pool gradient routing, ties and NaN), gradients of
 * gradients, the modules (PyTorch's initialization, BatchNorm2d after Conv2d), input errors, and a
 * tiny CNN that learns on every backend.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import type { Tensor } from '../src/tensor';
import { conv2dTuning } from '../src/ops/conv2d';
import { checkOp } from './op-table';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

const { nn } = wt;
const F = wt.nn.functional;
const values = async (t: Tensor) => Array.from(await t.data());

function expectClose(got: number[], want: number[], atol = 1e-5, rtol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const same = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!same) expect.fail(`element ${i}: ${got[i]} vs ${want[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Direct loops over PyTorch's definitions (the references)

interface ConvCase {
  x: number[]; // [N, C, H, W]
  w: number[]; // [OC, C / groups, KH, KW]
  bias: boolean;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/**
 * torch.nn.functional.conv2d, term by term: y[n, o, i, j] = b[o] + Σ_{c, kh, kw} x[n, g·cpg + c,
 * i·sh - ph + kh·dh, j·sw - pw + kw·dw] · w[o, c, kh, kw], g = o / (OC / groups), zeros outside.
 * Also returns the gradients of Σ y·gy (accumulated term by term, the same sum read backwards).
 */
function referenceConv(c: ConvCase, x: number[], w: number[], b: number[] | null, gy?: number[]) {
  const [N, C, H, W] = c.x;
  const [OC, cpg, KH, KW] = c.w;
  const OH = Math.floor((H + 2 * c.padding[0] - c.dilation[0] * (KH - 1) - 1) / c.stride[0]) + 1;
  const OW = Math.floor((W + 2 * c.padding[1] - c.dilation[1] * (KW - 1) - 1) / c.stride[1]) + 1;
  const y = new Array<number>(N * OC * OH * OW).fill(0);
  const gx = new Array<number>(x.length).fill(0);
  const gw = new Array<number>(w.length).fill(0);
  const gb = new Array<number>(OC).fill(0);
  const opg = OC / c.groups;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const yi = ((n * OC + o) * OH + i) * OW + j;
          const g = gy ? gy[yi] : 0;
          let s = b ? b[o] : 0;
          gb[o] += g;
          for (let ci = 0; ci < cpg; ci++) {
            const ch = Math.floor(o / opg) * cpg + ci;
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const r = i * c.stride[0] - c.padding[0] + kh * c.dilation[0];
                const q = j * c.stride[1] - c.padding[1] + kw * c.dilation[1];
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                const xi = ((n * C + ch) * H + r) * W + q;
                const wi = ((o * cpg + ci) * KH + kh) * KW + kw;
                s += x[xi] * w[wi];
                gx[xi] += g * w[wi];
                gw[wi] += g * x[xi];
              }
            }
          }
          y[yi] = s;
        }
      }
    }
  }
  return { y, shape: [N, OC, OH, OW], gx, gw, gb };
}

/** max_pool2d / avg_pool2d (count_include_pad) window by window; max: first maximum, NaN wins. */
function referencePool(kind: 'max' | 'avg', shape: number[], x: number[], k: [number, number], s: [number, number], p: [number, number]) {
  const [N, C, H, W] = shape;
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const y: number[] = [];
  const argmax: number[] = [];
  for (let pl = 0; pl < N * C; pl++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let best = -Infinity;
        let at = -1;
        let sum = 0;
        for (let a = 0; a < k[0]; a++) {
          for (let b = 0; b < k[1]; b++) {
            const r = i * s[0] - p[0] + a;
            const q = j * s[1] - p[1] + b;
            if (r < 0 || r >= H || q < 0 || q >= W) continue;
            const v = x[(pl * H + r) * W + q];
            sum += v;
            if (at < 0 || v > best || Number.isNaN(v)) {
              best = v;
              at = (pl * H + r) * W + q;
            }
          }
        }
        y.push(kind === 'max' ? best : sum / (k[0] * k[1]));
        argmax.push(at);
      }
    }
  }
  return { y, shape: [N, C, OH, OW], argmax };
}

/** Deterministic values in [-1, 1) (a small LCG, so the reference and the library see the same numbers). */
function numbers(n: number, seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return Math.fround(a / 2 ** 31 - 1);
  });
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const CONV_CASES: [string, ConvCase][] = [
  ['plain 3x3', { x: [1, 1, 5, 5], w: [2, 1, 3, 3], bias: true, stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }],
  ['batch 3, non-square, stride 2, padding 1', { x: [3, 2, 7, 6], w: [4, 2, 3, 3], bias: false, stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 }],
  ['stride [2, 1], padding [1, 2], dilation 2, 2x3 kernel', { x: [2, 3, 8, 7], w: [2, 3, 2, 3], bias: true, stride: [2, 1], padding: [1, 2], dilation: [2, 2], groups: 1 }],
  ['groups 2', { x: [2, 4, 6, 6], w: [6, 2, 3, 3], bias: true, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 }],
  ['depthwise', { x: [2, 3, 6, 5], w: [3, 1, 3, 3], bias: false, stride: [1, 2], padding: [1, 0], dilation: [1, 1], groups: 3 }],
  ['depthwise, multiplier 2, dilation [1, 2]', { x: [1, 2, 5, 8], w: [4, 1, 3, 2], bias: true, stride: [1, 1], padding: [2, 1], dilation: [1, 2], groups: 2 }],
  ['stride 3 skips rows and columns', { x: [1, 2, 8, 8], w: [3, 2, 2, 2], bias: true, stride: [3, 3], padding: [0, 0], dilation: [1, 1], groups: 1 }],
];

describe.each(backends)('%s', (backend) => {
  const tensor = (data: number[], shape: number[], requiresGrad = false) => wt.tensor(data, shape, { backend, requiresGrad });

  test.each(CONV_CASES)('conv2d and its gradients equal the direct loops: %s', async (_, c) => {
    const xv = numbers(size(c.x), 1);
    const wv = numbers(size(c.w), 2);
    const bv = c.bias ? numbers(c.w[0], 3) : null;
    const x = tensor(xv, c.x, true);
    const w = tensor(wv, c.w, true);
    const b = bv ? tensor(bv, [c.w[0]], true) : null;
    const y = F.conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
    const gyv = numbers(y.size, 4);
    const want = referenceConv(c, xv, wv, bv, gyv);
    expect(y.shape).toEqual(want.shape);
    expectClose(await values(y), want.y);
    y.backward(tensor(gyv, want.shape));
    expectClose(await values(x.grad!), want.gx);
    expectClose(await values(w.grad!), want.gw);
    if (b) expectClose(await values(b.grad!), want.gb);
  });

  test('an unbatched [C, H, W] input gives a [OC, OH, OW] output (PyTorch)', async () => {
    const c = CONV_CASES[1][1];
    const xv = numbers(size(c.x.slice(1)), 5);
    const wv = numbers(size(c.w), 6);
    const y = F.conv2d(tensor(xv, c.x.slice(1)), tensor(wv, c.w), null, { stride: 2, padding: 1 });
    const want = referenceConv({ ...c, x: [1, ...c.x.slice(1)] }, xv, wv, null);
    expect(y.shape).toEqual(want.shape.slice(1));
    expectClose(await values(y), want.y);
  });

  test('a 1x1 convolution is a matmul over the channels', async () => {
    const x = wt.randn([2, 3, 4, 5], { seed: 7, backend });
    const w = wt.randn([6, 3, 1, 1], { seed: 8, backend });
    const b = wt.randn([6], { seed: 9, backend });
    const y = F.conv2d(x, w, b);
    // Each pixel's channel vector times Wᵀ, plus b: [N, H, W, C] · [C, OC] back to NCHW.
    const viaMatmul = x.permute([0, 2, 3, 1]).reshape([-1, 3]).matmul(w.reshape([6, 3]).transpose()).add(b)
      .reshape([2, 4, 5, 6]).permute([0, 3, 1, 2]);
    expectClose(await values(y), await values(viaMatmul));
  });

  test('a 3x3 example worked by hand', async () => {
    // x[r][c] = 4r + c + 1; w puts 1 at (0,0), 2 at (0,1), 1 at (1,1), -1 at (2,2); bias 0.5.
    const x = tensor(Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]);
    const w = tensor([1, 2, 0, 0, 1, 0, 0, 0, -1], [1, 1, 3, 3]);
    const b = tensor([0.5], [1]);
    // y[i][j] = x[i][j] + 2 x[i][j+1] + x[i+1][j+1] - x[i+2][j+2] + 0.5 = 12i + 3j + 0.5.
    expect(await values(F.conv2d(x, w, b))).toEqual([0.5, 3.5, 12.5, 15.5]);
    // Stride 2, padding 1: windows start at (2i - 1, 2j - 1), zeros outside:
    // (0,0): x[0][0] - x[1][1] = 1 - 6;  (0,1): x[0][2] - x[1][3] = 3 - 8;
    // (1,0): 2 x[1][0] + x[2][0] - x[3][1] = 10 + 9 - 14;  (1,1): 6 + 14 + 11 - 16.
    expect(await values(F.conv2d(x, w, b, { stride: 2, padding: 1 }))).toEqual([-4.5, -4.5, 5.5, 15.5]);
  });

  test.each([
    ['2x2, stride 2', [2, 3, 6, 5], [2, 2], [2, 2], [0, 0]],
    ['3x3, stride 1, padding 1', [1, 2, 5, 6], [3, 3], [1, 1], [1, 1]],
    ['3x2, stride [2, 1], padding [1, 0]', [2, 1, 7, 5], [3, 2], [2, 1], [1, 0]],
    ['2x4, stride [1, 3], padding [1, 2]', [1, 2, 4, 9], [2, 4], [1, 3], [1, 2]],
  ] as [string, number[], [number, number], [number, number], [number, number]][])('pools equal the direct loops: %s', async (_, shape, k, s, p) => {
    const xv = numbers(size(shape), 11);
    for (const kind of ['max', 'avg'] as const) {
      const x = tensor(xv, shape, true);
      const pool = kind === 'max' ? F.maxPool2d : F.avgPool2d;
      const y = pool(x, { kernelSize: k, stride: s, padding: p });
      const want = referencePool(kind, shape, xv, k, s, p);
      expect(y.shape).toEqual(want.shape);
      expectClose(await values(y), want.y);
      // Gradient of Σ y·gy: max routes gy to the argmax; avg spreads gy / (kH·kW) over the window.
      const gyv = numbers(y.size, 12);
      y.backward(tensor(gyv, want.shape));
      const gx = new Array<number>(xv.length).fill(0);
      if (kind === 'max') want.argmax.forEach((at, o) => { gx[at] += gyv[o]; });
      else referencePoolAdjoint(shape, want.shape, gyv, k, s, p, gx);
      expectClose(await values(x.grad!), gx);
    }
  });

  test('avgPool2d of ones counts the padding as zeros (count_include_pad)', async () => {
    const y = F.avgPool2d(wt.ones([1, 1, 3, 3], { backend }), { kernelSize: 3, stride: 1, padding: 1 });
    // Corner windows hold 4 of the 9 ones, edge windows 6, the centre 9.
    expectClose(await values(y), [4, 6, 4, 6, 9, 6, 4, 6, 4].map((v) => v / 9), 1e-6, 1e-6);
  });

  test('maxPool2d sends each gradient to the first maximum of its window', async () => {
    const x = tensor([1, 5, 2, 2, 5, 0, 2, 1], [1, 1, 2, 4], true);
    const y = F.maxPool2d(x, { kernelSize: 2 });
    expect(await values(y)).toEqual([5, 2]);
    y.sum().backward();
    // Window 0 holds 1, 5 | 5, 0: the 5 in row 0 is first; window 1 holds 2, 2 | 2, 1: the top-left 2.
    expect(await values(x.grad!)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
  });

  test('overlapping windows add their gradients at a shared maximum', async () => {
    const x = tensor([0, 1, 0, 1, 9, 1, 0, 1, 0], [1, 1, 3, 3], true);
    const y = F.maxPool2d(x, { kernelSize: 2, stride: 1 });
    expect(await values(y)).toEqual([9, 9, 9, 9]);
    y.mul(tensor([1, 2, 3, 4], [1, 1, 2, 2])).sum().backward();
    expect(await values(x.grad!)).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  test('maxPool2d: NaN takes its window and its gradient; padding is -inf, not 0', async () => {
    const x = tensor([1, NaN, 3, 4, -2, -3, -7, -8], [1, 1, 2, 4], true);
    const y = F.maxPool2d(x, { kernelSize: 2 });
    const got = await values(y);
    expect(got[0]).toBeNaN();
    expect(got[1]).toBe(4);
    y.sum().backward();
    expect(await values(x.grad!)).toEqual([0, 1, 0, 1, 0, 0, 0, 0]);
    // All-negative input with padding: the border windows still return input values.
    const neg = tensor([-5, -4, -3, -2], [1, 1, 2, 2]);
    expect(await values(F.maxPool2d(neg, { kernelSize: 2, stride: 1, padding: 1 }))).toEqual([-5, -4, -4, -3, -2, -2, -3, -2, -2]);
  });

  test('Conv2d → BatchNorm2d → ReLU → MaxPool2d → Flatten → Linear in a Sequential: forward and backward', async () => {
    const model = new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { padding: 1, seed: 1, backend }), new nn.BatchNorm2d(4, { backend }), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 3 * 3, 3, { seed: 2, backend }),
    );
    const x = wt.randn([5, 2, 6, 6], { seed: 3, backend });
    const bn = model.at(1) as wt.nn.BatchNorm2d;
    // The normalized conv output has per-channel mean 0 and variance 1 over the batch and pixels (train mode).
    const z = bn.forward((model.at(0) as wt.nn.Conv2d).forward(x));
    const perChannel = z.permute([1, 0, 2, 3]).reshape([4, -1]);
    expectClose(await values(perChannel.mean(1)), [0, 0, 0, 0], 1e-5, 0);
    expectClose(await values(perChannel.square().mean(1)), [1, 1, 1, 1], 1e-3, 0);
    const loss = F.crossEntropy(model.forward(x), [0, 1, 2, 0, 1]);
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape, name).toEqual(p.shape);
      const g = await values(p.grad!);
      expect(g.every(Number.isFinite), name).toBe(true);
      expect(g.some((v) => v !== 0), name).toBe(true);
    }
    model.dispose();
  });

  test('a tiny CNN learns to tell vertical from horizontal bars', async () => {
    // 6x6 images: a bright bar (a row or a column at a random place) on noise; label 0 vertical, 1 horizontal.
    const n = 32;
    const noise = numbers(n * 36, 21);
    const pixels: number[] = [];
    const labels: number[] = [];
    for (let s = 0; s < n; s++) {
      const horizontal = s % 2;
      const at = (s * 7) % 6;
      for (let r = 0; r < 6; r++) {
        for (let c = 0; c < 6; c++) pixels.push(0.2 * noise[s * 36 + r * 6 + c] + ((horizontal ? r : c) === at ? 1 : 0));
      }
      labels.push(horizontal);
    }
    const x = tensor(pixels, [n, 1, 6, 6]);
    const y = wt.tensor(labels, [n], { dtype: 'i32', backend });
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1, seed: 5, backend }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 4, 3, { padding: 1, seed: 6, backend }), new nn.ReLU(), new nn.AvgPool2d(3),
      new nn.Flatten(), new nn.Linear(4, 2, { seed: 7, backend }),
    );
    const opt = new wt.optim.Adam(model.parameters(), { lr: 0.03 });
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = wt.tidy(() => F.crossEntropy(model.forward(x), y));
      loss.backward();
      opt.step();
      if (step === 0 || step === 59) losses.push(await loss.item());
      loss.dispose();
    }
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses[1]).toBeLessThan(0.1 * losses[0]);
    const predicted = await values(wt.noGrad(() => model.forward(x)).argmax(1));
    expect(predicted).toEqual(labels);
    opt.dispose();
    model.dispose();
  });
});

/** avg_pool2d's adjoint: each gy / (kH·kW) added over its window's input elements. */
function referencePoolAdjoint(shape: number[], outShape: number[], gy: number[], k: [number, number], s: [number, number],
  p: [number, number], gx: number[]): void {
  const [N, C, H, W] = shape;
  const [, , OH, OW] = outShape;
  for (let pl = 0; pl < N * C; pl++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        for (let a = 0; a < k[0]; a++) {
          for (let b = 0; b < k[1]; b++) {
            const r = i * s[0] - p[0] + a;
            const q = j * s[1] - p[1] + b;
            if (r >= 0 && r < H && q >= 0 && q < W) gx[(pl * H + r) * W + q] += gy[(pl * OH + i) * OW + j] / (k[0] * k[1]);
          }
        }
      }
    }
  }
}

// Software adapters sum weight gradients one thread per sum; run the workgroup kernel here too (as
// ops.test.ts does for matmul's variants).
// (Groups of 1 run as im2col + matmul: the implicit kernel is forced for this.)
test.runIf(backends.includes('webgpu')).each(['conv2d', 'conv2dBackwardWeight'] as const)(
  '%s on WebGPU with workgroup-reduced weight gradients (the variant hardware GPUs take)', async (name) => {
    Object.assign(conv2dTuning, { softwarePerThread: false, gemm: false });
    try {
      expect(await checkOp(name, 'webgpu')).toEqual([]);
    } finally {
      Object.assign(conv2dTuning, { softwarePerThread: true, gemm: true });
    }
  });

// Groups of 1 take im2col + matmul by default; the implicit kernel runs them when that is off.
test.runIf(backends.includes('webgpu')).each(['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight'] as const)(
  '%s on WebGPU with the implicit kernel for groups of 1 (conv2dTuning.gemm off)', async (name) => {
    conv2dTuning.gemm = false;
    try {
      expect(await checkOp(name, 'webgpu')).toEqual([]);
    } finally {
      conv2dTuning.gemm = true;
    }
  });

// Which kernel runs, and how: im2col + matmul (+ the bias pass) over the whole batch, or in chunks of
// images when the batch's patch matrices exceed gemmMaxBytes, or the implicit kernel when not even
// one image's fit (and for other groups). All three give the same forward and gradients.
test.runIf(backends.includes('webgpu'))('conv2d runs im2col + matmul whole, in chunks past gemmMaxBytes, or implicitly; all agree', async () => {
  await wt.init({ backend: 'webgpu' });
  // 1,024 bytes per image of x and of y: chunks start at bindable (256-byte aligned) offsets.
  const x = wt.randn([5, 4, 8, 8], { seed: 41, requiresGrad: true });
  const w = wt.randn([4, 4, 3, 3], { seed: 42, requiresGrad: true });
  const b = wt.randn([4], { seed: 43 });
  const gy = wt.randn([5, 4, 8, 8], { seed: 46 });
  const colsPerImage = 4 * 3 * 3 * 8 * 8 * 4; // [C·KH·KW, OH·OW] f32
  const run = async (maxBytes: number) => {
    const before = conv2dTuning.gemmMaxBytes;
    conv2dTuning.gemmMaxBytes = maxBytes;
    try {
      wt.flush();
      const start = wt.stats().dispatches;
      const y = F.conv2d(x, w, b, { padding: 1 });
      const dispatches = wt.stats().dispatches - start;
      const [gx, gw] = wt.gradients(y, [x, w], gy, {});
      const data = await Promise.all([y, gx, gw].map(async (t) => Array.from(await t.data())));
      for (const t of [y, gx, gw]) t.dispose();
      return { dispatches, data };
    } finally {
      conv2dTuning.gemmMaxBytes = before;
    }
  };
  const whole = await run(5 * colsPerImage);
  const chunked = await run(2 * colsPerImage); // chunks of 2, 2 and 1 images
  const implicit = await run(colsPerImage - 4);
  expect(whole.dispatches).toBe(3); // im2col, matmul, bias
  expect(chunked.dispatches).toBe(9);
  expect(implicit.dispatches).toBe(1);
  for (const other of [chunked, implicit]) {
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < whole.data[t].length; i++) expect(other.data[t][i]).toBeCloseTo(whole.data[t][i], 4);
    }
  }
  const depthwise = wt.randn([4, 1, 3, 3], { seed: 44 });
  wt.flush();
  const start = wt.stats().dispatches;
  F.conv2d(x.detach(), depthwise, b, { padding: 1, groups: 4 }).dispose();
  expect(wt.stats().dispatches - start).toBe(1);
  for (const t of [x, w, b, gy, depthwise]) t.dispose();
});

describe('cpu, float64', () => {
  test('gradients of gradients through conv2d, maxPool2d and avgPool2d match finite differences', async () => {
    const f64 = { backend: 'cpu' as const, dtype: 'f64' as const };
    const x = wt.tensor(numbers(2 * 2 * 6 * 6, 31), [2, 2, 6, 6], f64);
    const w = wt.tensor(numbers(3 * 2 * 3 * 3, 32), [3, 2, 3, 3], f64);
    const u = wt.tensor(numbers(2 * 2 * 6 * 6, 33), [2, 2, 6, 6], f64);
    const v = wt.tensor(numbers(3 * 2 * 3 * 3, 34), [3, 2, 3, 3], f64);
    const inner = (xi: Tensor, wi: Tensor) => F.avgPool2d(
      F.maxPool2d(F.conv2d(xi, wi, null, { padding: 1, dilation: [1, 2], stride: [1, 1] }).tanh(), { kernelSize: 2 }),
      { kernelSize: 2, stride: 1, padding: 1 }).square().sum();
    // f(x, w) = ⟨∂inner/∂x, u⟩ + ⟨∂inner/∂w, v⟩: its gradient holds the second derivatives.
    const f = (xi: Tensor, wi: Tensor) => {
      const [gx, gw] = wt.grad(inner)(xi, wi);
      return gx.mul(u).sum().add(gw.mul(v).sum());
    };
    const result = await wt.gradcheck(f, [x, w], { eps: 1e-6, atol: 1e-6, rtol: 1e-5 });
    expect(result.ok, JSON.stringify(result.worst)).toBe(true);
  });

  test('conv2d followed by batch normalization: gradients match finite differences', async () => {
    const x = wt.tensor(numbers(3 * 2 * 4 * 4, 41), [3, 2, 4, 4], { backend: 'cpu', dtype: 'f64' });
    const w = wt.tensor(numbers(2 * 2 * 3 * 3, 42), [2, 2, 3, 3], { backend: 'cpu', dtype: 'f64' });
    const gamma = wt.tensor([1.5, 0.5], [2], { backend: 'cpu', dtype: 'f64' });
    const f = (xi: Tensor, wi: Tensor, g: Tensor) =>
      F.batchNorm(F.conv2d(xi, wi, null, { padding: 1 }), null, null, { weight: g, training: true }).tanh();
    const result = await wt.gradcheck(f, [x, w, gamma], { eps: 1e-6, atol: 1e-6, rtol: 1e-5 });
    expect(result.ok, JSON.stringify(result.worst)).toBe(true);
  });
});

describe('modules', () => {
  test('Conv2d initializes as PyTorch: weight and bias U[-b, b], b = 1 / sqrt(inC / groups · kH · kW)', async () => {
    const conv = new nn.Conv2d(6, 8, [3, 2], { groups: 2, seed: 3, backend: 'cpu' });
    expect(conv.weight.shape).toEqual([8, 3, 3, 2]);
    expect(conv.bias!.shape).toEqual([8]);
    const b = 1 / Math.sqrt(3 * 3 * 2);
    const w = await values(conv.weight);
    const bias = await values(conv.bias!);
    for (const v of [...w, ...bias]) expect(Math.abs(v)).toBeLessThanOrEqual(b);
    // Spread over the whole interval: the largest |w| of 144 uniform draws is near b.
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * b);
    // Seeded: reproducible, and the bias is not a copy of the first weights (its own counters).
    const again = new nn.Conv2d(6, 8, [3, 2], { groups: 2, seed: 3, backend: 'cpu' });
    expect(await values(again.weight)).toEqual(w);
    expect(await values(again.bias!)).toEqual(bias);
    expect(bias).not.toEqual(w.slice(0, 8));
    // The next layer's seed (seed + 1) draws other weights than this layer's bias.
    const next = new nn.Conv2d(6, 8, [3, 2], { groups: 2, seed: 4, backend: 'cpu' });
    expect((await values(next.weight)).slice(0, 8)).not.toEqual(bias);
  });

  test('Conv2d with an init name: that initializer for the weight, zero bias; bias: false has none', async () => {
    const conv = new nn.Conv2d(4, 5, 3, { init: 'heUniform', seed: 1, backend: 'cpu' });
    const bound = Math.sqrt(6 / (4 * 9));
    const w = await values(conv.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(1 / Math.sqrt(4 * 9)); // wider than PyTorch's default
    expect(await values(conv.bias!)).toEqual([0, 0, 0, 0, 0]);
    expect(new nn.Conv2d(4, 5, 3, { bias: false, backend: 'cpu' }).bias).toBeNull();
    expect(new nn.Conv2d(4, 5, 3, { bias: false, backend: 'cpu' }).parameters()).toHaveLength(1);
  });

  test('module descriptions follow PyTorch', () => {
    expect(String(new nn.Conv2d(1, 8, 3, { padding: 1, backend: 'cpu' }))).toBe('Conv2d(1, 8, kernel_size=(3, 3), padding=(1, 1))');
    expect(String(new nn.Conv2d(4, 4, [3, 1], { stride: [2, 1], dilation: 2, groups: 4, bias: false, backend: 'cpu' })))
      .toBe('Conv2d(4, 4, kernel_size=(3, 1), stride=(2, 1), dilation=(2, 2), groups=4, bias=False)');
    expect(String(new nn.MaxPool2d(2))).toBe('MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))');
    expect(String(new nn.AvgPool2d(3, { stride: 1, padding: 1 }))).toBe('AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))');
    expect(String(new nn.Unflatten(1, [1, 28, 28]))).toBe('Unflatten(dim=1, unflattened_size=(1, 28, 28))');
  });

  test('Unflatten turns flat rows into images for a Conv2d', async () => {
    const x = wt.arange(2 * 12, undefined, 1, { backend: 'cpu' }).reshape([2, 12]);
    const images = new nn.Unflatten(1, [1, 3, -1]).forward(x);
    expect(images.shape).toEqual([2, 1, 3, 4]);
    expect(await values(images)).toEqual(await values(x));
    expect(() => new nn.Unflatten(1, [5, 5]).forward(x)).toThrow('Unflatten: dim 1 of the input [2, 12] has size 12, which cannot be split into [5, 5]');
  });
});

describe('bad input names the op, the shapes and what was expected', () => {
  const cpu = { backend: 'cpu' as const };
  const x = wt.zeros([2, 3, 8, 8], cpu);
  test.each([
    ['channel mismatch', () => F.conv2d(x, wt.zeros([4, 2, 3, 3], cpu)),
      'conv2d: weight [4, 2, 3, 3] expects 2 input channels (inChannels / groups = 2, groups = 1), but input [2, 3, 8, 8] has 3 (dim 1 of NCHW)'],
    ['groups do not divide the input channels', () => F.conv2d(x, wt.zeros([4, 1, 3, 3], cpu), null, { groups: 2 }),
      'conv2d: input [2, 3, 8, 8] has 3 channels, which groups = 2 does not divide'],
    ['groups do not divide the output channels', () => F.conv2d(wt.zeros([1, 4, 5, 5], cpu), wt.zeros([5, 2, 3, 3], cpu), null, { groups: 2 }),
      'conv2d: weight [5, 2, 3, 3] has 5 output channels, which groups = 2 does not divide'],
    ['input rank', () => F.conv2d(wt.zeros([3, 8], cpu), wt.zeros([4, 3, 3, 3], cpu)),
      'conv2d: input must be 4-D [N, C, H, W] (NCHW), got [3, 8]'],
    ['weight rank', () => F.conv2d(x, wt.zeros([4, 3, 3], cpu)),
      'conv2d: weight must be 4-D [outChannels, inChannels / groups, kH, kW], got [4, 3, 3]'],
    ['kernel larger than the padded input', () => F.conv2d(wt.zeros([1, 1, 2, 2], cpu), wt.zeros([1, 1, 3, 3], cpu)),
      'conv2d: kernel 3x3 of weight [1, 1, 3, 3] is larger than the padded input 2x2 (input [1, 1, 2, 2], padding 0, 0)'],
    ['dilated kernel larger than the padded input', () => F.conv2d(wt.zeros([1, 1, 4, 4], cpu), wt.zeros([1, 1, 3, 3], cpu), null, { dilation: 2 }),
      'conv2d: kernel 3x3 (5x5 with dilation 2, 2) of weight [1, 1, 3, 3] is larger than the padded input 4x4 (input [1, 1, 4, 4], padding 0, 0)'],
    ['stride 0', () => F.conv2d(x, wt.zeros([4, 3, 3, 3], cpu), null, { stride: 0 }),
      'conv2d: stride must be a positive integer or a pair [h, w] of them, got 0'],
    ['negative padding', () => F.conv2d(x, wt.zeros([4, 3, 3, 3], cpu), null, { padding: [1, -1] }),
      'conv2d: padding must be a non-negative integer or a pair [h, w] of them, got [1,-1]'],
    ['bias shape', () => F.conv2d(x, wt.zeros([4, 3, 3, 3], cpu), wt.zeros([3], cpu)),
      'conv2d: bias must be [outChannels] = [4] to match weight [4, 3, 3, 3], got [3]'],
    ['unknown option', () => F.conv2d(x, wt.zeros([4, 3, 3, 3], cpu), null, { pad: 1 } as never),
      "conv2d: unknown option 'pad' (known: stride, padding, dilation, groups)"],
    ['pool padding over half the kernel', () => F.maxPool2d(x, { kernelSize: 2, padding: 2 }),
      'maxPool2d: padding 2, 2 must be at most half the kernel 2x2 (as in PyTorch: every window must hold an input element)'],
    ['pool kernel larger than the input', () => F.avgPool2d(wt.zeros([1, 1, 2, 2], cpu), { kernelSize: 3 }),
      'avgPool2d: kernel 3x3 is larger than the padded input 2x2 (input [1, 1, 2, 2], padding 0, 0)'],
    ['pool stride -1', () => F.avgPool2d(x, { kernelSize: 2, stride: -1 }),
      'avgPool2d: stride must be a positive integer or a pair [h, w] of them, got -1'],
    ['pool input rank', () => F.maxPool2d(wt.zeros([8, 8], cpu), { kernelSize: 2 }),
      'maxPool2d: input must be 4-D [N, C, H, W] (NCHW), got [8, 8]'],
    ['pool without a kernel size', () => F.maxPool2d(x, {} as never), 'maxPool2d: kernelSize is required, e.g. {kernelSize: 2}'],
    ['Conv2d on the wrong channel count', () => new nn.Conv2d(1, 8, 3, cpu).forward(x),
      'Conv2d(1, 8, kernel_size=(3, 3)): expected an input [N, 1, H, W] (or [1, H, W]), got [2, 3, 8, 8]'],
    ['Conv2d on flat rows', () => new nn.Conv2d(1, 8, 3, cpu).forward(wt.zeros([2, 784], cpu)),
      'Conv2d(1, 8, kernel_size=(3, 3)): expected an input [N, 1, H, W] (or [1, H, W]), got [2, 784]; flat images need a reshape to [N, C, H, W] first (e.g. an Unflatten layer)'],
    ['Conv2d groups', () => new nn.Conv2d(3, 8, 3, { groups: 2, backend: 'cpu' }),
      'Conv2d: inChannels (3) and outChannels (8) must both be divisible by groups (2)'],
  ] as [string, () => unknown, string][])('%s', (_, fn, message) => {
    expect(fn).toThrow(message);
  });
});
