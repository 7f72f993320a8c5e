// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto, proto2) that the
// exporter writes and the checker reads, as a protobufjs JSON descriptor. Field numbers are onnx.proto's.
import protobuf from 'protobufjs';

const str = (id: number) => ({ type: 'string', id });
const i64 = (id: number) => ({ type: 'int64', id });
const i32 = (id: number) => ({ type: 'int32', id });
const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });

const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: i64(1),
            opset_import: rep('OperatorSetIdProto', 8),
            producer_name: str(2),
            producer_version: str(3),
            domain: str(4),
            model_version: i64(5),
            doc_string: str(6),
            graph: { type: 'GraphProto', id: 7 },
            metadata_props: rep('StringStringEntryProto', 14),
          },
        },
        OperatorSetIdProto: { fields: { domain: str(1), version: i64(2) } },
        StringStringEntryProto: { fields: { key: str(1), value: str(2) } },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1),
            name: str(2),
            initializer: rep('TensorProto', 5),
            doc_string: str(10),
            input: rep('ValueInfoProto', 11),
            output: rep('ValueInfoProto', 12),
            value_info: rep('ValueInfoProto', 13),
          },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1),
            output: rep('string', 2),
            name: str(3),
            op_type: str(4),
            attribute: rep('AttributeProto', 5),
            doc_string: str(6),
            domain: str(7),
          },
        },
        AttributeProto: {
          fields: {
            name: str(1),
            f: { type: 'float', id: 2 },
            i: i64(3),
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: rep('float', 7),
            ints: rep('int64', 8),
            strings: rep('bytes', 9),
            tensors: rep('TensorProto', 10),
            graphs: rep('GraphProto', 11),
            doc_string: str(13),
            type: i32(20),
          },
        },
        TensorProto: {
          fields: {
            dims: rep('int64', 1),
            data_type: i32(2),
            float_data: rep('float', 4),
            int32_data: rep('int32', 5),
            int64_data: rep('int64', 7),
            name: str(8),
            raw_data: { type: 'bytes', id: 9 },
            doc_string: str(12),
          },
        },
        ValueInfoProto: { fields: { name: str(1), type: { type: 'TypeProto', id: 2 }, doc_string: str(3) } },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } },
        },
        TypeProtoTensor: { fields: { elem_type: i32(1), shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: rep('Dimension', 1) } },
        Dimension: {
          oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
          fields: { dim_value: i64(1), dim_param: str(2), denotation: str(3) },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
export const ModelProtoType = root.lookupType('onnx.ModelProto');

/** AttributeProto.AttributeType */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
/** TensorProto.DataType (the ones used here) */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export const dataTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(DataType).map(([k, v]) => [v, k]),
);

// Plain objects in the shape of the messages (snake_case, as in onnx.proto).
export interface TensorMsg {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
}
export interface AttributeMsg {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
export interface NodeMsg {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeMsg[];
  domain?: string;
}
export interface DimMsg {
  dim_value?: number;
  dim_param?: string;
}
export interface ValueInfoMsg {
  name: string;
  type?: { tensor_type?: { elem_type: number; shape?: { dim: DimMsg[] } } };
}
export interface GraphMsg {
  name: string;
  node: NodeMsg[];
  initializer: TensorMsg[];
  input: ValueInfoMsg[];
  output: ValueInfoMsg[];
  value_info?: ValueInfoMsg[];
  doc_string?: string;
}
export interface ModelMsg {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph: GraphMsg;
  metadata_props?: { key: string; value: string }[];
}

export function encodeModel(m: ModelMsg): Uint8Array {
  const err = ModelProtoType.verify(m);
  if (err) throw new Error(`ONNX model message is malformed: ${err}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(m)).finish();
}

/** Parses ONNX bytes into plain objects (int64 as numbers, bytes as Uint8Array, absent repeated fields as []). */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  const msg = ModelProtoType.decode(bytes);
  return ModelProtoType.toObject(msg, { longs: Number, arrays: true, defaults: false }) as unknown as ModelMsg;
}
