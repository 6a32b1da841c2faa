/**
 * Every op, listed once. Per-op tables elsewhere (tolerances, bench cases) are keyed by `OpName`, so
 * the compiler names any op a table forgot.
 */
import * as B from './binary';
import { binaryCrossEntropy } from './binary-cross-entropy';
import * as C from './creation';
import * as Conv from './conv2d';
import * as CE from './cross-entropy';
import { dropout } from './dropout';
import * as G from './gather';
import * as IS from './index-select';
import { linear } from './linear';
import { matmul } from './matmul';
import * as M from './movement';
import * as N from './norm';
import type { OpDef } from './op-def';
import * as P from './pool2d';
import * as R from './reduce';
import * as S from './softmax';
import * as U from './unary';

export const OPS = {
  neg: U.neg, abs: U.abs, sign: U.sign, exp: U.exp, log: U.log, sqrt: U.sqrt, square: U.square,
  reciprocal: U.reciprocal, relu: U.relu, leakyRelu: U.leakyRelu, sigmoid: U.sigmoid, tanh: U.tanh,
  erf: U.erf, gelu: U.gelu, softplus: U.softplus,
  add: B.add, sub: B.sub, mul: B.mul, div: B.div, pow: B.pow, maximum: B.maximum, minimum: B.minimum,
  reluGrad: B.reluGrad, tanhGrad: B.tanhGrad, sigmoidGrad: B.sigmoidGrad,
  eq: B.eq, ne: B.ne, lt: B.lt, le: B.le, gt: B.gt, ge: B.ge, where: B.where,
  matmul, linear, dropout,
  sum: R.sum, mean: R.mean, max: R.max, min: R.min, argmax: R.argmax,
  softmax: S.softmax, logSoftmax: S.logSoftmax,
  crossEntropy: CE.crossEntropy, crossEntropyGrad: CE.crossEntropyGrad, validMean: CE.validMean, validMeanGrad: CE.validMeanGrad,
  binaryCrossEntropy,
  norm: N.norm, normGrad: N.normGrad, normStats: N.normStats, normEval: N.normEval,
  conv2d: Conv.conv2d, conv2dBackwardInput: Conv.conv2dBackwardInput, conv2dBackwardWeight: Conv.conv2dBackwardWeight,
  maxPool2d: P.maxPool2d, maxPool2dBackward: P.maxPool2dBackward, maxPool2dIndices: P.maxPool2dIndices,
  avgPool2d: P.avgPool2d, avgPool2dBackward: P.avgPool2dBackward,
  reshape: M.reshape, permute: M.permute, slice: M.slice, padSlice: M.padSlice, concat: M.concat,
  broadcastTo: M.broadcastTo, copy: M.copy, gather: G.gather, scatterAdd: G.scatterAdd,
  indexSelect: IS.indexSelect, indexAdd: IS.indexAdd,
  fill: C.fill, arange: C.arange, eye: C.eye, random: C.random, cast: C.cast,
} satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;
