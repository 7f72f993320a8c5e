// Structural checks of an ONNX model: it parses, names are unique, the nodes are in topological order
// (every input is a graph input, an initializer or the output of an earlier node), every op exists in
// the declared opset with an input count its version accepts, initializer data fits the dims, graph
// outputs are produced, the IR version can hold the opset. Not a full onnx.checker (no type inference).
import {
  DataType,
  dataTypeNames,
  decodeModel,
  type GraphMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from '../onnx/proto.js';

export const MIN_OPSET = 12;
export const MAX_OPSET = 17;

/**
 * The ops the exporter can emit: the opset versions in which each was introduced or changed (from
 * the ONNX operator changelog), and the input counts accepted from a given version on.
 */
export const OP_TABLE: Record<string, { versions: number[]; inputs: [since: number, min: number, max: number][] }> = {
  Add: { versions: [1, 6, 7, 13, 14], inputs: [[7, 2, 2]] },
  BatchNormalization: { versions: [1, 6, 7, 9, 14, 15], inputs: [[9, 5, 5]] },
  Cast: { versions: [1, 6, 9, 13, 19, 21], inputs: [[1, 1, 1]] },
  Concat: { versions: [1, 4, 11, 13], inputs: [[4, 1, Infinity]] },
  Conv: { versions: [1, 11], inputs: [[1, 2, 3]] },
  Div: { versions: [1, 6, 7, 13, 14], inputs: [[7, 2, 2]] },
  HardSigmoid: { versions: [1, 6], inputs: [[6, 1, 1]] },
  HardSwish: { versions: [14], inputs: [[14, 1, 1]] },
  Identity: { versions: [1, 13, 14, 16, 19, 21], inputs: [[1, 1, 1]] },
  LeakyRelu: { versions: [1, 6, 16], inputs: [[6, 1, 1]] },
  MaxPool: { versions: [1, 8, 10, 11, 12], inputs: [[1, 1, 1]] },
  Mod: { versions: [10, 13], inputs: [[10, 2, 2]] },
  Mul: { versions: [1, 6, 7, 13, 14], inputs: [[7, 2, 2]] },
  Pad: {
    versions: [1, 2, 11, 13, 18, 19, 21],
    inputs: [
      [2, 1, 1],
      [11, 2, 3],
      [18, 2, 4],
    ],
  },
  Pow: { versions: [1, 7, 12, 13, 15], inputs: [[7, 2, 2]] },
  Range: { versions: [11], inputs: [[11, 3, 3]] },
  Relu: { versions: [1, 6, 13, 14], inputs: [[6, 1, 1]] },
  Reshape: { versions: [1, 5, 13, 14, 19, 21], inputs: [[5, 2, 2]] },
  // X, roi, scales[, sizes]; roi and scales optional from 13
  Resize: {
    versions: [10, 11, 13, 18, 19],
    inputs: [
      [10, 2, 2],
      [11, 3, 4],
      [13, 1, 4],
    ],
  },
  Shape: { versions: [1, 13, 15, 19, 21], inputs: [[1, 1, 1]] },
  Sigmoid: { versions: [1, 6, 13], inputs: [[6, 1, 1]] },
  // data, starts, ends[, axes[, steps]]
  Slice: {
    versions: [1, 10, 11, 13],
    inputs: [
      [1, 1, 1],
      [10, 3, 5],
    ],
  },
  // split sizes: an attribute before 13, an optional input from 13
  Split: {
    versions: [1, 2, 11, 13, 18],
    inputs: [
      [2, 1, 1],
      [13, 1, 2],
    ],
  },
  Sub: { versions: [1, 6, 7, 13, 14], inputs: [[7, 2, 2]] },
  Transpose: { versions: [1, 13, 21], inputs: [[1, 1, 1]] },
};

/** The lowest IR version whose onnx release introduced the opset (onnx.helper's VERSION_TABLE). */
export function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export interface OnnxValueSummary {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface OnnxCheckReport {
  ok: boolean;
  errors: string[];
  warnings: string[];
  irVersion: number;
  opset: number;
  producer: string;
  nodes: number;
  initializers: number;
  /** float parameters stored in the initializers */
  parameters: number;
  /** node count per op, with the opset version each resolves to */
  ops: Record<string, { count: number; version: number }>;
  inputs: OnnxValueSummary[];
  outputs: OnnxValueSummary[];
  metadata: Record<string, string>;
}

const elemSize: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
};

function valueSummary(v: ValueInfoMsg): OnnxValueSummary {
  const tt = v.type?.tensor_type;
  return {
    name: v.name,
    type: tt ? (dataTypeNames[tt.elem_type] ?? `type ${tt.elem_type}`) : 'unknown',
    shape: (tt?.shape?.dim ?? []).map((d) =>
      d.dim_param !== undefined && d.dim_param !== '' ? d.dim_param : (d.dim_value ?? '?'),
    ),
  };
}

function tensorIssue(t: TensorMsg): string | null {
  const dims = t.dims ?? [];
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) return `initializer '${t.name}' has invalid dims [${dims}]`;
  const n = dims.reduce((a, b) => a * b, 1);
  const size = elemSize[t.data_type];
  if (size === undefined) return `initializer '${t.name}' has unsupported data type ${t.data_type}`;
  if (t.raw_data?.length) {
    if (t.raw_data.length !== n * size)
      return `initializer '${t.name}': ${t.raw_data.length} bytes of raw data for dims [${dims}] of ${dataTypeNames[t.data_type]} (${n * size} expected)`;
  } else {
    const typed =
      t.data_type === DataType.FLOAT ? t.float_data : t.data_type === DataType.INT64 ? t.int64_data : t.int32_data;
    if ((typed?.length ?? 0) !== n)
      return `initializer '${t.name}': ${typed?.length ?? 0} values for dims [${dims}] (${n} expected)`;
  }
  return null;
}

/** The version of an op an opset resolves to (the latest change at or before it), or null. */
export function opVersion(op: string, opset: number): number | null {
  const e = OP_TABLE[op];
  if (!e) return null;
  const v = e.versions.filter((x) => x <= opset);
  return v.length ? v[v.length - 1] : null;
}

/** Checks a decoded model (see checkOnnx). */
export function checkModel(m: ModelMsg): OnnxCheckReport {
  const g = m.graph;
  const defaultOpset = (m.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const report = emptyReport(m, defaultOpset?.version ?? 0);
  const { errors, warnings } = report;
  if (!g) {
    errors.push('the model has no graph');
    return report;
  }
  checkVersions(report, defaultOpset !== undefined);
  const names = new DefinedNames(errors);
  checkGraphInputs(g, names, report);
  checkNodes(g, names, report);
  checkGraphOutputs(g, names, errors);
  for (const key of ['stride', 'names']) if (!(key in report.metadata)) warnings.push(`metadata '${key}' is missing`);
  report.ok = errors.length === 0;
  return report;
}

/** The report before any check: what the model header and graph declare, no errors, no parameters counted. */
function emptyReport(m: ModelMsg, opset: number): OnnxCheckReport {
  const g = m.graph;
  return {
    ok: false,
    errors: [],
    warnings: [],
    irVersion: m.ir_version ?? 0,
    opset,
    producer: `${m.producer_name ?? ''} ${m.producer_version ?? ''}`.trim(),
    nodes: g?.node?.length ?? 0,
    initializers: g?.initializer?.length ?? 0,
    parameters: 0,
    ops: {},
    inputs: (g?.input ?? []).map(valueSummary),
    outputs: (g?.output ?? []).map(valueSummary),
    metadata: Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key, p.value])),
  };
}

/** The default-domain opset is imported and known, and the IR version is present and can hold it. */
function checkVersions(report: OnnxCheckReport, hasDefaultOpset: boolean): void {
  const { errors, warnings, opset, irVersion } = report;
  if (!hasDefaultOpset) errors.push('no opset_import for the default (ai.onnx) domain');
  else if (opset < MIN_OPSET || opset > MAX_OPSET)
    warnings.push(`opset ${opset} is outside the range this checker knows (${MIN_OPSET}..${MAX_OPSET})`);
  if (!irVersion) errors.push('ir_version is missing');
  else if (hasDefaultOpset && irVersion < irVersionFor(opset))
    errors.push(`IR version ${irVersion} is too old for opset ${opset} (needs ${irVersionFor(opset)})`);
  else if (irVersion > 10) warnings.push(`IR version ${irVersion} may be too new for some runtimes`);
}

/** The value names defined so far (initializers, graph inputs, node outputs) and what defined each. */
class DefinedNames {
  private readonly by = new Map<string, string>(); // name → what defines it

  constructor(private readonly errors: string[]) {}

  /** Defines `name`; an empty name or a second definition is an error. */
  define(name: string, what: string): void {
    if (!name) {
      this.errors.push(`${what} has an empty name`);
      return;
    }
    const prev = this.by.get(name);
    if (prev) this.errors.push(`'${name}' is defined twice (${prev} and ${what})`);
    else this.by.set(name, what);
  }

  has(name: string): boolean {
    return this.by.has(name);
  }

  /** What defined `name`, if it is defined. */
  definer(name: string): string | undefined {
    return this.by.get(name);
  }
}

/**
 * Defines the initializers (checking that their data fits their dims, and counting the float ones as
 * parameters) and then the graph inputs that are not initializers (each needs a tensor type).
 */
function checkGraphInputs(g: GraphMsg, names: DefinedNames, report: OnnxCheckReport): void {
  const { errors } = report;
  for (const t of g.initializer ?? []) {
    names.define(t.name, `initializer '${t.name}'`);
    const issue = tensorIssue(t);
    if (issue) errors.push(issue);
    else if (t.data_type === DataType.FLOAT || t.data_type === DataType.FLOAT16)
      report.parameters += (t.dims ?? []).reduce((a, b) => a * b, 1);
  }
  for (const v of g.input ?? []) {
    if (names.definer(v.name)?.startsWith('initializer')) continue; // an initializer may be listed as an input too (IR < 4 style)
    names.define(v.name, `graph input '${v.name}'`);
    if (!v.type?.tensor_type) errors.push(`graph input '${v.name}' has no tensor type`);
  }
}

/**
 * Checks every node in order: a unique name, the default domain, an op of the opset (see checkNodeOp),
 * inputs already defined (an input produced by a later node means the graph is not topologically
 * sorted), then defines its outputs.
 */
function checkNodes(g: GraphMsg, names: DefinedNames, report: OnnxCheckReport): void {
  const { errors, warnings } = report;
  // all names any node produces, to tell "defined later" from "never defined"
  const producedAt = new Map<string, number>();
  (g.node ?? []).forEach((n, k) => (n.output ?? []).forEach((o) => producedAt.has(o) || producedAt.set(o, k)));

  const nodeNames = new Set<string>();
  (g.node ?? []).forEach((n, k) => {
    const label = `node ${k} '${n.name ?? ''}' (${n.op_type})`;
    if (!n.name) warnings.push(`node ${k} (${n.op_type}) has no name`);
    else if (nodeNames.has(n.name)) errors.push(`node name '${n.name}' is used twice`);
    else nodeNames.add(n.name);
    if (n.domain && n.domain !== 'ai.onnx') errors.push(`${label}: domain '${n.domain}' is not imported`);
    checkNodeOp(n, label, report);
    (n.input ?? []).forEach((inp, j) => {
      if (inp === '') return; // an omitted optional input
      if (names.has(inp)) return;
      const at = producedAt.get(inp);
      if (at === undefined)
        errors.push(
          `${label}: input ${j} '${inp}' is not defined (no graph input, initializer or node output has that name)`,
        );
      else
        errors.push(
          `${label}: input ${j} '${inp}' is produced later, by node ${at} (the graph is not topologically sorted)`,
        );
    });
    for (const o of n.output ?? []) names.define(o, label);
  });
}

/**
 * A node's op: known, existing in the model's opset, given an input count its version accepts (then
 * counted in report.ops), and for Split from opset 13 without the retired 'split' attribute.
 */
function checkNodeOp(n: NodeMsg, label: string, report: OnnxCheckReport): void {
  const { errors, opset } = report;
  const entry = OP_TABLE[n.op_type];
  const version = opVersion(n.op_type, opset);
  if (!entry) errors.push(`${label}: op ${n.op_type} is not in the table of known ops`);
  else if (version === null)
    errors.push(`${label}: op ${n.op_type} does not exist in opset ${opset} (introduced in ${entry.versions[0]})`);
  else {
    const rule = entry.inputs.filter(([since]) => since <= version).pop();
    const nIn = (n.input ?? []).length;
    if (rule && (nIn < rule[1] || nIn > rule[2]))
      errors.push(
        `${label}: ${nIn} inputs, ${n.op_type}-${version} takes ${rule[1]}${rule[2] === Infinity ? '+' : rule[2] === rule[1] ? '' : `..${rule[2]}`}`,
      );
    const r = (report.ops[n.op_type] ??= { count: 0, version });
    r.count++;
  }
  if (n.op_type === 'Split' && opset >= 13 && (n.attribute ?? []).some((a) => a.name === 'split'))
    errors.push(`${label}: the 'split' attribute became an input in opset 13`);
}

/** Every graph output is produced and has a tensor type, and there is at least one. */
function checkGraphOutputs(g: GraphMsg, names: DefinedNames, errors: string[]): void {
  for (const v of g.output ?? []) {
    if (!names.has(v.name)) errors.push(`graph output '${v.name}' is not produced by any node`);
    if (!v.type?.tensor_type) errors.push(`graph output '${v.name}' has no tensor type`);
  }
  if (!(g.output ?? []).length) errors.push('the graph has no outputs');
}

/** Parses ONNX bytes and checks the graph's structure (see checkModel). A file that does not parse gives one error. */
export function checkOnnx(bytes: Uint8Array): OnnxCheckReport {
  let m: ModelMsg;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    return {
      ok: false,
      errors: [`not an ONNX model: ${(e as Error).message}`],
      warnings: [],
      irVersion: 0,
      opset: 0,
      producer: '',
      nodes: 0,
      initializers: 0,
      parameters: 0,
      ops: {},
      inputs: [],
      outputs: [],
      metadata: {},
    };
  }
  return checkModel(m);
}

/** One line per check result, for the CLI. */
export function formatCheck(r: OnnxCheckReport): string {
  const io = (vs: OnnxValueSummary[]): string => vs.map((v) => `${v.name} ${v.type}[${v.shape.join(',')}]`).join(', ');
  const ops = Object.entries(r.ops)
    .sort((a, b) => b[1].count - a[1].count)
    .map(([k, v]) => `${k}-${v.version}×${v.count}`)
    .join(' ');
  const lines = [
    `ONNX check: ${r.ok ? 'passed' : 'FAILED'} (IR ${r.irVersion}, opset ${r.opset}, ${r.nodes} nodes, ${r.initializers} initializers, ${r.parameters.toLocaleString('en-US')} parameters)`,
    `  inputs: ${io(r.inputs)}; outputs: ${io(r.outputs)}`,
    `  ops: ${ops}`,
  ];
  for (const e of r.errors) lines.push(`  error: ${e}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
