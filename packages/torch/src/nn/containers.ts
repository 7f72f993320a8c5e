// Sequential and ModuleList: children named "0", "1", ...
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }
  push(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new RangeError(`ModuleList: no module ${i} (length ${this.items.length})`);
    return m;
  }
  get length(): number {
    return this.items.length;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  forward(): never {
    throw new Error('ModuleList has no forward(); iterate over it');
  }
}

type Layer = Module & { forward(x: Tensor): Tensor };

/** Modules applied one after another; children named "0", "1", ... */
export class Sequential extends Module {
  private readonly layers: Layer[] = [];
  constructor(...modules: Layer[]) {
    super();
    for (const m of modules) this.push(m);
  }
  push(m: Layer): this {
    this.registerModule(String(this.layers.length), m);
    this.layers.push(m);
    return this;
  }
  at(i: number): Layer {
    const m = this.layers[i < 0 ? i + this.layers.length : i];
    if (!m) throw new RangeError(`Sequential: no module ${i} (length ${this.layers.length})`);
    return m;
  }
  get length(): number {
    return this.layers.length;
  }
  [Symbol.iterator](): Iterator<Layer> {
    return this.layers[Symbol.iterator]();
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
