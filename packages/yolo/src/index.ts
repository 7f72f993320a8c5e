// tsyolo: YOLOv5 on libtorch for TypeScript.
export const version = '0.1.0';
