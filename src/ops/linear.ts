/**
 * The fused Linear layer: y = act(x · Wᵀ + b), PyTorch's `F.linear` plus an optional activation.
 * x is [..., in] (any number of leading batch dims), W is [out, in] (PyTorch's layout), b is [out]
 * and optional: it is passed as a third input only when present. On WebGPU this is ONE dispatch of
 * the matmul kernel (shaders/matmul.wgsl with TRANS_B): bias and activation happen in its
 * write-back. It is an optimization of the composition `act(x.matmul(W.transpose()).add(b))`, which
 * stays the reference (test/nn.test.ts compares them).
 */
import { fail, fmtShape } from '../errors';
import { numel } from '../shape';
import { checkDtype, checkSameDtype } from './elementwise';
import { gemmPackedCpu, matmulDefines, matmulParams, matmulPlan, packCpuA, packCpuB, releaseCpuScratch, type MatmulKernel, type Vec4Loads } from './matmul';
import { matmulRaw, reluGrad, sigmoidGrad, tanhGrad } from './functional';
import type { OpDef, TensorMeta } from './op-def';
import type { TypedArray } from '../dtype';
import type { Tensor } from '../tensor';

/** The activations a Linear layer can fuse into its kernel. */
export type LinearActivation = 'none' | 'relu' | 'tanh' | 'sigmoid';

/** Attributes of the linear op. */
export interface LinearAttrs {
  /** Applied to x · Wᵀ + b in the same kernel (default 'none'). */
  activation?: LinearActivation;
}

/** Every activation the fused kernel supports. */
export const LINEAR_ACTIVATIONS: readonly LinearActivation[] = ['none', 'relu', 'tanh', 'sigmoid'];

/** The WGSL function of shaders/matmul.wgsl that applies each activation. */
const ACT_FN: Record<LinearActivation, string> = { none: 'actNone', relu: 'actRelu', tanh: 'actTanh', sigmoid: 'actSigmoid' };

/**
 * The activations in float64, the same expressions as the relu, tanh and sigmoid ops (unary.ts), so
 * a fused Linear + activation gives the unfused pair's values bit for bit.
 */
const ACT_CPU: Record<LinearActivation, (z: number) => number> = {
  none: (z) => z,
  relu: (z) => (z <= 0 ? 0 : z), // NaN stays NaN
  tanh: Math.tanh,
  sigmoid: (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))),
};

/** y = act(y) in place over the stored (already rounded) pre-activations: ACT_CPU's values, in tight loops. */
function applyActivationCpu(act: LinearActivation, y: TypedArray): void {
  const len = y.length;
  switch (act) {
    case 'none': return;
    case 'relu':
      for (let i = 0; i < len; i++) if (y[i] <= 0) y[i] = 0; // NaN stays NaN
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) y[i] = Math.tanh(y[i]);
      return;
    case 'sigmoid': {
      const f = ACT_CPU.sigmoid;
      for (let i = 0; i < len; i++) y[i] = f(y[i]);
    }
  }
}

/** Rows (all leading dims flattened), input and output features. */
function dims(x: TensorMeta, w: TensorMeta) {
  return { rows: numel(x.shape.slice(0, -1)), k: w.shape[1], n: w.shape[0] };
}

/** The `linear` op row: inputs [x, weight] or [x, weight, bias]. */
export const linear: OpDef<LinearAttrs> = {
  name: 'linear',
  infer: (inputs, attrs) => {
    const [x, w, b] = inputs;
    if (inputs.length < 2 || inputs.length > 3) fail('linear', `takes x, weight and an optional bias, got ${inputs.length} inputs`);
    checkDtype('linear', x, false);
    checkSameDtype('linear', ...inputs);
    const act = attrs.activation ?? 'none';
    if (!LINEAR_ACTIVATIONS.includes(act)) {
      fail('linear', `unknown activation '${act}' (expected one of ${LINEAR_ACTIVATIONS.map((a) => `'${a}'`).join(', ')})`);
    }
    if (w.shape.length !== 2) fail('linear', `weight must be [out_features, in_features], got ${fmtShape(w.shape)}`);
    const [out, inF] = w.shape;
    if (b && (b.shape.length !== 1 || b.shape[0] !== out)) {
      fail('linear', `bias must be [out_features] = [${out}] to match weight ${fmtShape(w.shape)}, got ${fmtShape(b.shape)}`);
    }
    if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== inF) fail('linear', widthMessage(x.shape, inF));
    return { shape: [...x.shape.slice(0, -1), out], dtype: x.dtype };
  },
  cpu: ({ inputs: [x, w, b], out, attrs }) => {
    const { rows, k, n } = dims(x, w);
    // x · Wᵀ: op(B)[p][j] = W[j][p]. The GEMM adds the bias to each float64 sum before the store
    // rounds it to the output's precision, as the unfused pair stores the pre-activation.
    packCpuA(x.data, 0, k, 1, rows, k);
    packCpuB(w.data, 0, 1, k, k, n);
    gemmPackedCpu(rows, k, n, out.data, 0, b ? b.data : null);
    releaseCpuScratch();
    applyActivationCpu(attrs.activation ?? 'none', out.data);
  },
  webgpu: ({ gpu, inputs: [x, w, b], out, attrs }) => {
    const { rows, k, n } = dims(x, w);
    // One matrix (batch rank 0): the leading dims of x are rows of A, contiguous.
    const u = matmulParams(rows, n, k, [], [], []);
    const { defines, workgroups } = matmulPlan('linear', gpu, false, true, rows, k, n, 1, !!b, ACT_FN[attrs.activation ?? 'none']);
    gpu.dispatch({
      label: 'linear',
      shader: 'matmul',
      defines,
      workgroups,
      uniforms: u,
      bindings: b ? [out.buffer, x.buffer, w.buffer, b.buffer] : [out.buffer, x.buffer, w.buffer],
    });
  },
  // z = x Wᵀ + b, y = act(z):  gz = gy * act'(z), with act' read off the output y:
  //   relu' = [y > 0],  tanh' = 1 - y²,  sigmoid' = y (1 - y).
  // Over the rows r of x (leading dims flattened): gx = gz W,  gW = gzᵀ x = Σ_r gz_r ⊗ x_r,
  // gb = Σ_r gz_r. The transposes are matmul kernel flags, never materialized.
  vjp: ({ inputs: [x, w, b], y, attrs, needsGrad }, gy) => {
    const gz = activationGrad(attrs.activation ?? 'none', y, gy);
    const k = w.shape[1];
    const n = w.shape[0];
    const gz2 = gz.reshape([-1, n]);
    const gx = needsGrad[0] ? matmulRaw(gz2, w, {}).reshape([...x.shape]) : null;
    const gw = needsGrad[1] ? matmulRaw(gz2, x.reshape([-1, k]), { transA: true }) : null;
    return b ? [gx, gw, needsGrad[2] ? gz2.sum(0) : null] : [gx, gw];
  },
  save: 'both',
  shaderVariants: ([['tiled', 'scalar'], ['untiled', 'scalar'], ['untiled', 'dot4'], ['subgroup', 'scalar']] as const).flatMap(([kernel, loads]) =>
    [false, true].flatMap((bias) => LINEAR_ACTIVATIONS.map((act) => ({ shader: 'matmul', defines: linearDefines(kernel, bias, act, loads) })))),
  samples: [
    { inputs: [{ shape: [4, 5] }, { shape: [3, 5] }, { shape: [3] }], note: 'bias' },
    { inputs: [{ shape: [70, 20] }, { shape: [130, 20] }, { shape: [130] }], attrs: { activation: 'tanh' }, note: 'several 64x64 tiles, ragged' },
    { inputs: [{ shape: [4, 5] }, { shape: [3, 5] }], note: 'no bias' },
    { inputs: [{ shape: [5] }, { shape: [3, 5] }, { shape: [3] }], attrs: { activation: 'relu' }, note: '1-D x, relu' },
    { inputs: [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }], attrs: { activation: 'tanh' }, note: '3-D x, tanh' },
    { inputs: [{ shape: [3, 5] }, { shape: [4, 5] }], attrs: { activation: 'sigmoid' }, note: 'no bias, sigmoid' },
    { inputs: [{ shape: [2, 3, 6] }, { shape: [2, 6] }], attrs: { activation: 'relu' }, note: '3-D x, no bias, relu' },
    { inputs: [{ shape: [17, 33] }, { shape: [18, 33] }, { shape: [18] }], attrs: { activation: 'relu' }, note: 'ragged tiles, relu' },
    { inputs: [{ shape: [17, 33] }, { shape: [18, 33] }, { shape: [18] }], attrs: { activation: 'sigmoid' }, note: 'ragged tiles, sigmoid' },
    { inputs: [{ shape: [70, 12] }, { shape: [66, 12] }, { shape: [66] }], attrs: { activation: 'relu' }, note: 'K % 4 == 0 (vec4 loads untiled), several tiles' },
    {
      inputs: [{ shape: [3, 2], values: [NaN, 1, -1, 2, 0.5, -3] }, { shape: [3, 2] }, { shape: [3] }],
      attrs: { activation: 'relu' }, noGrad: true, note: 'NaN propagates through relu',
    },
  ],
};

/** The matmul kernel's defines for a Linear: x · Wᵀ (TRANS_B), bias and activation in the write-back. */
function linearDefines(kernel: MatmulKernel, bias: boolean, act: LinearActivation, loads: Vec4Loads = 'scalar') {
  return matmulDefines(false, true, kernel, bias, ACT_FN[act], loads);
}

/** gy * act'(z), with the derivative written in terms of the output y = act(z). */
function activationGrad(act: LinearActivation, y: Tensor, gy: Tensor): Tensor {
  switch (act) {
    case 'none': return gy;
    case 'relu': return reluGrad(gy, y);
    case 'tanh': return tanhGrad(gy, y);
    case 'sigmoid': return sigmoidGrad(gy, y);
  }
}

/** The error for an input whose last dimension is not in_features, with a hint about batch dims. */
export function widthMessage(shape: readonly number[], inFeatures: number): string {
  const got = shape.length === 0 ? 'a scalar (shape [])' : `shape ${fmtShape(shape)} (last dimension ${shape[shape.length - 1]})`;
  let hint = `the last dimension holds the features and any leading dimensions are batch dimensions, ` +
    `e.g. [batch, ${inFeatures}] or [${inFeatures}] for one sample`;
  if (shape.length >= 2 && shape[0] === inFeatures) hint += `; the features are in dimension 0: transpose the input?`;
  else if (shape.length === 1 && inFeatures === 1) hint += `; for ${shape[0]} samples of one feature use shape [${shape[0]}, 1]`;
  return `expected an input with in_features = ${inFeatures} in its last dimension, got ${got}; ${hint}`;
}
