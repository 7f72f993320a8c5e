// Argument parsers for commander options.
import { InvalidArgumentError } from 'commander';

export function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return n;
}
export function float(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
}
/**
 * Variadic integers: --freeze 0 1 2 (commander passes one value at a time, starting from the
 * default array, which is replaced rather than extended).
 */
export function ints(v: string, prev: number[] | undefined): number[] {
  const n = int(v);
  return prev && !defaults.has(prev) ? [...prev, n] : [n];
}
const defaults = new WeakSet<number[]>();
/** Marks an array as a default value for ints(). */
export function intsDefault(xs: number[]): number[] {
  const copy = [...xs];
  defaults.add(copy);
  return copy;
}
