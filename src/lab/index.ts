/**
 * wt.lab: the course's experiments on loss surfaces and optimization, as functions and as a registry
 * the demo page renders. Generic tools work on any model (a loss closure and its parameters):
 * lossSurface2d (a 2-D slice of the loss), interpolate (the loss on the segment θ0 → θ1),
 * hessianTopEigen / sharpness (power iteration on Hessian-vector products); tanhToy and tanhPaths
 * are the two-weight network of the slides; `experiments` holds one runnable entry per slide.
 */
export { lossSurface2d, type SurfaceOptions, type SurfaceResult } from './surface';
export { interpolate, type InterpolateOptions } from './interpolate';
export { hessianTopEigen, sharpness, type EigenOptions, type EigenResult } from './hessian';
export { tanhToy, tanhPaths, type TanhPathOptions, type TanhPath } from './tanh-toy';
export { randomDirection } from './params';
export { AbortError, type ProgressOptions } from './progress';
export { lotteryTicket, type LotteryTicketOptions, type LotteryTicketResult, type TicketRound, type TicketRun } from './lottery';
export {
  MaskedModel, maskedOptimizer, prunableParameters, criterionScores, pruneLowest, randomMask, MASK_CRITERIA, type MaskCriterion,
} from './prune';
export { fgsm, type FgsmOptions } from './adversarial';
export { loadDigits, syntheticDigits, DIGIT_SOURCES, type DigitArrays, type DigitSource, type Digits } from './digits';
export { biasVariance, decompose as biasVarianceDecompose, type BiasVarianceOptions, type BiasVarianceResult, type BiasVarianceCapacity } from './bias-variance';
export { MlpEnsemble, trainEnsemble, type EnsembleOptions } from './ensemble';
export { deconstructTickets, ZHOU_CRITERIA, type DeconstructOptions, type DeconstructResult, type DeconstructRun } from './deconstruct';
export { supermask, SupermaskModel, type SupermaskOptions, type SupermaskResult } from './supermask';
export { experiments } from './experiments/index';
export type { Experiment, ExperimentId, LabResult, LabPlot, LabHeatmap, OptionValue, RunOptions } from './types';
