// tsyolo: YOLOv5 on libtorch for TypeScript.
export const version = '0.1.0';
export * from './models/index.js';
export * from './boxes/convert.js';
export { nms, nonMaxSuppression, maxWh, maxNms, type NmsOptions } from './boxes/nms.js';
