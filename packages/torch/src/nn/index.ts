export { Module, type StateDict, type LoadResult } from './module.js';
export { Conv2d, type Conv2dConfig } from './conv.js';
export { BatchNorm2d, convertSyncBatchNorm, type BatchNormConfig } from './batchnorm.js';
export { SiLU, ReLU, LeakyReLU, Sigmoid, Hardswish, Identity, MaxPool2d, Upsample } from './layers.js';
export { ModuleList, Sequential } from './containers.js';
export * as init from './init.js';
