/** wt.nn: modules, layers, initializers (wt.nn.init) and losses / penalties (wt.nn.functional). */
export { Module } from './module';
export { Linear, Sequential, ReLU, Tanh, Sigmoid, LeakyReLU, GELU, Identity, Flatten, Unflatten, Dropout, type LinearOptions } from './layers';
export { Conv2d, MaxPool2d, AvgPool2d, type Conv2dLayerOptions, type Size2d } from './conv';
export { mlp, type MlpOptions, type ActivationName } from './mlp';
export { linear, type LinearActivation } from './linear';
export { dropout, type DropoutOptions } from './dropout';
export * as init from './init';
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm, NormLayer } from './norm';
export type { BatchNormModuleOptions, LayerNormOptions, GroupNormOptions } from './norm';
export * as functional from './functional';
