// Walking unpickled torch.nn.Module objects (PyObjects whose state holds _parameters, _buffers
// and _modules) and collecting the tensors of any loaded value.
import { Tensor } from '../tensor.js';
import { PyDict, PyObject } from './pyvalues.js';

function dictAttr(obj: PyObject, key: string): PyDict | undefined {
  const v = obj.attr(key);
  return v instanceof PyDict ? v : undefined;
}

/**
 * module.state_dict() for an unpickled nn.Module: per module its parameters, then its persistent
 * buffers, then its children in order, with dotted names; None entries are skipped. The tensors are
 * the module's own (not copies).
 */
export function stateDictFromModule(obj: PyObject, prefix = '', out = new Map<string, Tensor>()): Map<string, Tensor> {
  const params = dictAttr(obj, '_parameters');
  const buffers = dictAttr(obj, '_buffers');
  const modules = dictAttr(obj, '_modules');
  if (!params || !buffers || !modules)
    throw new Error(`stateDictFromModule: ${obj} is not a torch.nn.Module (no _parameters/_buffers/_modules)`);
  const nonPersistent = obj.attr('_non_persistent_buffers_set');
  const skip = nonPersistent instanceof Set ? nonPersistent : new Set();
  const add = (name: unknown, v: unknown): void => {
    if (v === null || v === undefined) return;
    if (!(v instanceof Tensor)) throw new Error(`stateDictFromModule: ${prefix}${String(name)} is not a tensor`);
    out.set(`${prefix}${String(name)}`, v);
  };
  for (const [name, v] of params) add(name, v);
  for (const [name, v] of buffers) if (!skip.has(name)) add(name, v);
  for (const [name, m] of modules) {
    if (m === null || m === undefined) continue;
    if (!(m instanceof PyObject))
      throw new Error(`stateDictFromModule: child ${prefix}${String(name)} is not a module`);
    stateDictFromModule(m, `${prefix}${String(name)}.`, out);
  }
  return out;
}

/** Every distinct tensor reachable from a loaded value (e.g. to dispose a whole checkpoint). */
export function collectTensors(value: unknown): Tensor[] {
  const found = new Set<Tensor>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) found.add(v);
    else if (Array.isArray(v) || v instanceof Set) for (const x of v) stack.push(x);
    else if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof PyObject) stack.push(v.args, v.kwargs, v.state, v.items, v.list);
    else if (!ArrayBuffer.isView(v)) for (const x of Object.values(v)) stack.push(x);
  }
  return [...found];
}
