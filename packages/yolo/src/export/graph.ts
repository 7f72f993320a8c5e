// A small ONNX graph builder: nodes in the order they are added (so the graph is topologically sorted
// by construction), unique node and value names, initializers (float32 or float16), cached constants.
import { fromTypedArray, noGrad, type Tensor, tidy } from '@tsyolo/torch';
import { type AttributeMsg, AttrType, DataType, type NodeMsg, type TensorMsg } from '../onnx/proto.js';

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Largest int64 for Slice ends ("to the end"), as exporters write it. */
export const INT64_MAX = Number.MAX_SAFE_INTEGER;

function attribute(name: string, v: AttrValue): AttributeMsg {
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use { float })`);
    return { name, type: AttrType.INT, i: v };
  }
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();
  /** the float type of activations and float initializers (FLOAT or FLOAT16) */
  readonly floatType: number;

  constructor(readonly half: boolean) {
    this.floatType = half ? DataType.FLOAT16 : DataType.FLOAT;
  }

  /** A name not used yet (base, else base_1, base_2, ...). */
  unique(base: string, take = true): string {
    let n = base;
    for (let k = 1; this.used.has(n); k++) n = `${base}_${k}`;
    if (take) this.used.add(n);
    return n;
  }
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX name '${name}' is already used`);
    this.used.add(name);
    return name;
  }

  /**
   * Adds a node. scope is a slash path ("/model.2/cv1/conv"); the node is named scope/Op and its
   * outputs scope/Op_output_k, unless outputs are given.
   */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    scope = '',
    outputs?: string[] | number,
  ): string[] {
    const name = this.unique(`${scope}/${op}`);
    const outs = Array.isArray(outputs)
      ? outputs.map((o) => this.reserve(o))
      : Array.from({ length: outputs ?? 1 }, (_, k) => this.unique(`${name}_output_${k}`));
    this.nodes.push({
      name,
      op_type: op,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }
  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, scope = '', output?: string): string {
    return this.node(op, inputs, attrs, scope, output === undefined ? 1 : [output])[0];
  }

  /** A float initializer from float32 values, stored as float32 or (half) float16 rounded by libtorch. */
  floatInit(name: string, data: Float32Array, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
    let raw: Uint8Array;
    if (this.half) {
      const h = tidy(() => fromTypedArray(data, [data.length]).half().toTypedArray() as Uint16Array);
      raw = bytesOf(h);
    } else raw = bytesOf(data);
    this.initializers.push({ name: this.reserve(name), dims, data_type: this.floatType, raw_data: raw });
    return name;
  }
  /** A float initializer from a tensor (any float dtype, values taken as float32 first). */
  tensorInit(name: string, t: Tensor, dims?: number[]): string {
    const data = noGrad(() => tidy(() => t.detach().float().contiguous().toTypedArray() as Float32Array));
    return this.floatInit(name, data, dims ?? [...t.shape]);
  }
  /** A float32 initializer whatever the model precision (Resize scales and roi). */
  float32Init(name: string, data: number[], dims: number[]): string {
    this.initializers.push({
      name: this.reserve(name),
      dims,
      data_type: DataType.FLOAT,
      raw_data: bytesOf(new Float32Array(data)),
    });
    return name;
  }
  int64Init(name: string, data: number[], dims: number[]): string {
    this.initializers.push({
      name: this.reserve(name),
      dims,
      data_type: DataType.INT64,
      raw_data: bytesOf(BigInt64Array.from(data.map((v) => BigInt(v)))),
    });
    return name;
  }

  /** A shared int64 constant (1-D, or a scalar when scalar is true). */
  constInt64(values: number[], scalar = false): string {
    const key = `i64${scalar ? 's' : ''}:${values.join(',')}`;
    let n = this.constCache.get(key);
    if (!n) {
      n = this.int64Init(
        this.unique(`/Constant_i64_${scalar ? values[0] : `[${values.join(',')}]`}`, false),
        values,
        scalar ? [] : [values.length],
      );
      this.constCache.set(key, n);
    }
    return n;
  }
  /** A shared empty float32 tensor (Resize's unused roi). */
  emptyFloat32(): string {
    let n = this.constCache.get('empty-f32');
    if (!n) {
      n = this.float32Init(this.unique('/Constant_empty_f32', false), [], [0]);
      this.constCache.set('empty-f32', n);
    }
    return n;
  }
  /** A shared float scalar constant in the model's float type. */
  constFloat(value: number): string {
    const key = `f:${value}`;
    let n = this.constCache.get(key);
    if (!n) {
      n = this.floatInit(this.unique(`/Constant_f_${value}`, false), new Float32Array([value]), []);
      this.constCache.set(key, n);
    }
    return n;
  }
}
