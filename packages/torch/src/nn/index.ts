export { BatchNorm2d, type BatchNormConfig, convertSyncBatchNorm } from './batchnorm.js';
export { ModuleList, Sequential } from './containers.js';
export { Conv2d, type Conv2dConfig } from './conv.js';
export * as init from './init.js';
export { Hardswish, Identity, LeakyReLU, MaxPool2d, ReLU, Sigmoid, SiLU, Upsample } from './layers.js';
export { type LoadResult, Module, type StateDict } from './module.js';
