// Spatial pyramid pooling (SPP, SPPF), Focus, Concat, and the zero padding layer of yolov3-tiny.
import { cat, F, nn, type Tensor } from '@tsyolo/torch';
import { Conv } from './conv.js';

export class SPP extends nn.Module {
  readonly cv1: Conv;
  readonly cv2: Conv;
  readonly m: nn.ModuleList<nn.MaxPool2d>;
  constructor(c1: number, c2: number, k: number[] = [5, 9, 13]) {
    super();
    const c = Math.trunc(c1 / 2);
    this.cv1 = this.registerModule('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new Conv(c * (k.length + 1), c2, 1, 1));
    this.m = this.registerModule('m', new nn.ModuleList(k.map((x) => new nn.MaxPool2d(x, 1, Math.floor(x / 2)))));
  }
  forward(x: Tensor): Tensor {
    const y = this.cv1.forward(x);
    return this.cv2.forward(cat([y, ...[...this.m].map((m) => m.forward(y))], 1));
  }
}

/** SPP with one kernel applied three times in a row: the same output as SPP(5, 9, 13), faster. */
export class SPPF extends nn.Module {
  readonly cv1: Conv;
  readonly cv2: Conv;
  readonly m: nn.MaxPool2d;
  constructor(c1: number, c2: number, k = 5) {
    super();
    const c = Math.trunc(c1 / 2);
    this.cv1 = this.registerModule('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new Conv(c * 4, c2, 1, 1));
    this.m = this.registerModule('m', new nn.MaxPool2d(k, 1, Math.floor(k / 2)));
  }
  forward(x: Tensor): Tensor {
    const a = this.cv1.forward(x);
    const b = this.m.forward(a);
    const c = this.m.forward(b);
    return this.cv2.forward(cat([a, b, c, this.m.forward(c)], 1));
  }
}

/** Space-to-depth: the four pixel phases stacked on channels, then a Conv. */
export class Focus extends nn.Module {
  readonly conv: Conv;
  constructor(c1: number, c2: number, k = 1, s = 1, p: number | null = null, g = 1, act = true) {
    super();
    this.conv = this.registerModule('conv', new Conv(c1 * 4, c2, k, s, p, g, 1, act));
  }
  forward(x: Tensor): Tensor {
    const parts = [
      x.index('...', '::2', '::2'),
      x.index('...', '1::2', '::2'),
      x.index('...', '::2', '1::2'),
      x.index('...', '1::2', '1::2'),
    ];
    return this.conv.forward(cat(parts, 1));
  }
}

export class Concat extends nn.Module {
  constructor(readonly dim = 1) {
    super();
  }
  forward(xs: Tensor[]): Tensor {
    return cat(xs, this.dim);
  }
}

/** nn.ZeroPad2d([left, right, top, bottom]). */
export class ZeroPad2d extends nn.Module {
  readonly padding: number[];
  constructor(padding: number | number[]) {
    super();
    this.padding = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
  }
  forward(x: Tensor): Tensor {
    return F.pad(x, this.padding);
  }
}
