// Argument parsers for commander options. Every numeric flag is checked here, at the command-line
// boundary: the message names the allowed range (commander prefixes it with the flag and the value).
import { InvalidArgumentError } from 'commander';

/** The largest --imgsz any command accepts (a 3 × 8192 × 8192 image is 200 MB as uint8, 800 MB as float). */
export const MAX_IMGSZ = 8192;
/** Seeds as numpy takes them (0 .. 2^32 - 1). */
export const MAX_SEED = 2 ** 32 - 1;

type Parser = (v: string) => number;

export function int(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return n;
}
export function float(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
}

function describeIntRange(min: number, max: number): string {
  if (max === Infinity)
    return min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
  return `an integer from ${min} to ${max}`;
}

/** An integer parser that accepts min..max (inclusive); `hint` is added to the error (what to do). */
export function intIn(min: number, max = Infinity, hint = ''): Parser {
  return (v) => {
    const n = int(v);
    if (n < min || n > max)
      throw new InvalidArgumentError(`must be ${describeIntRange(min, max)} (got ${v})${hint ? `; ${hint}` : ''}`);
    return n;
  };
}
/** A number parser that accepts min..max (inclusive). */
export function floatIn(min: number, max: number): Parser {
  return (v) => {
    const n = float(v);
    if (n < min || n > max) throw new InvalidArgumentError(`must be a number from ${min} to ${max} (got ${v})`);
    return n;
  };
}

/** 1, 2, 3, ... */
export const positiveInt = intIn(1);
/** 0, 1, 2, ... */
export const nonNegativeInt = intIn(0);
/** An image size in pixels (rounded up to a multiple of the model's stride where it is used). */
export const imgSize = intIn(
  1,
  MAX_IMGSZ,
  'sizes are rounded up to a multiple of the model stride (32: 320, 640, 1280, ...)',
);
/** A probability-like threshold: confidence and IoU thresholds. */
export const unitFloat = floatIn(0, 1);
/** A seed. */
export const seed = intIn(0, MAX_SEED);
/** train --batch-size: a positive total batch, or -1 for yolov5's AutoBatch. */
export function batchSizeOrAuto(v: string): number {
  const n = int(v);
  if (n !== -1 && n < 1) throw new InvalidArgumentError(`must be a positive integer, or -1 for AutoBatch (got ${v})`);
  return n;
}
/** A TCP port. */
export const port = intIn(1, 65535);

/**
 * Variadic integers: --freeze 0 1 2 (commander passes one value at a time, starting from the
 * default array, which is replaced rather than extended). `each` checks every value.
 */
export function intList(each: Parser = int): (v: string, prev: number[] | undefined) => number[] {
  return (v, prev) => {
    const n = each(v);
    return prev && !defaults.has(prev) ? [...prev, n] : [n];
  };
}
/** Variadic integers without a range. */
export const ints = intList(int);
const defaults = new WeakSet<number[]>();
/** Marks an array as a default value for ints() / intList(). */
export function intsDefault(xs: number[]): number[] {
  const copy = [...xs];
  defaults.add(copy);
  return copy;
}
