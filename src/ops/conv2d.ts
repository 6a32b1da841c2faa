/**
 * 2-D convolution on NCHW tensors with PyTorch's semantics (`F.conv2d`: stride, zero padding,
 * dilation, groups; weight [outC, inC / groups, kH, kW]), as three ops that close under
 * differentiation. All three are derivatives of one bilinear form, B(x, w, gy) = ⟨conv2d(x, w), gy⟩:
 *   conv2d(x, w, b?)              y = x ⋆ w (+ b per output channel)
 *   conv2dBackwardInput(gy, w)    gx = ∂B/∂x, the transposed convolution of gy (attrs: inputSize)
 *   conv2dBackwardWeight(x, gy)   gw = ∂B/∂w, the correlation of x with gy  (attrs: kernelSize)
 * so each vjp is one of the three again (see the vjps), and gradients of gradients work.
 *
 * CPU: im2col (the cpg·kH·kW × oH·oW patch matrix of one image and group) and the packed float64
 * GEMM of matmul.ts, so the convolution runs at matmul speed and skips the zeros of MNIST pixels
 * and of ReLU / max-pool gradients; each output is one float64 sum, rounded once when stored.
 * WebGPU, groups of 1 (the common convolution): the same GEMM form through the matmul kernels, the
 * patch matrices of chunks of the batch built and folded back by shaders/im2col.wgsl (convGemmGpu): on
 * an H100 the implicit kernel's passes took 3–14× the time of these GEMMs. Other groups, and images
 * whose patch matrices alone exceed conv2dTuning.gemmMaxBytes: shaders/conv2d.wgsl, implicit GEMM,
 * one thread per pixel and block of 4 channels; its weight gradient, whose sums run over the batch
 * and the whole output plane, takes a workgroup per sum when those are long (on hardware GPUs).
 */
import { fail, fmtShape } from '../errors';
import { apply } from '../runtime';
import { Uniforms } from '../backend/webgpu/uniforms';
import { checkDtype, checkSameDtype } from './elementwise';
import { gemmPackedCpu, matmul, packCpuA, packCpuB, releaseCpuScratch } from './matmul';
import { reduceGpu } from './reduce';
import type { GpuTensor, OpDef, Sample, ShaderVariant, TensorMeta } from './op-def';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';

/** A pair of per-dimension values: [height, width]. */
export type Pair = [number, number];

/** Attributes of conv2d, as PyTorch's F.conv2d (pairs; wt.nn.functional.conv2d also takes numbers). */
export interface Conv2dAttrs {
  stride: Pair;
  /** Zeros added on each side: [top and bottom, left and right]. */
  padding: Pair;
  dilation: Pair;
  groups: number;
}

/** conv2dBackwardInput: the conv2d attributes and the input's [H, W] (not implied by the output when the stride skips rows). */
export interface Conv2dBackwardInputAttrs extends Conv2dAttrs {
  inputSize: Pair;
}

/** conv2dBackwardWeight: the conv2d attributes and the kernel's [kH, kW]. */
export interface Conv2dBackwardWeightAttrs extends Conv2dAttrs {
  kernelSize: Pair;
}

/**
 * Kernel choices, mutable so tests can run every variant on any adapter (as WebGPUBackend.tuning).
 * Weight-gradient sums over more than `perThreadTerms` (image, output pixel) terms take a workgroup
 * each, tree-reduced, except on software adapters when `softwarePerThread`: SwiftShader emulates
 * workgroup barriers at a high cost, and one thread per sum is ~3x faster there ([8, 16, 28, 28] → 32).
 * `gemm`: groups of 1 run as im2col + matmul (convGemmGpu), in chunks of images whose patch
 * matrices take at most `gemmMaxBytes` (and fit a storage binding); the implicit kernel runs a pass
 * when not even one chunk fits (or a weight gradient's per-image products do not).
 */
export const conv2dTuning = { perThreadTerms: 256, softwarePerThread: true, gemm: true, gemmMaxBytes: 256 * 2 ** 20 };

/** Channels per thread when a group has at least that many (see shaders/conv2d.wgsl). */
const BLOCK_SIZE = 4;

/** The passes of shaders/im2col.wgsl (convGemmGpu). */
type PatchPass = 'IM2COL' | 'COL2IM' | 'ADD_BIAS';
const patchDefines = (mode: PatchPass) => ({ IM2COL: mode === 'IM2COL', COL2IM: mode === 'COL2IM' });
const PATCH_VARIANTS: ShaderVariant[] = (['IM2COL', 'COL2IM', 'ADD_BIAS'] as const).map((mode) => ({ shader: 'im2col', defines: patchDefines(mode) }));

/** Every size the kernels need: input [N, C, H, W], weight [OC, cpg, KH, KW], output [N, OC, OH, OW]. */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  OC: number; OH: number; OW: number; KH: number; KW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  groups: number;
  /** Input and output channels per group. */
  cpg: number; opg: number;
}

/**
 * Checks a convolution's attributes and shapes (naming `op`) and returns its geometry. The output
 * size is PyTorch's: OH = floor((H + 2·ph - dh·(KH - 1) - 1) / sh) + 1.
 */
export function convGeometry(op: string, xShape: readonly number[], wShape: readonly number[], attrs: Conv2dAttrs): ConvGeometry {
  checkPair(op, 'stride', attrs.stride, 1);
  checkPair(op, 'padding', attrs.padding, 0);
  checkPair(op, 'dilation', attrs.dilation, 1);
  if (!Number.isInteger(attrs.groups) || attrs.groups < 1) fail(op, `groups must be a positive integer, got ${attrs.groups}`);
  if (xShape.length !== 4) fail(op, `input must be 4-D [N, C, H, W] (NCHW), got ${fmtShape(xShape)}`);
  if (wShape.length !== 4) fail(op, `weight must be 4-D [outChannels, inChannels / groups, kH, kW], got ${fmtShape(wShape)}`);
  const [N, C, H, W] = xShape;
  const [OC, cpg, KH, KW] = wShape;
  const groups = attrs.groups;
  if (C % groups !== 0) fail(op, `input ${fmtShape(xShape)} has ${C} channels, which groups = ${groups} does not divide`);
  if (OC % groups !== 0) fail(op, `weight ${fmtShape(wShape)} has ${OC} output channels, which groups = ${groups} does not divide`);
  if (cpg * groups !== C) {
    fail(op, `weight ${fmtShape(wShape)} expects ${cpg * groups} input channels (inChannels / groups = ${cpg}, groups = ${groups}), ` +
      `but input ${fmtShape(xShape)} has ${C} (dim 1 of NCHW)`);
  }
  if (KH < 1 || KW < 1) fail(op, `weight ${fmtShape(wShape)} has an empty kernel (expected kH, kW >= 1)`);
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  const [dh, dw] = attrs.dilation;
  const ekh = dh * (KH - 1) + 1;
  const ekw = dw * (KW - 1) + 1;
  if (H + 2 * ph < ekh || W + 2 * pw < ekw) {
    const dilated = dh === 1 && dw === 1 ? '' : ` (${ekh}x${ekw} with dilation ${dh}, ${dw})`;
    fail(op, `kernel ${KH}x${KW}${dilated} of weight ${fmtShape(wShape)} is larger than the padded input ` +
      `${H + 2 * ph}x${W + 2 * pw} (input ${fmtShape(xShape)}, padding ${ph}, ${pw})`);
  }
  const OH = Math.floor((H + 2 * ph - ekh) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - ekw) / sw) + 1;
  return { N, C, H, W, OC, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups, cpg, opg: OC / groups };
}

/** The conv2d attributes alone (the backward ops' attrs carry one more field). */
export const convAttrs = ({ stride, padding, dilation, groups }: Conv2dAttrs): Conv2dAttrs => ({ stride, padding, dilation, groups });

/** Throws unless v is a pair of integers >= min (the functional API turns numbers into pairs first). */
export function checkPair(op: string, name: string, v: unknown, min: number): asserts v is Pair {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= min)) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    fail(op, `${name} must be ${what} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
}

/** y [N, OC, OH, OW] = x ⋆ w (+ b): PyTorch's F.conv2d. Inputs x, weight and an optional bias [OC]. */
export const conv2d: OpDef<Conv2dAttrs> = {
  name: 'conv2d',
  infer: (inputs, attrs) => {
    const [x, w, b] = inputs;
    if (inputs.length < 2 || inputs.length > 3) fail('conv2d', `takes x, weight and an optional bias, got ${inputs.length} inputs`);
    checkDtype('conv2d', x, false);
    checkSameDtype('conv2d', ...inputs);
    const g = convGeometry('conv2d', x.shape, w.shape, attrs);
    if (b && (b.shape.length !== 1 || b.shape[0] !== g.OC)) {
      fail('conv2d', `bias must be [outChannels] = [${g.OC}] to match weight ${fmtShape(w.shape)}, got ${fmtShape(b.shape)}`);
    }
    return { shape: [g.N, g.OC, g.OH, g.OW], dtype: x.dtype };
  },
  cpu: ({ inputs: [x, w, b], out, attrs }) => {
    const g = convGeometry('conv2d', x.shape, w.shape, attrs);
    // The bias rides in the GEMM as one more patch row of ones against a weight column of biases, so
    // it joins each float64 sum and the GEMM stores y directly, rounded once.
    const Kw = g.cpg * g.KH * g.KW;
    const K = Kw + (b ? 1 : 0);
    const P = g.OH * g.OW;
    const col = new Float64Array(K * P);
    if (b) col.fill(1, Kw * P);
    const wb = new Float64Array(g.opg * K);
    for (let gi = 0; gi < g.groups; gi++) {
      for (let o = 0; o < g.opg; o++) {
        const oc = gi * g.opg + o;
        wb.set(w.data.subarray(oc * Kw, (oc + 1) * Kw), o * K);
        if (b) wb[o * K + Kw] = b.data[oc];
      }
      packCpuA(wb, 0, K, 1, g.opg, K); // [W_g | b_g], shared by every image
      for (let n = 0; n < g.N; n++) {
        im2col(x.data, (n * g.C + gi * g.cpg) * g.H * g.W, g, col);
        packCpuB(col, 0, P, 1, K, P);
        gemmPackedCpu(g.opg, K, P, out.data, (n * g.OC + gi * g.opg) * P, null);
      }
    }
    releaseCpuScratch();
  },
  webgpu: ({ gpu, inputs, out, attrs }) =>
    convGpu(gpu, 'FORWARD', convGeometry('conv2d', inputs[0].shape, inputs[1].shape, attrs), out, inputs, inputs.length === 3),
  // B(x, w, gy) = ⟨conv2d(x, w), gy⟩ is bilinear in x and w:
  //   gx = ∂B/∂x = conv2dBackwardInput(gy, w),  gw = ∂B/∂w = conv2dBackwardWeight(x, gy),
  //   gb = Σ gy over the batch and spatial dims.
  vjp: ({ inputs: [x, w, b], attrs, needsGrad }, gy) => {
    const conv = convAttrs(attrs);
    const gx = needsGrad[0] ? apply(conv2dBackwardInput, [gy, w], { ...conv, inputSize: [x.shape[2], x.shape[3]] }) : null;
    const gw = needsGrad[1] ? apply(conv2dBackwardWeight, [x, gy], { ...conv, kernelSize: [w.shape[2], w.shape[3]] }) : null;
    return b ? [gx, gw, needsGrad[2] ? gy.sum([0, 2, 3]) : null] : [gx, gw];
  },
  save: 'inputs',
  shaderVariants: [...[false, true].flatMap((bias) => [false, true].map((block) => ({ shader: 'conv2d', defines: convDefines('FORWARD', { bias, block }) }))),
    ...PATCH_VARIANTS],
  samples: convSamples(),
};

/** gx [N, C, H, W] = ∂⟨conv2d(x, w), gy⟩/∂x: the transposed convolution of gy. Inputs gy, weight. */
export const conv2dBackwardInput: OpDef<Conv2dBackwardInputAttrs> = {
  name: 'conv2dBackwardInput',
  infer: ([gy, w], attrs) => {
    checkDtype('conv2dBackwardInput', gy, false);
    checkSameDtype('conv2dBackwardInput', gy, w);
    const g = backwardInputGeometry(gy, w, attrs);
    return { shape: [g.N, g.C, g.H, g.W], dtype: gy.dtype };
  },
  cpu: ({ inputs: [gy, w], out, attrs }) => {
    const g = backwardInputGeometry(gy, w, attrs);
    const K = g.cpg * g.KH * g.KW;
    const P = g.OH * g.OW;
    const col = new Float64Array(K * P);
    const planes = new Float64Array(g.cpg * g.H * g.W);
    for (let gi = 0; gi < g.groups; gi++) {
      packCpuA(w.data, gi * g.opg * K, 1, K, K, g.opg); // W_gᵀ [K, opg]
      for (let n = 0; n < g.N; n++) {
        // The patch-matrix gradient W_gᵀ · gy_g, then summed back onto the pixels each patch read.
        packCpuB(gy.data, (n * g.OC + gi * g.opg) * P, P, 1, g.opg, P);
        gemmPackedCpu(K, g.opg, P, col, 0, null);
        planes.fill(0);
        col2im(col, g, planes);
        out.data.set(planes, (n * g.C + gi * g.cpg) * g.H * g.W);
      }
    }
    releaseCpuScratch();
  },
  webgpu: ({ gpu, inputs, out, attrs }) => convGpu(gpu, 'BACKWARD_INPUT', backwardInputGeometry(inputs[0], inputs[1], attrs), out, inputs),
  // gx(gy, w) = ∂B(x, w, gy)/∂x is bilinear in gy and w; for an upstream V shaped like x,
  // ⟨V, gx⟩ = B(V, w, gy), so  d/dgy = conv2d(V, w)  and  d/dw = conv2dBackwardWeight(V, gy).
  vjp: ({ inputs: [gy, w], attrs, needsGrad }, v) => {
    const conv = convAttrs(attrs);
    return [
      needsGrad[0] ? apply(conv2d, [v, w], conv) : null,
      needsGrad[1] ? apply(conv2dBackwardWeight, [v, gy], { ...conv, kernelSize: [w.shape[2], w.shape[3]] }) : null,
    ];
  },
  save: 'inputs',
  shaderVariants: [false, true].map((block) => ({ shader: 'conv2d', defines: convDefines('BACKWARD_INPUT', { block }) })),
  samples: convSamples().map((s) => {
    const [x, w] = s.inputs;
    const g = convGeometry('sample', x.shape, w.shape, s.attrs!);
    return { ...s, inputs: [{ shape: [g.N, g.OC, g.OH, g.OW] }, w], attrs: { ...s.attrs!, inputSize: [g.H, g.W] as Pair } };
  }),
};

/** gw [OC, C / groups, kH, kW] = ∂⟨conv2d(x, w), gy⟩/∂w, summed over the batch. Inputs x, gy. */
export const conv2dBackwardWeight: OpDef<Conv2dBackwardWeightAttrs> = {
  name: 'conv2dBackwardWeight',
  infer: ([x, gy], attrs) => {
    checkDtype('conv2dBackwardWeight', x, false);
    checkSameDtype('conv2dBackwardWeight', x, gy);
    const g = backwardWeightGeometry(x, gy, attrs);
    return { shape: [g.OC, g.cpg, g.KH, g.KW], dtype: x.dtype };
  },
  cpu: ({ inputs: [x, gy], out, attrs }) => {
    const g = backwardWeightGeometry(x, gy, attrs);
    const K = g.cpg * g.KH * g.KW;
    const P = g.OH * g.OW;
    const col = new Float64Array(K * P);
    const one = new Float64Array(g.opg * K);
    const sum = new Float64Array(g.opg * K);
    for (let gi = 0; gi < g.groups; gi++) {
      sum.fill(0);
      for (let n = 0; n < g.N; n++) {
        // gy_g [opg, P] · colᵀ [P, K], one image at a time, summed in float64.
        im2col(x.data, (n * g.C + gi * g.cpg) * g.H * g.W, g, col);
        packCpuA(gy.data, (n * g.OC + gi * g.opg) * P, P, 1, g.opg, P);
        packCpuB(col, 0, 1, P, P, K);
        gemmPackedCpu(g.opg, P, K, one, 0, null);
        for (let i = 0; i < one.length; i++) sum[i] += one[i];
      }
      out.data.set(sum, gi * g.opg * K);
    }
    releaseCpuScratch();
  },
  webgpu: ({ gpu, inputs, out, attrs }) => convGpu(gpu, 'BACKWARD_WEIGHT', backwardWeightGeometry(inputs[0], inputs[1], attrs), out, inputs),
  // gw(x, gy) = ∂B(x, w, gy)/∂w is bilinear in x and gy; for an upstream U shaped like w,
  // ⟨U, gw⟩ = B(x, U, gy), so  d/dx = conv2dBackwardInput(gy, U)  and  d/dgy = conv2d(x, U).
  vjp: ({ inputs: [x, gy], attrs, needsGrad }, u) => {
    const conv = convAttrs(attrs);
    return [
      needsGrad[0] ? apply(conv2dBackwardInput, [gy, u], { ...conv, inputSize: [x.shape[2], x.shape[3]] }) : null,
      needsGrad[1] ? apply(conv2d, [x, u], conv) : null,
    ];
  },
  save: 'inputs',
  shaderVariants: [false, true].flatMap((perThread) => [false, true].map((block) =>
    ({ shader: 'conv2d', defines: convDefines('BACKWARD_WEIGHT', { perThread, block }) }))),
  samples: convSamples().map((s) => {
    const [x, w] = s.inputs;
    const g = convGeometry('sample', x.shape, w.shape, s.attrs!);
    return { ...s, inputs: [x, { shape: [g.N, g.OC, g.OH, g.OW] }], attrs: { ...s.attrs!, kernelSize: [g.KH, g.KW] as Pair } };
  }),
};

// ---------------------------------------------------------------------------------------------
// Shapes of the backward ops: the forward geometry, rebuilt from their inputs and attrs

function backwardInputGeometry(gy: TensorMeta, w: TensorMeta, attrs: Conv2dBackwardInputAttrs): ConvGeometry {
  const op = 'conv2dBackwardInput';
  checkPair(op, 'inputSize', attrs.inputSize, 1);
  if (gy.shape.length !== 4) fail(op, `gy must be 4-D [N, outChannels, oH, oW], got ${fmtShape(gy.shape)}`);
  if (w.shape.length !== 4) fail(op, `weight must be 4-D [outChannels, inChannels / groups, kH, kW], got ${fmtShape(w.shape)}`);
  const g = convGeometry(op, [gy.shape[0], w.shape[1] * attrs.groups, ...attrs.inputSize], w.shape, attrs);
  checkGy(op, gy, g);
  return g;
}

function backwardWeightGeometry(x: TensorMeta, gy: TensorMeta, attrs: Conv2dBackwardWeightAttrs): ConvGeometry {
  const op = 'conv2dBackwardWeight';
  checkPair(op, 'kernelSize', attrs.kernelSize, 1);
  if (gy.shape.length !== 4) fail(op, `gy must be 4-D [N, outChannels, oH, oW], got ${fmtShape(gy.shape)}`);
  if (x.shape.length !== 4) fail(op, `input must be 4-D [N, C, H, W] (NCHW), got ${fmtShape(x.shape)}`);
  const groups = attrs.groups;
  if (!Number.isInteger(groups) || groups < 1 || x.shape[1] % groups !== 0) {
    fail(op, `input ${fmtShape(x.shape)} has ${x.shape[1]} channels, which groups = ${groups} does not divide`);
  }
  const g = convGeometry(op, x.shape, [gy.shape[1], x.shape[1] / groups, ...attrs.kernelSize], attrs);
  checkGy(op, gy, g);
  return g;
}

function checkGy(op: string, gy: TensorMeta, g: ConvGeometry): void {
  const want = [g.N, g.OC, g.OH, g.OW];
  if (gy.shape.some((d, i) => d !== want[i])) {
    fail(op, `gy ${fmtShape(gy.shape)} does not match the convolution's output ${fmtShape(want)} ` +
      `(input [${g.N}, ${g.C}, ${g.H}, ${g.W}], kernel ${g.KH}x${g.KW})`);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU: the patch matrix

type NumArray = { readonly length: number; [i: number]: number };

/** The output positions o in [0, count) whose input coordinate o·stride + offset lies in [0, size). */
function validRange(offset: number, stride: number, size: number, count: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(count, Math.floor((size - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * col[((c·KH + kh)·KW + kw)·P + oh·OW + ow] = x[xOff + (c·H + ih)·W + iw] with ih = oh·sh + kh·dh - ph,
 * iw = ow·sw + kw·dw - pw, and 0 where that falls in the padding: the patch matrix [cpg·KH·KW, P]
 * of one image and group (P = OH·OW), so the convolution is W_g [opg, cpg·KH·KW] · col.
 */
function im2col(x: NumArray, xOff: number, g: ConvGeometry, col: Float64Array): void {
  const { H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, cpg } = g;
  const P = OH * OW;
  let row = 0;
  for (let c = 0; c < cpg; c++) {
    const plane = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, row++) {
        const [lo, hi] = validRange(kw * dw - pw, sw, W, OW);
        let d = row * P;
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * sh + kh * dh - ph;
          if (ih < 0 || ih >= H) {
            col.fill(0, d, d + OW);
            continue;
          }
          const src = plane + ih * W + kw * dw - pw;
          for (let ow = 0; ow < lo; ow++) col[d + ow] = 0;
          for (let ow = lo; ow < hi; ow++) col[d + ow] = x[src + ow * sw];
          for (let ow = hi; ow < OW; ow++) col[d + ow] = 0;
        }
      }
    }
  }
}

/** The adjoint of im2col: planes[(c·H + ih)·W + iw] += col[...] for every patch entry that read that pixel. */
function col2im(col: Float64Array, g: ConvGeometry, planes: Float64Array): void {
  const { H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, cpg } = g;
  const P = OH * OW;
  let row = 0;
  for (let c = 0; c < cpg; c++) {
    const plane = c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, row++) {
        const [lo, hi] = validRange(kw * dw - pw, sw, W, OW);
        let d = row * P;
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * sh + kh * dh - ph;
          if (ih < 0 || ih >= H) continue;
          const dst = plane + ih * W + kw * dw - pw;
          for (let ow = lo; ow < hi; ow++) planes[dst + ow * sw] += col[d + ow];
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WebGPU

type ConvPass = 'FORWARD' | 'BACKWARD_INPUT' | 'BACKWARD_WEIGHT';

function convDefines(pass: ConvPass, { bias = false, perThread = true, block = false } = {}) {
  return {
    FORWARD: pass === 'FORWARD', BACKWARD_INPUT: pass === 'BACKWARD_INPUT', BACKWARD_WEIGHT: pass === 'BACKWARD_WEIGHT',
    HAS_BIAS: bias, PER_THREAD: perThread, BLOCK: block, BLOCK_SIZE: block ? BLOCK_SIZE : 1, ACC: block ? 'vec4<f32>' : 'f32',
  };
}

/** shaders/common/conv-params.wgsl's Params: `count` threads, the geometry, channel blocks per group. */
function convUniforms(g: ConvGeometry, count: number, blocks = 0): Uniforms {
  return new Uniforms().u32(count).u32(g.N).u32(g.C).u32(g.H).u32(g.W).u32(g.OC).u32(g.OH).u32(g.OW)
    .u32(g.KH).u32(g.KW).u32(g.sh).u32(g.sw).u32(g.ph).u32(g.pw).u32(g.dh).u32(g.dw).u32(g.cpg).u32(g.opg)
    .u32(g.groups).u32(blocks);
}

/**
 * One dispatch of a pass. Threads (or workgroups) cover, per group, blocks of channels of the
 * dimension the pass does not sum over: output channels (FORWARD, BACKWARD_WEIGHT) or input channels
 * (BACKWARD_INPUT), times the pixels (FORWARD: output, BACKWARD_INPUT: input) or kernel taps.
 */
function convGpu(gpu: WebGPUBackend, pass: ConvPass, g: ConvGeometry, out: GpuTensor, inputs: GpuTensor[], bias = false): void {
  const chunk = gemmChunk(gpu, pass, g);
  if (chunk > 0) {
    convGemmGpu(gpu, pass, g, out, inputs, bias, chunk);
    return;
  }
  const perGroup = pass === 'BACKWARD_INPUT' ? g.cpg : g.opg;
  const block = perGroup >= BLOCK_SIZE;
  const blocks = block ? Math.ceil(perGroup / BLOCK_SIZE) : perGroup;
  const count = g.groups * blocks * {
    FORWARD: g.N * g.OH * g.OW, BACKWARD_INPUT: g.N * g.H * g.W, BACKWARD_WEIGHT: g.cpg * g.KH * g.KW,
  }[pass];
  const perThread = pass !== 'BACKWARD_WEIGHT' || g.N * g.OH * g.OW <= conv2dTuning.perThreadTerms ||
    (gpu.isSoftware && conv2dTuning.softwarePerThread);
  const label = { FORWARD: 'conv2d', BACKWARD_INPUT: 'conv2dBackwardInput', BACKWARD_WEIGHT: 'conv2dBackwardWeight' }[pass];
  gpu.dispatch({
    label, shader: 'conv2d', defines: convDefines(pass, { bias, perThread, block }),
    uniforms: convUniforms(g, count, blocks),
    bindings: [out.buffer, ...inputs.map((t) => t.buffer)],
    ...(perThread ? { threads: count } : { workgroups: gpu.workgroupGrid(count) }),
  });
}

/** Images per chunk of the im2col path, or 0 where the implicit kernel runs the pass (see conv2dTuning). */
export function gemmChunk(gpu: WebGPUBackend, pass: ConvPass, g: ConvGeometry): number {
  if (!conv2dTuning.gemm || g.groups !== 1) return 0;
  const budget = Math.min(conv2dTuning.gemmMaxBytes, gpu.device.limits.maxStorageBufferBindingSize);
  const img = imageBytes(g);
  // The weight gradient keeps every image's [OC, CK] product for one sum at the end.
  if (pass === 'BACKWARD_WEIGHT' && g.N * img.product > budget) return 0;
  // A chunk's slices of the batched tensors must start at offsets the device can bind.
  const align = gpu.device.limits.minStorageBufferOffsetAlignment;
  const strided = pass === 'BACKWARD_WEIGHT' ? [img.x, img.y, img.product] : [img.x, img.y];
  const step = strided.reduce((l, bytes) => lcm(l, align / gcd(align, bytes)), 1);
  const fit = Math.floor(budget / img.cols / step) * step;
  return fit === 0 ? 0 : Math.min(fit, g.N);
}

/** Bytes per image: input, output (and gy), patch matrix [CK, P], weight-gradient product [OC, CK]. */
const imageBytes = (g: ConvGeometry) => {
  const CK = g.C * g.KH * g.KW;
  const P = g.OH * g.OW;
  return { x: g.C * g.H * g.W * 4, y: g.OC * P * 4, cols: CK * P * 4, product: g.OC * CK * 4 };
};
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

/**
 * A pass as GEMMs over the patch matrices cols[n] [CK, P] (CK = C·KH·KW, P = OH·OW) and the weight
 * as W [OC, CK]:  FORWARD y[n] = W · cols[n] (+ bias per row);  BACKWARD_INPUT cols'[n] = Wᵀ · gy[n],
 * folded back into gx (col2im);  BACKWARD_WEIGHT gw = Σ_n gy[n] · cols[n]ᵀ (a batched product, then
 * its sum over n). NCHW tensors are these matrices already: y [N, OC, P], gy likewise. The batch
 * goes through in chunks of `chunk` images (gemmChunk), whose patch matrices share one buffer.
 */
function convGemmGpu(gpu: WebGPUBackend, pass: ConvPass, g: ConvGeometry, out: GpuTensor, inputs: GpuTensor[], bias: boolean, chunk: number): void {
  const CK = g.C * g.KH * g.KW;
  const P = g.OH * g.OW;
  const img = imageBytes(g);
  const storage = gpu.alloc(chunk * img.cols, 'conv2d patches');
  const shaped = (t: GpuTensor, shape: number[]): GpuTensor => ({ shape, dtype: 'f32', buffer: t.buffer });
  // Images [n0, n0 + count) of a batched tensor of `bytes` per image.
  const images = (t: GpuTensor, bytes: number, n0: number, count: number, shape: number[]): GpuTensor =>
    ({ shape: [count, ...shape], dtype: 'f32', buffer: { storage: t.buffer.storage, byteOffset: t.buffer.byteOffset + n0 * bytes, byteLength: count * bytes } });
  const patchPass = (mode: PatchPass, target: GpuTensor, source: GpuTensor, count: number) => gpu.dispatch({
    label: { IM2COL: 'conv2d im2col', COL2IM: 'conv2d col2im', ADD_BIAS: 'conv2d bias' }[mode],
    shader: 'im2col', defines: patchDefines(mode),
    uniforms: convUniforms(g, count),
    bindings: [target.buffer, source.buffer],
    threads: count,
  });
  const weight = (w: GpuTensor) => shaped(w, [g.OC, CK]);
  // The weight gradient's per-image [OC, CK] products (but for a batch of one, which goes straight to gw).
  const productBytes = g.N * img.product;
  const products: GpuTensor | null = pass === 'BACKWARD_WEIGHT' && g.N > 1
    ? { shape: [g.N, g.OC * CK], dtype: 'f32', buffer: { storage: gpu.alloc(productBytes, 'conv2d weight gradients'), byteOffset: 0, byteLength: productBytes } }
    : null;
  for (let n0 = 0; n0 < g.N; n0 += chunk) {
    const count = Math.min(chunk, g.N - n0);
    const cols: GpuTensor = { shape: [count, CK, P], dtype: 'f32', buffer: { storage, byteOffset: 0, byteLength: count * img.cols } };
    if (pass === 'FORWARD') {
      const [x, w, b] = inputs;
      const y = images(out, img.y, n0, count, [g.OC, P]);
      patchPass('IM2COL', cols, images(x, img.x, n0, count, [g.C, g.H, g.W]), count * CK * P);
      matmul.webgpu!({ gpu, inputs: [weight(w), cols], out: y, attrs: {} });
      if (bias) patchPass('ADD_BIAS', y, b, count * g.OC * P);
    } else if (pass === 'BACKWARD_INPUT') {
      const [gy, w] = inputs;
      matmul.webgpu!({ gpu, inputs: [weight(w), images(gy, img.y, n0, count, [g.OC, P])], out: cols, attrs: { transA: true } });
      patchPass('COL2IM', images(out, img.x, n0, count, [g.C, g.H, g.W]), cols, count * g.C * g.H * g.W);
    } else {
      const [x, gy] = inputs;
      patchPass('IM2COL', cols, images(x, img.x, n0, count, [g.C, g.H, g.W]), count * CK * P);
      const target = products ? images(products, img.product, n0, count, [g.OC, CK]) : shaped(out, [1, g.OC, CK]);
      matmul.webgpu!({ gpu, inputs: [images(gy, img.y, n0, count, [g.OC, P]), cols], out: target, attrs: { transB: true } });
    }
  }
  if (products) {
    reduceGpu('sum', { gpu, inputs: [products], out: shaped(out, [g.OC * CK]), attrs: { axes: [0], keepdim: false } });
    gpu.free(products.buffer.storage);
  }
  gpu.free(storage);
}

// ---------------------------------------------------------------------------------------------
// Samples: every option value at least once, tiny shapes (the WebGPU tests run on SwiftShader)

function convSamples(): Sample<Conv2dAttrs>[] {
  const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({ stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, ...a });
  return [
    { inputs: [{ shape: [1, 1, 4, 4] }, { shape: [1, 1, 3, 3] }, { shape: [1] }], attrs: attrs(), note: 'plain 3x3, bias' },
    { inputs: [{ shape: [2, 4, 5, 6] }, { shape: [6, 4, 3, 3] }], attrs: attrs({ stride: [2, 2], padding: [1, 1] }),
      note: 'batch 2, non-square input, stride 2, padding 1, no bias, channel blocks (4 + 2 outputs)' },
    { inputs: [{ shape: [1, 2, 7, 6] }, { shape: [3, 2, 3, 2] }, { shape: [3] }],
      attrs: attrs({ stride: [1, 2], padding: [1, 2], dilation: [2, 2] }), note: 'non-square kernel, stride [1, 2], padding [1, 2], dilation 2' },
    { inputs: [{ shape: [2, 4, 5, 5] }, { shape: [6, 2, 3, 3] }, { shape: [6] }], attrs: attrs({ padding: [1, 1], groups: 2 }), note: 'groups 2' },
    { inputs: [{ shape: [1, 10, 4, 5] }, { shape: [10, 5, 3, 2] }, { shape: [10] }], attrs: attrs({ padding: [1, 0], groups: 2 }),
      note: 'groups 2, channel blocks of 4 + 1 in each group' },
    { inputs: [{ shape: [1, 3, 6, 5] }, { shape: [3, 1, 3, 3] }, { shape: [3] }],
      attrs: attrs({ stride: [2, 2], padding: [1, 2], dilation: [2, 1], groups: 3 }), note: 'depthwise, stride 2, dilation [2, 1]' },
    { inputs: [{ shape: [2, 2, 4, 4] }, { shape: [4, 1, 2, 2] }], attrs: attrs({ groups: 2, dilation: [1, 2] }),
      note: 'depthwise with multiplier 2, even kernel, no bias' },
    { inputs: [{ shape: [2, 3, 3, 3] }, { shape: [2, 3, 1, 1] }, { shape: [2] }], attrs: attrs(), note: '1x1 kernel' },
    { inputs: [{ shape: [1, 1, 6, 6] }, { shape: [2, 1, 3, 3] }], attrs: attrs({ stride: [2, 2] }),
      note: 'stride leaves the last row and column unread' },
    { inputs: [{ shape: [2, 2, 12, 12] }, { shape: [5, 2, 3, 3] }, { shape: [5] }], attrs: attrs({ padding: [1, 1] }),
      note: 'long weight-gradient sums (one workgroup each on GPUs), channel blocks' },
    { inputs: [{ shape: [1, 3, 17, 17] }, { shape: [2, 3, 2, 2] }], attrs: attrs({ padding: [1, 1] }),
      note: 'long weight-gradient sums, no channel blocks' },
  ];
}
