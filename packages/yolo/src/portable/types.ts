// Shapes shared by the pre/post-processing that runs without libtorch and without Node (the ONNX
// Runtime backend in Node and the browser page use the same code).

/** A decoded image: height × width × 3 bytes, RGB, row-major (what sharp decodes to). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decoded pixels, row-major: RGB (3 bytes per pixel) or RGBA (4, as a canvas's ImageData). */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** [x1, y1, x2, y2] in pixels. */
export type Box = [number, number, number, number];

export interface Detection {
  /** [x1, y1, x2, y2] in original image pixels */
  box: Box;
  conf: number;
  cls: number;
  name: string;
}

/** A model input made from one image by letterboxInput. */
export interface LetterboxedInput {
  /** 3 × h × w float32 in 0..1 (CHW, RGB) */
  data: Float32Array;
  /** letterboxed size [h, w] */
  shape: [number, number];
  /** [width ratio, height ratio] */
  ratio: [number, number];
  /** [dw, dh]: padding on each side */
  pad: [number, number];
}

/** Rows of [x1, y1, x2, y2, conf, cls], n × 6, sorted by decreasing confidence. */
export interface DetectionRows {
  rows: Float32Array;
  n: number;
}

export interface NmsOptions {
  /** candidates need obj > confThres, detections conf (obj·cls) > confThres. Default 0.25. */
  confThres?: number;
  /** IoU above which the weaker box is suppressed. Default 0.45. */
  iouThres?: number;
  /** keep only these class indices */
  classes?: readonly number[] | null;
  /** class-agnostic NMS (no class offsets). Default false. */
  agnostic?: boolean;
  /** one detection per (box, class) with conf > confThres instead of the best class only. Default false. */
  multiLabel?: boolean;
  /** at most this many detections per image. Default 300. */
  maxDet?: number;
}
