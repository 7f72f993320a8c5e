// @tsyolo/torch: libtorch tensors, autograd, nn, optim and file formats for TypeScript.

export { enableGrad, inferenceMode, isGradEnabled, noGrad } from './autograd.js';
export * from './creation.js';
export * as dist from './distributed/index.js';
export type { DType } from './dtype.js';
export { elementSize, isFloating } from './dtype.js';
export { applyFunction, type CustomFunction, FunctionContext, pendingFunctions } from './function.js';
export * as F from './functional.js';
export { foreachAdd, foreachAdd_, foreachMul_, foreachNorm } from './foreach.js';
export { writeFileAtomic } from './io/atomic.js';
export { encodeNpy, loadNpy, parseNpy, saveNpy } from './io/npy.js';
export { NdArray, NpDtype } from './io/numpy-pickle.js';
export { type UnpickleOptions, unpickle } from './io/pickle.js';
export { type LoadPtOptions, loadPt, type PtValue, parsePt } from './io/pt.js';
export { PyClass, PyDict, type PyFunction, PyObject, type PySettable } from './io/pyvalues.js';
export {
  encodeSafetensors,
  loadSafetensors,
  parseSafetensors,
  readSafetensorsMetadata,
  type Safetensors,
  saveSafetensors,
} from './io/safetensors.js';
export { collectTensors, stateDictFromModule } from './io/state-dict.js';
export * as nn from './nn/index.js';
export { callOp, callTensor, type OpResult, opSchema } from './ops.js';
export { clipGradNorm_ } from './optim/clip.js';
export * as optim from './optim/index.js';
export {
  cuda,
  getNumThreads,
  getRngState,
  handleMode,
  libtorchVersion,
  manualSeed,
  setNumThreads,
  setRngState,
  trimMemory,
} from './runtime.js';
export { keep, Scope, scopeDepth, tidy, unkeep } from './scope.js';
export { type IndexSpec, Tensor, type TypedArrayOf } from './tensor.js';
