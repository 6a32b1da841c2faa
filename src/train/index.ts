/**
 * wt.train: the training loop (fit, evaluate) and model selection (gridSearch, randomSearch with
 * uniform, logUniform, intUniform and choice distributions).
 */
export { fit, evaluate } from './fit';
export type { FitOptions, History, EpochLogs, BatchLogs, Callbacks, EarlyStoppingOptions, Evaluation, DatasetLike, LossSpec } from './fit';
export { makeOptimizer, OPTIMIZER_NAMES, type OptimizerName, type OptimizerSpec } from './optimizers';
export { gridSearch, randomSearch, uniform, logUniform, intUniform, choice } from './search';
export type { Distribution, Trial, TrialOutcome, SearchResult, SearchOptions } from './search';
