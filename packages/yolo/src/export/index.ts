// ONNX and TensorRTx (.wts) export, structural checks and ONNX Runtime verification.
export { exportOnnx, exportOnnxDetailed, buildOnnxModel, namesDictString, pyRepr, type OnnxExportOptions, type OnnxExportInfo } from './onnx.js';
export { checkOnnx, checkModel, formatCheck, opVersion, irVersionFor, OP_TABLE, MIN_OPSET, MAX_OPSET, type OnnxCheckReport, type OnnxValueSummary } from './check.js';
export { encodeModel, decodeModel, DataType, AttrType, type ModelMsg, type GraphMsg, type NodeMsg, type TensorMsg, type AttributeMsg, type ValueInfoMsg } from '../onnx/proto.js';
export { sampleImages } from '../util/assets.js';
export { verifyOnnx, formatVerify, createSession, runSession, type VerifyOptions, type VerifyReport } from './verify.js';
export { writeWts, readWts, parseWts, encodeWts, wtsTensors, type WtsOptions } from './wts.js';
