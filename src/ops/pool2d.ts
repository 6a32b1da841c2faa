/**
 * 2-D max and average pooling on NCHW tensors with PyTorch's semantics (`F.max_pool2d`,
 * `F.avg_pool2d` with ceil_mode = false; avg with count_include_pad = true, i.e. always divided by
 * kH·kW). Padding is at most half the kernel (PyTorch's rule), so every window holds at least one
 * input element; max pooling treats padding as -inf.
 *
 * Max pooling picks, per window, the first maximum in row-major order (strict >, as PyTorch), and
 * a NaN always takes the window (PyTorch's `val > max || isnan(val)`: the last NaN wins). Ops:
 *   maxPool2d(x)                  the window maxima;
 *   maxPool2dBackward(x, gy)      gx: each gy goes to its window's argmax (recomputed from x, so no
 *                                 index tensor is kept between forward and backward);
 *   maxPool2dIndices(x)           i32 argmax per window, flat in the input plane (h·W + w), as
 *                                 PyTorch's return_indices; used by the second derivative;
 *   avgPool2d(x), avgPool2dBackward(gy)   the window means and their adjoint.
 * WebGPU (shaders/pool2d.wgsl): one thread per output element; the backward kernels take one
 * thread per input element and visit the windows that cover it, so nothing is scattered.
 */
import { fail, fmtShape } from '../errors';
import { apply } from '../runtime';
import { Uniforms } from '../backend/webgpu/uniforms';
import { checkDtype, checkSameDtype } from './elementwise';
import { checkPair, type Pair } from './conv2d';
import { gatherRaw } from './functional';
import type { BufferSlice, OpDef, Sample, TensorMeta } from './op-def';
import type { WebGPUBackend } from '../backend/webgpu/webgpu-backend';

/** Attributes of the pooling ops (pairs; wt.nn.functional also takes numbers and defaults stride to the kernel). */
export interface Pool2dAttrs {
  kernelSize: Pair;
  stride: Pair;
  /** Added on each side: [top and bottom, left and right]; at most half the kernel. */
  padding: Pair;
}

/** avgPool2dBackward: the pooling attributes and the input's [H, W] (not implied by the output when the stride skips rows). */
export interface AvgPool2dBackwardAttrs extends Pool2dAttrs {
  inputSize: Pair;
}

/** Input [N, C, H, W] as `planes` = N·C planes, output [N, C, OH, OW], window KH x KW. */
interface PoolGeometry {
  N: number; C: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; sh: number; sw: number; ph: number; pw: number;
  planes: number;
}

/** Checks the attributes and the input shape (naming `op`); OH = floor((H + 2·ph - KH) / sh) + 1. */
function poolGeometry(op: string, xShape: readonly number[], attrs: Pool2dAttrs): PoolGeometry {
  checkPair(op, 'kernelSize', attrs.kernelSize, 1);
  checkPair(op, 'stride', attrs.stride, 1);
  checkPair(op, 'padding', attrs.padding, 0);
  if (xShape.length !== 4) fail(op, `input must be 4-D [N, C, H, W] (NCHW), got ${fmtShape(xShape)}`);
  const [N, C, H, W] = xShape;
  const [KH, KW] = attrs.kernelSize;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  if (2 * ph > KH || 2 * pw > KW) {
    fail(op, `padding ${ph}, ${pw} must be at most half the kernel ${KH}x${KW} (as in PyTorch: every window must hold an input element)`);
  }
  if (H + 2 * ph < KH || W + 2 * pw < KW) {
    fail(op, `kernel ${KH}x${KW} is larger than the padded input ${H + 2 * ph}x${W + 2 * pw} (input ${fmtShape(xShape)}, padding ${ph}, ${pw})`);
  }
  const OH = Math.floor((H + 2 * ph - KH) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  return { N, C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, planes: N * C };
}

/** Throws unless gy is the pooling's output shape. */
function checkGy(op: string, gy: TensorMeta, g: PoolGeometry): void {
  const want = [g.N, g.C, g.OH, g.OW];
  if (gy.shape.length !== 4 || gy.shape.some((d, i) => d !== want[i])) {
    fail(op, `gy ${fmtShape(gy.shape)} does not match the pooling's output ${fmtShape(want)} (input [${g.N}, ${g.C}, ${g.H}, ${g.W}])`);
  }
}

const outShape = (g: PoolGeometry) => [g.N, g.C, g.OH, g.OW];
const poolAttrs = ({ kernelSize, stride, padding }: Pool2dAttrs): Pool2dAttrs => ({ kernelSize, stride, padding });

/** The window maxima [N, C, OH, OW] (padding counts as -inf; NaN propagates). */
export const maxPool2d: OpDef<Pool2dAttrs> = {
  name: 'maxPool2d',
  infer: ([x], attrs) => {
    checkDtype('maxPool2d', x, false);
    return { shape: outShape(poolGeometry('maxPool2d', x.shape, attrs)), dtype: x.dtype };
  },
  cpu: ({ inputs: [x], out, attrs }) => {
    const g = poolGeometry('maxPool2d', x.shape, attrs);
    const idx = windowArgmaxes(x.data, g);
    const xd = x.data;
    const od = out.data;
    for (let pl = 0, o = 0; pl < g.planes; pl++) {
      const plane = pl * g.H * g.W;
      for (const end = o + g.OH * g.OW; o < end; o++) od[o] = xd[plane + idx[o]];
    }
  },
  webgpu: (args) => poolGpu('maxPool2d', 'MAX', args.gpu, [args.out, ...args.inputs], poolGeometry('maxPool2d', args.inputs[0].shape, args.attrs), 'out'),
  // y = x[argmax] per window: d y / d x routes each gy to its window's argmax (0 elsewhere).
  vjp: ({ inputs: [x], attrs }, gy) => [apply(maxPool2dBackward, [x, gy], poolAttrs(attrs))],
  save: 'inputs',
  shaderVariants: [{ shader: 'pool2d', defines: poolDefines('MAX') }],
  samples: [...maxSamples(false), { ...tieSample(), noGrad: true }, nanSample()],
};

/** gx [N, C, H, W]: each gy element added at its window's argmax in x. Inputs x, gy. */
export const maxPool2dBackward: OpDef<Pool2dAttrs> = {
  name: 'maxPool2dBackward',
  infer: ([x, gy], attrs) => {
    checkDtype('maxPool2dBackward', x, false);
    checkSameDtype('maxPool2dBackward', x, gy);
    checkGy('maxPool2dBackward', gy, poolGeometry('maxPool2dBackward', x.shape, attrs));
    return { shape: [...x.shape], dtype: x.dtype };
  },
  cpu: ({ inputs: [x, gy], out, attrs }) => {
    const g = poolGeometry('maxPool2dBackward', x.shape, attrs);
    const idx = windowArgmaxes(x.data, g);
    const gyd = gy.data;
    // Summed in float64 (overlapping windows can share an argmax), stored once.
    const gx = new Float64Array(out.data.length);
    for (let pl = 0, o = 0; pl < g.planes; pl++) {
      const plane = pl * g.H * g.W;
      for (const end = o + g.OH * g.OW; o < end; o++) gx[plane + idx[o]] += gyd[o];
    }
    out.data.set(gx);
  },
  webgpu: (args) => poolGpu('maxPool2dBackward', 'MAX_BACKWARD', args.gpu, [args.out, ...args.inputs],
    poolGeometry('maxPool2dBackward', args.inputs[0].shape, args.attrs), 'in'),
  // Linear in gy: for an upstream V shaped like x, ⟨V, gx⟩ = Σ_windows gy · V[argmax], so
  // d/dgy = V gathered at each window's argmax. x only moves the argmax: its derivative is 0
  // wherever it exists (away from ties), so x is not differentiable here.
  vjp: ({ inputs: [x], attrs }, v) => {
    const [N, C, H, W] = x.shape;
    const idx = apply(maxPool2dIndices, [x], poolAttrs(attrs));
    const [, , OH, OW] = idx.shape;
    return [null, gatherRaw(v.reshape([N * C, H * W]), idx.reshape([N * C, OH * OW]), { axis: 1 }).reshape([N, C, OH, OW])];
  },
  save: 'inputs',
  differentiable: [1],
  shaderVariants: [{ shader: 'pool2d', defines: poolDefines('MAX_BACKWARD') }],
  samples: maxSamples(false).map((s) => withGy(s)).concat([withGy(tieSample(), 'ties: the gradient goes to the first maximum'),
    withGy(nanSample(), 'NaN: the gradient goes to the last NaN')]),
};

/** i32 [N, C, OH, OW]: each window's argmax as a flat index h·W + w into its input plane (PyTorch's return_indices). */
export const maxPool2dIndices: OpDef<Pool2dAttrs> = {
  name: 'maxPool2dIndices',
  infer: ([x], attrs) => {
    checkDtype('maxPool2dIndices', x, false);
    return { shape: outShape(poolGeometry('maxPool2dIndices', x.shape, attrs)), dtype: 'i32' };
  },
  cpu: ({ inputs: [x], out, attrs }) => {
    out.data.set(windowArgmaxes(x.data, poolGeometry('maxPool2dIndices', x.shape, attrs)));
  },
  webgpu: (args) => poolGpu('maxPool2dIndices', 'MAX_INDEX', args.gpu, [args.out, ...args.inputs],
    poolGeometry('maxPool2dIndices', args.inputs[0].shape, args.attrs), 'out'),
  shaderVariants: [{ shader: 'pool2d', defines: poolDefines('MAX_INDEX') }],
  samples: [...maxSamples(true), tieSample(), nanSample()],
};

/** The window means [N, C, OH, OW], padding counted as zeros (always divided by kH·kW). */
export const avgPool2d: OpDef<Pool2dAttrs> = {
  name: 'avgPool2d',
  infer: ([x], attrs) => {
    checkDtype('avgPool2d', x, false);
    return { shape: outShape(poolGeometry('avgPool2d', x.shape, attrs)), dtype: x.dtype };
  },
  cpu: ({ inputs: [x], out, attrs }) => {
    const g = poolGeometry('avgPool2d', x.shape, attrs);
    const area = g.KH * g.KW;
    const xd = x.data;
    forEachWindow(g, (plane, o, hs, he, ws, we) => {
      let s = 0;
      for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) s += xd[plane + h * g.W + w];
      out.data[o] = s / area;
    });
  },
  webgpu: (args) => poolGpu('avgPool2d', 'AVG', args.gpu, [args.out, ...args.inputs], poolGeometry('avgPool2d', args.inputs[0].shape, args.attrs), 'out'),
  // Linear: gx = avgPool2dBackward(gy) (each gy / kH·kW spread over its window).
  vjp: ({ inputs: [x], attrs }, gy) => [apply(avgPool2dBackward, [gy], { ...poolAttrs(attrs), inputSize: [x.shape[2], x.shape[3]] })],
  shaderVariants: [{ shader: 'pool2d', defines: poolDefines('AVG') }],
  samples: avgSamples(),
};

/** gx [N, C, H, W] = Σ over the windows covering each element of gy / (kH·kW): avgPool2d's adjoint. Input gy. */
export const avgPool2dBackward: OpDef<AvgPool2dBackwardAttrs> = {
  name: 'avgPool2dBackward',
  infer: ([gy], attrs) => {
    checkDtype('avgPool2dBackward', gy, false);
    const g = avgBackwardGeometry(gy, attrs);
    return { shape: [g.N, g.C, g.H, g.W], dtype: gy.dtype };
  },
  cpu: ({ inputs: [gy], out, attrs }) => {
    const g = avgBackwardGeometry(gy, attrs);
    const area = g.KH * g.KW;
    const gx = new Float64Array(out.data.length);
    forEachWindow(g, (plane, o, hs, he, ws, we) => {
      const v = gy.data[o] / area;
      for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) gx[plane + h * g.W + w] += v;
    });
    out.data.set(gx);
  },
  webgpu: (args) => poolGpu('avgPool2dBackward', 'AVG_BACKWARD', args.gpu, [args.out, ...args.inputs], avgBackwardGeometry(args.inputs[0], args.attrs), 'in'),
  // Linear, the adjoint of avgPool2d: its vjp is avgPool2d again.
  vjp: ({ attrs }, v) => [apply(avgPool2d, [v], poolAttrs(attrs))],
  shaderVariants: [{ shader: 'pool2d', defines: poolDefines('AVG_BACKWARD') }],
  samples: avgSamples().map((s) => {
    const g = poolGeometry('sample', s.inputs[0].shape, s.attrs!);
    return { ...s, inputs: [{ shape: outShape(g) }], attrs: { ...s.attrs!, inputSize: [g.H, g.W] as Pair } };
  }),
};

function avgBackwardGeometry(gy: TensorMeta, attrs: AvgPool2dBackwardAttrs): PoolGeometry {
  const op = 'avgPool2dBackward';
  checkPair(op, 'inputSize', attrs.inputSize, 1);
  if (gy.shape.length !== 4) fail(op, `gy must be 4-D [N, C, oH, oW], got ${fmtShape(gy.shape)}`);
  const g = poolGeometry(op, [gy.shape[0], gy.shape[1], ...attrs.inputSize], attrs);
  checkGy(op, gy, g);
  return g;
}

// ---------------------------------------------------------------------------------------------
// CPU

/**
 * Calls fn(plane offset, output offset, hs, he, ws, we) for every output element in order, with the
 * window's rows [hs, he) and columns [ws, we) clipped to the input.
 */
function forEachWindow(g: PoolGeometry, fn: (plane: number, o: number, hs: number, he: number, ws: number, we: number) => void): void {
  let o = 0;
  for (let pl = 0; pl < g.planes; pl++) {
    const plane = pl * g.H * g.W;
    for (let i = 0; i < g.OH; i++) {
      const h0 = i * g.sh - g.ph;
      const hs = Math.max(h0, 0);
      const he = Math.min(h0 + g.KH, g.H);
      for (let j = 0; j < g.OW; j++, o++) {
        const w0 = j * g.sw - g.pw;
        fn(plane, o, hs, he, Math.max(w0, 0), Math.min(w0 + g.KW, g.W));
      }
    }
  }
}

/**
 * Every window's argmax as a flat in-plane index, in output order: the first maximum (strict >),
 * and any NaN replaces it (PyTorch's rule, so the last NaN wins).
 */
function windowArgmaxes(xd: ArrayLike<number>, g: PoolGeometry): Int32Array {
  const { H, W, OH, OW, KH, KW, sh, sw, ph, pw } = g;
  const idx = new Int32Array(g.planes * OH * OW);
  // forEachWindow's loops written out: this runs for every max-pooling layer, forward and backward.
  let o = 0;
  for (let plane = 0; plane < g.planes * H * W; plane += H * W) {
    for (let i = 0; i < OH; i++) {
      const hs = Math.max(i * sh - ph, 0);
      const he = Math.min(i * sh - ph + KH, H);
      for (let j = 0; j < OW; j++, o++) {
        const ws = Math.max(j * sw - pw, 0);
        const we = Math.min(j * sw - pw + KW, W);
        let best = hs * W + ws;
        let bestV = xd[plane + best];
        for (let h = hs; h < he; h++) {
          for (let k = h * W + ws, end = h * W + we; k < end; k++) {
            const v = xd[plane + k];
            if (v > bestV || v !== v) {
              best = k;
              bestV = v;
            }
          }
        }
        idx[o] = best;
      }
    }
  }
  return idx;
}

// ---------------------------------------------------------------------------------------------
// WebGPU

type PoolPass = 'MAX' | 'MAX_INDEX' | 'MAX_BACKWARD' | 'AVG' | 'AVG_BACKWARD';

function poolDefines(pass: PoolPass) {
  return {
    MAX: pass === 'MAX', MAX_INDEX: pass === 'MAX_INDEX', MAX_BACKWARD: pass === 'MAX_BACKWARD',
    AVG: pass === 'AVG', AVG_BACKWARD: pass === 'AVG_BACKWARD',
    // Combinations for #if (which tests one name): the passes that find argmaxes, and the backward ones.
    ARGMAX: pass.startsWith('MAX'), BACKWARD: pass.endsWith('BACKWARD'),
  };
}

/** One thread per output element ('out') or per input element ('in', the backward passes). */
function poolGpu(label: string, pass: PoolPass, gpu: WebGPUBackend, tensors: { buffer: BufferSlice }[],
  g: PoolGeometry, threadsOver: 'out' | 'in'): void {
  const count = threadsOver === 'out' ? g.planes * g.OH * g.OW : g.planes * g.H * g.W;
  gpu.dispatch({
    label, shader: 'pool2d', defines: poolDefines(pass),
    uniforms: new Uniforms().u32(count).u32(g.H).u32(g.W).u32(g.OH).u32(g.OW).u32(g.KH).u32(g.KW)
      .u32(g.sh).u32(g.sw).u32(g.ph).u32(g.pw),
    bindings: tensors.map((t) => t.buffer),
    threads: count,
  });
}

// ---------------------------------------------------------------------------------------------
// Samples (tiny: the WebGPU tests run on SwiftShader). Values are distinct where gradients are
// checked against finite differences (a tie is a kink).

function pool(kernelSize: Pair, stride: Pair, padding: Pair = [0, 0]): Pool2dAttrs {
  return { kernelSize, stride, padding };
}

function geometrySamples(distinct: boolean): Sample<Pool2dAttrs>[] {
  return [
    { inputs: [{ shape: [1, 1, 4, 4], distinct }], attrs: pool([2, 2], [2, 2]), note: '2x2, stride 2' },
    { inputs: [{ shape: [2, 3, 5, 7], distinct }], attrs: pool([3, 2], [2, 1], [1, 1]), note: 'batch 2, non-square, overlapping, padding 1' },
    { inputs: [{ shape: [1, 2, 6, 5], distinct }], attrs: pool([3, 3], [1, 1], [1, 1]), note: '3x3, stride 1, padding 1' },
    { inputs: [{ shape: [1, 1, 7, 6], distinct }], attrs: pool([2, 4], [3, 2], [1, 2]), note: 'padding [1, 2], stride skips rows' },
  ];
}

function maxSamples(forIndices: boolean): Sample<Pool2dAttrs>[] {
  const s = geometrySamples(true);
  // Padding is -inf: a window of all-negative values at the border must not return 0.
  return forIndices ? s : [...s, { inputs: [{ shape: [1, 1, 3, 3], range: [-5, -1], distinct: true }], attrs: pool([2, 2], [2, 2], [1, 1]), note: 'negative values at the padding' }];
}

function tieSample(): Sample<Pool2dAttrs> {
  return { inputs: [{ shape: [1, 1, 4, 4], values: [1, 3, 3, 0, 3, 2, 0, 0, -1, -1, 5, 5, -1, -1, 5, 5] }], attrs: pool([2, 2], [2, 2]), note: 'ties' };
}

function nanSample(): Sample<Pool2dAttrs> {
  return {
    inputs: [{ shape: [1, 1, 4, 4], values: [1, NaN, 3, 0, NaN, 2, 0, 7, -Infinity, -Infinity, 5, NaN, -Infinity, -Infinity, 1, 9] }],
    attrs: pool([2, 2], [2, 2]), noGrad: true, note: 'NaN and -inf',
  };
}

/** A maxPool2d sample as a maxPool2dBackward one: x and a gy of the output's shape. */
function withGy(s: Sample<Pool2dAttrs>, note?: string): Sample<Pool2dAttrs> {
  const g = poolGeometry('sample', s.inputs[0].shape, s.attrs!);
  // Gradients are checked for gy only (x is not differentiable here), so ties and NaN in x are fine.
  return { ...s, inputs: [s.inputs[0], { shape: outShape(g) }], noGrad: false, note: note ?? s.note };
}

function avgSamples(): Sample<Pool2dAttrs>[] {
  return [...geometrySamples(false), { inputs: [{ shape: [2, 2, 3, 3] }], attrs: pool([3, 3], [1, 1], [1, 1]), note: 'every window padded' }];
}
