// Pre- and post-processing in plain TypeScript: no libtorch, no Node APIs. The ONNX Runtime backend in
// Node (src/detect/onnx-model.ts) and the exported web page (web/page.ts, bundled by esbuild) share it.

export { type LetterboxInputOptions, letterboxInput, toRgb } from './letterbox.js';
export { parseNames, parsePythonLiteral, parseStride } from './metadata.js';
export { greedyNms, MAX_NMS, MAX_WH, nonMaxSuppressionRows } from './nms.js';
export { scaleBoxRows, toDetections } from './scale.js';
export type { Box, Detection, DetectionRows, LetterboxedInput, NmsOptions, Pixels } from './types.js';
