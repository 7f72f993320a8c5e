// The JS shapes of unpickled Python values that have no native JS equivalent.
//
// Mapping used by the unpickler: None -> null, bool -> boolean, int -> number (bigint beyond
// 2^53), float -> number, str -> string, bytes/bytearray -> Uint8Array, tuple/list -> Array,
// set/frozenset -> Set, dict/OrderedDict -> PyDict, a class reference -> PyClass, an instance
// of a class nobody resolved -> PyObject.

/**
 * A Python dict (or collections.OrderedDict): a Map in insertion order. Keys are whatever the
 * pickle holds (strings and numbers compare by value; tuple keys are arrays, compared by identity).
 */
export class PyDict<V = unknown> extends Map<unknown, V> {}

/** A reference to a Python class or function (pickle GLOBAL) that was not resolved to JS. */
export class PyClass {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
  toString(): string {
    return `<class ${this.qualifiedName}>`;
  }
}

/**
 * An instance of an unresolved Python class: what it was constructed with (REDUCE/NEWOBJ args)
 * and the state BUILD gave it (for most objects, including torch nn.Modules, a PyDict of attributes).
 */
export class PyObject {
  state: unknown = undefined;
  /** Items set by SETITEM(S), for subclasses of dict. */
  items?: PyDict;
  /** Items added by APPEND(S), for subclasses of list. */
  list?: unknown[];
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: unknown[] = [],
    readonly kwargs?: PyDict,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
  /** An attribute from a dict state (undefined when absent or when the state is not a dict). */
  attr(key: string): unknown {
    return this.state instanceof PyDict ? this.state.get(key) : undefined;
  }
  toString(): string {
    return `<${this.qualifiedName} object>`;
  }
}

/** A Python callable resolved to JS: called by REDUCE, NEWOBJ and NEWOBJ_EX. */
export type PyFunction = (args: unknown[], kwargs?: PyDict) => unknown;

/** Implemented by values that accept pickle BUILD state themselves (like Python's __setstate__). */
export interface PySettable {
  __setstate__(state: unknown): void;
}

export function isSettable(v: unknown): v is PySettable {
  return typeof v === 'object' && v !== null && typeof (v as PySettable).__setstate__ === 'function';
}
