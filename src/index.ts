/**
 * webtrain: neural-network training on WebGPU, with a float64 CPU reference backend and tape autodiff.
 * This file only gathers the public API (DESIGN.md section 3).
 */
export { init, backend, shutdown, flush, memory, emptyCache, stats, tuning } from './session';
export { MATMUL_TILES, type MatmulTile, type MatmulTable } from './ops/matmul';
export { autotuneMatmul, type AutotuneOptions, type AutotuneResult } from './autotune';
export { captureStep, type CapturedStep, type CaptureOptions, type StepInput } from './capture';
export { Tensor, type TensorLike } from './tensor';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, eye, rand, randn, seed, rngState, setRngState } from './create';
export type { CreateOptions, RandomOptions } from './create';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, where, neg, abs, sign, exp, log, sqrt,
  square, reciprocal, relu, leakyRelu, sigmoid, tanh, gelu, softplus, erf, cast, matmul, sum, mean, max, min,
  argmax, softmax, logSoftmax, reshape, permute, transpose, slice, concat, broadcastTo, gather, indexSelect, squeeze,
  unsqueeze, detach, clone,
} from './ops/functional';
export { tidy, keep } from './runtime';
export { noGrad, enableGrad } from './session';
export { grad, hvp, gradcheck, type GradcheckResult } from './autograd/functional';
export { gradients, type BackwardOptions } from './autograd/backward';
export { WebtrainError, DeviceLostError, GpuError } from './errors';
export type { DType } from './dtype';
export type { BackendInfo, BackendName } from './backend/backend';
export { OPS, type OpName } from './ops/registry';
export * as nn from './nn/index';
export * as optim from './optim/index';
export * as io from './io/index';
export * as data from './data/index';
export * as train from './train/index';
export * as debug from './debug';
export * as lab from './lab/index';
