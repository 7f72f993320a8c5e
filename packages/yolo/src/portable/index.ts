// Pre- and post-processing in plain TypeScript: no libtorch, no Node APIs. The ONNX Runtime backend in
// Node (src/detect/onnx-model.ts) and the exported web page (web/page.ts, bundled by esbuild) share it.
export type { Pixels, Box, Detection, LetterboxedInput, DetectionRows, NmsOptions } from './types.js';
export { toRgb, letterboxInput, type LetterboxInputOptions } from './letterbox.js';
export { greedyNms, nonMaxSuppressionRows, MAX_WH, MAX_NMS } from './nms.js';
export { scaleBoxRows, toDetections } from './scale.js';
export { parseNames, parseStride, parsePythonLiteral } from './metadata.js';
