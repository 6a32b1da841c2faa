/**
 * Ops that make tensors from nothing but attributes (fill, arange, eye, random draws) and the dtype
 * cast. Random numbers come from Philox4x32-10, counter-based: element i of a draw with (seed,
 * offset) is the same number on the CPU and the GPU.
 */
import type { DType } from '../dtype';
import { fail } from '../errors';
import { checkShape, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { fillNormal, fillUniform } from '../random/philox';
import { elementwiseCpu, elementwiseGpu, elementwiseVariants, wgslType } from './elementwise';
import { FILL_VARIANTS, fillGpu } from './movement';
import type { OpDef } from './op-def';

export interface FillAttrs { shape: number[]; value: number; dtype: DType }

export const fill: OpDef<FillAttrs> = {
  name: 'fill',
  infer: (_, { shape, dtype }) => ({ shape: checkShape('fill', shape), dtype }),
  cpu: ({ out, attrs }) => { out.data.fill(attrs.value); },
  webgpu: ({ gpu, out, attrs }) => fillGpu(gpu, 'fill', out.buffer, numel(out.shape), bitsOf(attrs.value, attrs.dtype)),
  shaderVariants: FILL_VARIANTS,
  samples: [{ inputs: [], attrs: { shape: [3, 4], value: 2.5, dtype: 'f32' } }, { inputs: [], attrs: { shape: [5], value: -7, dtype: 'i32' } }],
};

/** The 32-bit pattern of a value stored as f32 or i32. */
function bitsOf(value: number, dtype: DType): number {
  const buf = new ArrayBuffer(4);
  if (dtype === 'i32') new Int32Array(buf)[0] = value;
  else new Float32Array(buf)[0] = value;
  return new Uint32Array(buf)[0];
}

export interface ArangeAttrs { start: number; step: number; n: number; dtype: DType }

export const arange: OpDef<ArangeAttrs> = {
  name: 'arange',
  infer: (_, { n, dtype }) => ({ shape: checkShape('arange', [n]), dtype }),
  cpu: ({ out, attrs }) => { for (let i = 0; i < attrs.n; i++) out.data[i] = attrs.start + i * attrs.step; },
  webgpu: ({ gpu, out, attrs }) => gpu.dispatch({
    label: 'arange', shader: 'fill', defines: { T: wgslType(attrs.dtype), EYE: false },
    uniforms: new Uniforms().u32(attrs.n).u32(0).f32(attrs.start).f32(attrs.step),
    bindings: [out.buffer], threads: attrs.n,
  }),
  shaderVariants: ['f32', 'i32'].map((T) => ({ shader: 'fill', defines: { T, EYE: false } })),
  samples: [{ inputs: [], attrs: { start: 0, step: 1, n: 7, dtype: 'f32' } }, { inputs: [], attrs: { start: 3, step: -2, n: 5, dtype: 'i32' } }],
};

export interface EyeAttrs { n: number; m: number; dtype: DType }

export const eye: OpDef<EyeAttrs> = {
  name: 'eye',
  infer: (_, { n, m, dtype }) => ({ shape: checkShape('eye', [n, m]), dtype }),
  cpu: ({ out, attrs }) => { for (let i = 0; i < attrs.n * attrs.m; i++) out.data[i] = Math.floor(i / attrs.m) === i % attrs.m ? 1 : 0; },
  webgpu: ({ gpu, out, attrs }) => gpu.dispatch({
    label: 'eye', shader: 'fill', defines: { T: wgslType(attrs.dtype), EYE: true },
    uniforms: new Uniforms().u32(attrs.n * attrs.m).u32(attrs.m).f32(0).f32(0),
    bindings: [out.buffer], threads: attrs.n * attrs.m,
  }),
  shaderVariants: ['f32', 'i32'].map((T) => ({ shader: 'fill', defines: { T, EYE: true } })),
  samples: [{ inputs: [], attrs: { n: 3, m: 4, dtype: 'f32' } }],
};

export interface RandomAttrs {
  shape: number[];
  dtype: DType;
  dist: 'uniform' | 'normal';
  /** uniform: [a, b); normal: mean a, standard deviation b. */
  a: number;
  b: number;
  seed: number;
  offset: number;
}

function words(v: number): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) fail('random', `seed and offset must be non-negative integers below 2^53, got ${v}`);
  return [v >>> 0, Math.floor(v / 2 ** 32) >>> 0];
}

export const random: OpDef<RandomAttrs> = {
  name: 'random',
  random: true,
  infer: (_, { shape, dtype }) => {
    if (dtype === 'i32') fail('random', 'draws floats; got dtype i32');
    return { shape: checkShape('random', shape), dtype };
  },
  cpu: ({ out, attrs }) => {
    const o = out.data as Float32Array | Float64Array;
    if (attrs.dist === 'uniform') fillUniform(o, attrs.seed, attrs.offset, attrs.a, attrs.b);
    else fillNormal(o, attrs.seed, attrs.offset, attrs.a, attrs.b);
  },
  webgpu: ({ gpu, out, attrs }) => {
    const n = numel(out.shape);
    const [s0, s1] = words(attrs.seed);
    const [o0, o1] = words(attrs.offset);
    gpu.dispatch({
      label: 'random', shader: 'random', defines: { NORMAL: attrs.dist === 'normal' },
      uniforms: new Uniforms().u32(n).u32(s0).u32(s1).u32(o0).u32(o1).f32(attrs.a).f32(attrs.b),
      bindings: [out.buffer], threads: n,
    });
  },
  shaderVariants: [false, true].map((NORMAL) => ({ shader: 'random', defines: { NORMAL } })),
  samples: [
    { inputs: [], attrs: { shape: [4, 8], dtype: 'f32', dist: 'uniform', a: -1, b: 3, seed: 7, offset: 0 } },
    { inputs: [], attrs: { shape: [300], dtype: 'f32', dist: 'normal', a: 1, b: 2, seed: 2 ** 40 + 3, offset: 2 ** 33 } },
  ],
  tolerance: { atol: 1e-5, rtol: 1e-5 },
};

export interface CastAttrs { dtype: DType }

export const cast: OpDef<CastAttrs> = {
  name: 'cast',
  infer: ([x], { dtype }) => ({ shape: [...x.shape], dtype }),
  // Float to int truncates toward zero (WGSL's conversion and Int32Array's store both do).
  cpu: (args) => elementwiseCpu(args, (v) => (args.attrs.dtype === 'i32' ? Math.trunc(v[0]) : v[0])),
  webgpu: (args) => elementwiseGpu('cast', { ...args, attrs: {} }, `${wgslType(args.attrs.dtype)}(a)`),
  shaderVariants: [...elementwiseVariants('i32(a)', [['f32']], 'i32'), ...elementwiseVariants('f32(a)', [['i32']], 'f32')],
  // Between float types the gradient is cast back; ints carry none.
  vjp: ({ inputs: [x], attrs }, gy) => [attrs.dtype === 'i32' ? null : gy.cast(x.dtype)],
  samples: [
    { inputs: [{ shape: [6], values: [-2.7, -0.5, 0, 0.5, 1.9, 3] }], attrs: { dtype: 'i32' }, noGrad: true },
    { inputs: [{ shape: [4], dtype: 'i32', intBelow: 100 }], attrs: { dtype: 'f32' } },
  ],
};
