// A small, fast, seedable generator (PCG32-style on BigInt-free 32-bit arithmetic via
// xoshiro128**), so every random choice in the data pipeline flows from (seed, epoch, index)
// and does not depend on worker count or order.
import type { Rng } from './types.js';

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t = t ^ (t >>> 15);
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** uniform, randint and choice derived from random(): subclasses supply the stream. */
export abstract class RngBase implements Rng {
  abstract random(): number;
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }
  randint(a: number, b: number): number {
    return a + Math.floor(this.random() * (b - a + 1));
  }
  choice<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)];
  }
}

export class Xoshiro128 extends RngBase {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(...seeds: number[]) {
    super();
    // mix every seed component into the state
    let h = 0x811c9dc5;
    for (const s of seeds) h = Math.imul(h ^ (s >>> 0), 0x01000193) ^ Math.floor(s / 2 ** 32);
    const sm = splitmix32(h);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm() | 1;
  }
  private next(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  random(): number {
    // 53 bits from two draws
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator for one sample of one epoch. */
export function sampleRng(seed: number, epoch: number, index: number): Rng {
  return new Xoshiro128(seed, epoch, index);
}
