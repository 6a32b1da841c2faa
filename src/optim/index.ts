/** wt.optim: optimizers as fused kernels over parameter arenas, schedules, SWA, Newton. */
export { Optimizer, type LearningRate, type ParamGroup, type ParamGroupSpec, type OptimizerOptions } from './optimizer';
export { SGD, SGD_DEFAULTS, type SGDOptions } from './sgd';
export { Adam, AdamW, ADAM_DEFAULTS, type AdamOptions } from './adam';
export { Adagrad, ADAGRAD_DEFAULTS, type AdagradOptions } from './adagrad';
export { RMSprop, RMSPROP_DEFAULTS, type RMSpropOptions } from './rmsprop';
export { ParamArena } from './arena';
export * as schedule from './schedule';
export { clipGradNorm } from './clip';
export { SWA } from './swa';
export { Newton } from './newton';
export { OPTIMIZER_SHADER_VARIANTS } from './kernels';
