// ONNX and TensorRTx (.wts) export, structural checks and ONNX Runtime verification.

export {
  type AttributeMsg,
  AttrType,
  DataType,
  decodeModel,
  encodeModel,
  type GraphMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from '../onnx/proto.js';
export { sampleImages } from '../util/assets.js';
export {
  checkModel,
  checkOnnx,
  formatCheck,
  irVersionFor,
  MAX_OPSET,
  MIN_OPSET,
  type OnnxCheckReport,
  type OnnxValueSummary,
  OP_TABLE,
  opVersion,
} from './check.js';
export {
  buildOnnxModel,
  exportOnnx,
  exportOnnxDetailed,
  namesDictString,
  type OnnxExportInfo,
  type OnnxExportOptions,
  pyRepr,
} from './onnx.js';
export {
  createSession,
  formatVerify,
  runSession,
  type VerifyOptions,
  type VerifyReport,
  verifyOnnx,
} from './verify.js';
export { encodeWts, parseWts, readWts, type WtsOptions, writeWts, wtsTensors } from './wts.js';
