/** Binary elementwise ops with NumPy/PyTorch broadcasting, and `where`. */
import { fail, fmtShape } from '../errors';
import { broadcastShapes } from '../shape';
import { binary, checkSameDtype, elementwiseCpu, elementwiseGpu, elementwiseVariants, unbroadcast, type ElementwiseAttrs } from './elementwise';
import type { OpDef, Sample } from './op-def';
import { where as whereFn, reluGrad as reluGradFn, tanhGrad as tanhGradFn, sigmoidGrad as sigmoidGradFn } from './functional';

/** The broadcasting cases every binary op is tested on. */
const broadcastSamples = (range: [number, number] = [-2, 2], rangeB = range): Sample<ElementwiseAttrs>[] => [
  { inputs: [{ shape: [3, 4], range }, { shape: [3, 4], range: rangeB }] },
  { inputs: [{ shape: [2, 3, 4], range }, { shape: [4], range: rangeB }] },
  { inputs: [{ shape: [3, 1], range }, { shape: [1, 4], range: rangeB }] },
  { inputs: [{ shape: [2, 1, 3], range }, { shape: [4, 1], range: rangeB }] },
  { inputs: [{ shape: [5], range }, { shape: [], range: rangeB }] },
  { inputs: [{ shape: [1], range }, { shape: [2, 3], range: rangeB }] },
];

const nanSample: Sample<ElementwiseAttrs> = {
  inputs: [{ shape: [3], values: [NaN, 1, 2] }, { shape: [3], values: [0, NaN, 1] }], noGrad: true, note: 'NaN propagates',
};

export const add = binary({
  name: 'add', wgsl: 'a + b', cpu: (a, b) => a + b, ints: true,
  // d(a + b) = da + db
  vjp: (_, gy) => [gy, gy],
  samples: broadcastSamples(),
});

export const sub = binary({
  name: 'sub', wgsl: 'a - b', cpu: (a, b) => a - b, ints: true,
  // d(a - b) = da - db
  vjp: (_, gy) => [gy, gy.neg()],
  samples: broadcastSamples(),
});

export const mul = binary({
  name: 'mul', wgsl: 'a * b', cpu: (a, b) => a * b, ints: true,
  // d(ab) = b da + a db
  vjp: ({ a, b }, gy) => [gy.mul(b), gy.mul(a)], save: 'inputs',
  samples: broadcastSamples(),
});

export const div = binary({
  name: 'div', wgsl: 'a / b', cpu: (a, b) => a / b,
  // d(a / b) = da / b - a db / b^2 = (da - y db) / b
  vjp: ({ b, y }, gy) => [gy.div(b), gy.mul(y).div(b).neg()], save: 'both',
  samples: broadcastSamples([-2, 2], [0.5, 2]),
});

export const pow = binary({
  name: 'pow',
  wgsl: 'powReal(a, b)', // WGSL pow is undefined for a < 0; powReal handles integer exponents like PyTorch
  cpu: Math.pow,
  // d a^b = b a^(b-1) da + a^b ln(a) db, with PyTorch's masks: the first term is 0 where b = 0,
  // the second 0 where a = 0 and b >= 0 (and NaN for a < 0, as ln(a) is).
  vjp: ({ a, b, y }, gy) => [
    whereFn(b.eq(0), 0, gy.mul(b).mul(a.pow(b.sub(1)))),
    whereFn(a.eq(0).mul(b.ge(0)), 0, gy.mul(y).mul(a.log())),
  ],
  save: 'both',
  samples: [
    ...broadcastSamples([0.5, 2], [-2, 2]),
    { inputs: [{ shape: [4], values: [-2, -1.5, 0, 3] }, { shape: [4], values: [3, 2, 2, 0] }], noGrad: true, note: 'negative base, integer exponent' },
    { inputs: [{ shape: [3], values: [0, 0, 2] }, { shape: [3], values: [0, 2, 0] }], noGrad: true, note: '0^0 = 1' },
    { inputs: [{ shape: [3], values: [0, 0, 0] }, { shape: [3], values: [0.5, 3, -1] }], noGrad: true, note: '0^y: 0 for y > 0, Inf for y < 0' },
  ],
});

// The backward of the activations, one kernel each instead of 2-4 (a = gy, b = the activation's
// output y, or its input for relu: the sign is the same): gy · act'(x) with act' written in y.
// Their own vjps make them differentiable again (Hessian-vector products through an MLP).
export const reluGrad = binary({
  // relu' = [y > 0]; NaN in y gives 0 like PyTorch's threshold_backward.
  name: 'reluGrad', wgsl: 'select(0.0, a, b > 0.0)', cpu: (g, y) => (y > 0 ? g : 0),
  // d/dgy = [y > 0]; d/dy = 0 (almost everywhere)
  vjp: ({ b }, gg) => [reluGradFn(gg, b), null], save: 'inputs',
  samples: [
    ...broadcastSamples([-2, 2], [0.1, 2]),
    { inputs: [{ shape: [3, 4] }, { shape: [3, 4], range: [-2, -0.1] }], note: 'y < 0: no gradient' },
    { inputs: [{ shape: [4] }, { shape: [4], values: [-1, 0, NaN, 2] }], noGrad: true, note: 'y = 0 and NaN give 0' },
  ],
});

export const tanhGrad = binary({
  // tanh' = 1 - y²
  name: 'tanhGrad', wgsl: 'a * (1.0 - b * b)', cpu: (g, y) => g * (1 - y * y),
  // d/dgy = 1 - y²; d/dy = -2 gy y
  vjp: ({ a, b }, gg) => [tanhGradFn(gg, b), gg.mul(a).mul(b).mul(-2)], save: 'inputs',
  samples: broadcastSamples([-2, 2], [-0.95, 0.95]),
});

export const sigmoidGrad = binary({
  // sigmoid' = y (1 - y)
  name: 'sigmoidGrad', wgsl: 'a * b * (1.0 - b)', cpu: (g, y) => g * y * (1 - y),
  // d/dgy = y (1 - y); d/dy = gy (1 - 2y)
  vjp: ({ a, b }, gg) => [sigmoidGradFn(gg, b), gg.mul(a).mul(b.mul(-2).add(1))], save: 'inputs',
  samples: broadcastSamples([-2, 2], [0.02, 0.98]),
});

export const maximum = binary({
  // NaN in either input gives NaN, as in PyTorch (a + b is NaN then).
  name: 'maximum', wgsl: 'select(max(a, b), a + b, isNanT(a) || isNanT(b))', cpu: Math.max, ints: true,
  // Gradient to the larger input; split in half on ties (as PyTorch)
  vjp: ({ a, b }, gy) => {
    const half = a.eq(b).mul(0.5);
    return [gy.mul(a.gt(b).add(half)), gy.mul(b.gt(a).add(half))];
  },
  save: 'inputs',
  samples: [...broadcastSamples(), nanSample],
});

export const minimum = binary({
  name: 'minimum', wgsl: 'select(min(a, b), a + b, isNanT(a) || isNanT(b))', cpu: Math.min, ints: true,
  // Gradient to the smaller input; split in half on ties (as PyTorch)
  vjp: ({ a, b }, gy) => {
    const half = a.eq(b).mul(0.5);
    return [gy.mul(a.lt(b).add(half)), gy.mul(b.lt(a).add(half))];
  },
  save: 'inputs',
  samples: [...broadcastSamples(), nanSample],
});

/** Comparisons give 0/1 masks in the inputs' dtype; they carry no gradient. */
function comparison(name: string, wgslOp: string, cpu: (a: number, b: number) => boolean): OpDef<ElementwiseAttrs> {
  return binary({
    name, wgsl: `select(T(0), T(1), a ${wgslOp} b)`, cpu: (a, b) => (cpu(a, b) ? 1 : 0), ints: true,
    samples: [
      ...broadcastSamples().slice(0, 3),
      { inputs: [{ shape: [4], values: [1, 2, 3, 4] }, { shape: [4], values: [1, 3, 3, 2] }], note: 'ties' },
    ],
  });
}

export const eq = comparison('eq', '==', (a, b) => a === b);
export const ne = comparison('ne', '!=', (a, b) => a !== b);
export const lt = comparison('lt', '<', (a, b) => a < b);
export const le = comparison('le', '<=', (a, b) => a <= b);
export const gt = comparison('gt', '>', (a, b) => a > b);
export const ge = comparison('ge', '>=', (a, b) => a >= b);

const WHERE_EXPR = 'select(c, b, a != M(0))';

/** where(mask, a, b): a where mask is non-zero, else b; the three broadcast together. */
export const where: OpDef<ElementwiseAttrs> = {
  name: 'where',
  infer: ([m, a, b]) => {
    checkSameDtype('where', a, b);
    if (m.dtype === 'f64' && a.dtype !== 'f64') fail('where', `mask dtype f64 with values ${a.dtype} ${fmtShape(a.shape)}`);
    return { shape: broadcastShapes('where', m.shape, a.shape, b.shape), dtype: a.dtype };
  },
  cpu: (args) => elementwiseCpu(args, (v) => (v[0] !== 0 ? v[1] : v[2])),
  webgpu: (args) => elementwiseGpu('where', args, WHERE_EXPR),
  shaderVariants: elementwiseVariants(WHERE_EXPR, [['f32', 'f32', 'f32'], ['i32', 'f32', 'f32'], ['f32', 'i32', 'i32'], ['i32', 'i32', 'i32']]),
  // d where(m, a, b) = where(m, da, 0) + where(m, 0, db)
  vjp: ({ inputs: [m, a, b] }, gy) => [
    null,
    unbroadcast(whereFn(m, gy, 0), a.shape),
    unbroadcast(whereFn(m, 0, gy), b.shape),
  ],
  save: 'inputs',
  differentiable: [1, 2],
  samples: [
    { inputs: [{ shape: [3, 4], intBelow: 2 }, { shape: [3, 4] }, { shape: [3, 4] }] },
    { inputs: [{ shape: [3, 1], intBelow: 2 }, { shape: [1, 4] }, { shape: [] }] },
  ],
};
