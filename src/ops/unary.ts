/** Unary elementwise ops. Each vjp is written with ops, the derivative in the comment above it. */
import { erf as erfCpu } from '../backend/cpu/special';
import { unary } from './elementwise';
import { reluGrad, sigmoidGrad, tanhGrad } from './functional';

const randomSample = (range: [number, number] = [-2, 2]) => ({ inputs: [{ shape: [3, 5], range }] });

export const neg = unary({
  name: 'neg', wgsl: '-a', cpu: (a) => -a, ints: true,
  // d(-x) = -dx
  vjp: (_, gy) => gy.neg(),
  samples: [randomSample(), { inputs: [{ shape: [4], dtype: 'i32', intBelow: 9 }] }],
});

export const abs = unary({
  name: 'abs', wgsl: 'abs(a)', cpu: Math.abs, ints: true,
  // d|x| = sign(x) dx
  vjp: ({ x }, gy) => gy.mul(x.sign()), save: 'inputs',
  samples: [randomSample()],
});

export const sign = unary({
  name: 'sign', wgsl: 'sign(a)', cpu: Math.sign, ints: true,
  // sign is flat almost everywhere: zero gradient (as PyTorch)
  vjp: (_, gy) => gy.mul(0),
  samples: [randomSample(), { inputs: [{ shape: [3], values: [-1.5, 0, 2] }], noGrad: true, note: 'at the jump: forward only' }],
});

export const exp = unary({
  name: 'exp', wgsl: 'exp(a)', cpu: Math.exp,
  // d e^x = e^x dx = y dx
  vjp: ({ y }, gy) => gy.mul(y), save: 'output',
  samples: [randomSample()],
});

export const log = unary({
  name: 'log', wgsl: 'logReal(a)', cpu: Math.log, // WGSL's log is undefined for a <= 0: logReal gives -Inf and NaN
  // d ln x = dx / x
  vjp: ({ x }, gy) => gy.div(x), save: 'inputs',
  samples: [randomSample([0.2, 3]), { inputs: [{ shape: [4], values: [-1, 0, 0.5, 2] }], noGrad: true, note: 'NaN below 0, -Inf at 0' }],
});

export const sqrt = unary({
  name: 'sqrt', wgsl: 'sqrt(a)', cpu: Math.sqrt,
  // d sqrt(x) = dx / (2 sqrt(x)) = dx / (2y)
  vjp: ({ y }, gy) => gy.div(y.mul(2)), save: 'output',
  samples: [randomSample([0.2, 3])],
});

export const square = unary({
  name: 'square', wgsl: 'a * a', cpu: (a) => a * a, ints: true,
  // d x^2 = 2x dx
  vjp: ({ x }, gy) => gy.mul(x.mul(2)), save: 'inputs',
  samples: [randomSample()],
});

export const reciprocal = unary({
  name: 'reciprocal', wgsl: '1.0 / a', cpu: (a) => 1 / a,
  // d (1/x) = -dx / x^2 = -y^2 dx
  vjp: ({ y }, gy) => gy.mul(y.square()).neg(), save: 'output',
  samples: [randomSample([0.3, 3]), randomSample([-3, -0.3])],
});

export const relu = unary({
  // NaN stays NaN, as in PyTorch.
  name: 'relu', wgsl: 'select(max(a, 0.0), a, isNanT(a))', cpu: (a) => (a <= 0 ? 0 : a),
  // d relu(x) = [x > 0] dx
  vjp: ({ x }, gy) => reluGrad(gy, x), save: 'inputs',
  samples: [randomSample(), { inputs: [{ shape: [3], values: [NaN, -1, 2] }], noGrad: true, note: 'NaN propagates' }],
});

export const leakyRelu = unary({
  name: 'leakyRelu', wgsl: 'select(alpha * a, a, a > 0.0)', cpu: (a, alpha) => (a > 0 ? a : alpha * a),
  // d leakyRelu(x) = (x > 0 ? 1 : alpha) dx
  vjp: ({ x, attrs }, gy) => gy.mul(x.gt(0).mul(1 - attrs.alpha!).add(attrs.alpha!)), save: 'inputs',
  samples: [{ inputs: [{ shape: [3, 5] }], attrs: { alpha: 0.1 } }],
});

export const sigmoid = unary({
  name: 'sigmoid',
  // Two branches so that exp never overflows into inf/inf.
  wgsl: 'select(exp(a) / (1.0 + exp(a)), 1.0 / (1.0 + exp(-a)), a >= 0.0)',
  cpu: (a) => (a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a))),
  // d sigmoid(x) = y (1 - y) dx
  vjp: ({ y }, gy) => sigmoidGrad(gy, y), save: 'output',
  samples: [randomSample([-6, 6]), { inputs: [{ shape: [4], values: [-100, -20, 20, 100] }] }],
});

export const tanh = unary({
  name: 'tanh',
  wgsl: 'tanhSafe(a)', // builtin tanh returns NaN for |x| > ~44 on some drivers
  cpu: Math.tanh,
  // d tanh(x) = (1 - y^2) dx
  vjp: ({ y }, gy) => tanhGrad(gy, y), save: 'output',
  samples: [randomSample([-3, 3]), { inputs: [{ shape: [3], values: [-45, 44, 45] }] }],
});

export const erf = unary({
  name: 'erf', wgsl: 'erfApprox(a)', cpu: erfCpu,
  // d erf(x) = 2/sqrt(pi) e^{-x^2} dx
  vjp: ({ x }, gy) => gy.mul(x.square().neg().exp().mul(2 / Math.sqrt(Math.PI))), save: 'inputs',
  samples: [randomSample([-3, 3])],
});

export const gelu = unary({
  name: 'gelu',
  // The exact (erf) GELU, PyTorch's default: x * Phi(x), Phi the standard normal CDF.
  wgsl: '0.5 * a * (1.0 + erfApprox(a * 0.7071067811865476))',
  cpu: (a) => 0.5 * a * (1 + erfCpu(a * Math.SQRT1_2)),
  // d gelu(x) = (Phi(x) + x phi(x)) dx, phi(x) = e^{-x^2/2} / sqrt(2 pi)
  vjp: ({ x }, gy) => {
    const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
    const pdf = x.square().mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
    return gy.mul(cdf.add(x.mul(pdf)));
  },
  save: 'inputs',
  samples: [randomSample([-3, 3])],
});

export const softplus = unary({
  name: 'softplus',
  // PyTorch's softplus (beta 1, threshold 20): x above 20, else log(1 + e^x).
  wgsl: 'select(log1pSafe(exp(a)), a, a > 20.0)',
  cpu: (a) => (a > 20 ? a : Math.log1p(Math.exp(a))),
  // d softplus(x) = sigmoid(x) dx
  vjp: ({ x }, gy) => gy.mul(x.sigmoid()), save: 'inputs',
  samples: [randomSample([-5, 5]), { inputs: [{ shape: [4], values: [-30, -16, 25, 40] }] }],
});
