/**
 * Inverted dropout (PyTorch's `F.dropout` in training mode): y = x * keep / (1 - p), each element
 * kept with probability 1 - p. keep_i = uniformAt(i, seed, offset) >= p, from the Philox stream of
 * the random op (src/random/philox.ts, shaders/common/philox.wgsl), so the CPU and the GPU drop the
 * same elements for the same (seed, offset). The mask is never stored: the vjp is the same dropout
 * applied to gy, which recomputes it. p = 0 is the identity, p = 1 gives zeros.
 */
import { fail } from '../errors';
import { numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { fillUniform, splitU53 } from '../random/philox';
import { apply } from '../runtime';
import { checkDtype } from './elementwise';
import type { OpDef } from './op-def';

export interface DropoutAttrs {
  /** Probability of zeroing an element, in [0, 1]. */
  p: number;
  /** The Philox stream (seed, offset) the mask is drawn from: integers in [0, 2^53). */
  seed: number;
  offset: number;
}

const TWO_POW_24 = 16777216;

/** The `dropout` op row (training mode; eval mode never reaches it, see src/nn/dropout.ts). */
export const dropout: OpDef<DropoutAttrs> = {
  name: 'dropout',
  random: true,
  infer: ([x], { p, seed, offset }) => {
    checkDtype('dropout', x, false);
    if (!(p >= 0 && p <= 1)) fail('dropout', `p is the probability of dropping an element and must be in [0, 1], got ${p}`);
    for (const [name, v] of [['seed', seed], ['offset', offset]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) fail('dropout', `${name} must be an integer in [0, 2^53), got ${v}`);
    }
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: ({ inputs: [x], out, attrs: { p, seed, offset } }) => {
    const u = fillUniform(new Float64Array(x.data.length), seed, offset);
    const scale = scaleOf(p);
    for (let i = 0; i < u.length; i++) out.data[i] = x.data[i] * (u[i] >= p ? scale : 0);
  },
  webgpu: ({ gpu, inputs: [x], out, attrs: { p, seed, offset } }) => {
    const n = numel(x.shape);
    const [s0, s1] = splitU53(seed);
    const [o0, o1] = splitU53(offset);
    // uniformAt is a multiple of 2^-24, so u >= p  <=>  u >= ceil(p 2^24) 2^-24, which f32 holds exactly.
    const pGrid = Math.ceil(p * TWO_POW_24) / TWO_POW_24;
    gpu.dispatch({
      label: 'dropout', shader: 'dropout', defines: {},
      uniforms: new Uniforms().u32(n).u32(s0).u32(s1).u32(o0).u32(o1).f32(pGrid).f32(scaleOf(p)),
      bindings: [out.buffer, x.buffer], threads: n,
    });
  },
  // y = x * m with the fixed mask m = keep / (1 - p):  dx = m * dy, the same dropout applied to dy.
  vjp: ({ attrs }, gy) => [apply(dropout, [gy], attrs)],
  shaderVariants: [{ shader: 'dropout', defines: {} }],
  samples: [
    { inputs: [{ shape: [4, 8] }], attrs: { p: 0.3, seed: 5, offset: 0 } },
    { inputs: [{ shape: [300] }], attrs: { p: 0.5, seed: 2 ** 40 + 3, offset: 2 ** 33 + 7 }, note: 'seed and offset above 2^32' },
    { inputs: [{ shape: [2, 3, 5] }], attrs: { p: 0.9, seed: 1, offset: 12 } },
    { inputs: [{ shape: [3, 4] }], attrs: { p: 0, seed: 5, offset: 0 }, note: 'p = 0: identity' },
    { inputs: [{ shape: [3, 4] }], attrs: { p: 1, seed: 5, offset: 0 }, note: 'p = 1: zeros' },
    { inputs: [{ shape: [4], values: [NaN, 1, -2, 3] }], attrs: { p: 0.5, seed: 3, offset: 0 }, noGrad: true, note: 'NaN stays NaN' },
  ],
};

/** The kept elements' factor 1 / (1 - p); 0 for p = 1 (everything dropped, as PyTorch). */
function scaleOf(p: number): number {
  return p >= 1 ? 0 : 1 / (1 - p);
}
