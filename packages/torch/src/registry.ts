// Op ids by qualified name ("add.Tensor"), looked up once in the c10 dispatcher.
import { native } from './native.js';

const ids = new Map<string, number>();

export function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    const dot = qualified.lastIndexOf('.');
    const [name, overload] = dot > 0 ? [qualified.slice(0, dot), qualified.slice(dot + 1)] : [qualified, ''];
    id = native.lookupOp(name, overload);
    ids.set(qualified, id);
  }
  return id;
}
