// What a detector's ONNX file says about itself: the image input and detections output (names, shapes,
// float32 or float16) and yolov5's `stride` / `names` metadata. Read with the exporter's protobuf schema.

import { parseNames, parseStride } from '../portable/metadata.js';
import { DataType, decodeModel, type ModelMsg, type ValueInfoMsg } from './proto.js';

export interface OnnxIo {
  name: string;
  /** the dimensions, null where symbolic (dynamic) */
  dims: (number | null)[];
  half: boolean;
}

export interface OnnxInfo {
  input: OnnxIo;
  output: OnnxIo;
  /** the largest stride (metadata `stride`, default 32) */
  stride: number;
  /** one name per class (metadata `names`; class<i> where missing) */
  names: string[];
  nc: number;
  /** input batch, or null when dynamic */
  batch: number | null;
  /** input [h, w], or null when height and width are dynamic */
  shape: [number, number] | null;
  half: boolean;
  /** metadata_props as written */
  metadata: Record<string, string>;
}

function describe(source: string, v: ValueInfoMsg | undefined, what: string): OnnxIo {
  const tt = v?.type?.tensor_type;
  if (!v || !tt) throw new Error(`${source}: the model has no tensor ${what}`);
  if (tt.elem_type !== DataType.FLOAT && tt.elem_type !== DataType.FLOAT16)
    throw new Error(`${source}: ${what} '${v.name}' is not float32 or float16 (ONNX type ${tt.elem_type})`);
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dim_value && d.dim_value > 0 ? d.dim_value : null));
  return { name: v.name, dims, half: tt.elem_type === DataType.FLOAT16 };
}

const show = (dims: (number | null)[]): string => `[${dims.map((d) => d ?? '?').join(', ')}]`;

/** Reads and checks a detector's ONNX bytes (source names the file in errors). */
export function onnxInfo(bytes: Uint8Array, source: string): OnnxInfo {
  let msg: ModelMsg;
  try {
    msg = decodeModel(bytes);
  } catch (e) {
    throw new Error(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  const graph = msg.graph;
  if (!graph?.node?.length) throw new Error(`${source}: not an ONNX model (no graph)`);
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((v) => !inits.has(v.name));
  if (inputs.length !== 1)
    throw new Error(
      `${source}: expected one image input, the model has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`,
    );
  const input = describe(source, inputs[0], 'input');
  const output = describe(source, graph.output[0], 'output');
  const [b, c, h, w] = input.dims;
  if (input.dims.length !== 4 || (c !== null && c !== 3))
    throw new Error(`${source}: input '${input.name}' is ${show(input.dims)}, expected [batch, 3, height, width]`);
  if ((h === null) !== (w === null))
    throw new Error(`${source}: input height and width must both be fixed or both dynamic`);
  const no = output.dims[2];
  if (output.dims.length !== 3 || no === null || no === undefined || no < 6)
    throw new Error(
      `${source}: output '${output.name}' is ${show(output.dims)}, expected [batch, anchors, 5 + classes]`,
    );
  const nc = no - 5;
  const metadata = Object.fromEntries((msg.metadata_props ?? []).map((p) => [p.key, p.value]));
  const where = (key: string, e: unknown): Error => new Error(`${source}: metadata '${key}': ${(e as Error).message}`);
  let names: string[] | null = null;
  if (metadata.names !== undefined) {
    try {
      names = parseNames(metadata.names);
    } catch (e) {
      throw where('names', e);
    }
    if (names.length > nc)
      throw new Error(`${source}: metadata 'names' has ${names.length} classes, the output has ${nc}`);
  }
  let stride: number;
  try {
    stride = metadata.stride === undefined ? 32 : parseStride(metadata.stride);
  } catch (e) {
    throw where('stride', e);
  }
  const shape: [number, number] | null = h !== null && w !== null ? [h, w] : null;
  if (shape && (shape[0] % stride || shape[1] % stride))
    throw new Error(`${source}: input ${shape.join('x')} is not a multiple of the stride ${stride}`);
  return {
    input,
    output,
    stride,
    names: Array.from({ length: nc }, (_, i) => names?.[i] ?? `class${i}`),
    nc,
    batch: b,
    shape,
    half: input.half,
    metadata,
  };
}
