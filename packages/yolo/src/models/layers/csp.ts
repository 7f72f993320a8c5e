// Bottleneck, BottleneckCSP and C3 (CSP bottleneck with 3 convolutions).
import { cat, nn, type Tensor } from '@tsyolo/torch';
import { Conv } from './conv.js';

export class Bottleneck extends nn.Module {
  readonly cv1: Conv;
  readonly cv2: Conv;
  readonly add: boolean;
  constructor(c1: number, c2: number, shortcut = true, g = 1, e = 0.5) {
    super();
    const c = Math.trunc(c2 * e);
    this.cv1 = this.registerModule('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new Conv(c, c2, 3, 1, null, g));
    this.add = shortcut && c1 === c2;
  }
  forward(x: Tensor): Tensor {
    const y = this.cv2.forward(this.cv1.forward(x));
    return this.add ? x.add(y) : y;
  }
}

export class BottleneckCSP extends nn.Module {
  readonly cv1: Conv;
  readonly cv2: nn.Conv2d;
  readonly cv3: nn.Conv2d;
  readonly cv4: Conv;
  readonly bn: nn.BatchNorm2d;
  readonly act: nn.SiLU;
  readonly m: nn.Sequential;
  constructor(c1: number, c2: number, n = 1, shortcut = true, g = 1, e = 0.5) {
    super();
    const c = Math.trunc(c2 * e);
    this.cv1 = this.registerModule('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new nn.Conv2d(c1, c, 1, { bias: false }));
    this.cv3 = this.registerModule('cv3', new nn.Conv2d(c, c, 1, { bias: false }));
    this.cv4 = this.registerModule('cv4', new Conv(2 * c, c2, 1, 1));
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(2 * c));
    this.act = this.registerModule('act', new nn.SiLU());
    this.m = this.registerModule(
      'm',
      new nn.Sequential(...Array.from({ length: n }, () => new Bottleneck(c, c, shortcut, g, 1.0))),
    );
  }
  forward(x: Tensor): Tensor {
    const y1 = this.cv3.forward(this.m.forward(this.cv1.forward(x)));
    const y2 = this.cv2.forward(x);
    return this.cv4.forward(this.act.forward(this.bn.forward(cat([y1, y2], 1))));
  }
}

export class C3 extends nn.Module {
  readonly cv1: Conv;
  readonly cv2: Conv;
  readonly cv3: Conv;
  readonly m: nn.Sequential;
  constructor(c1: number, c2: number, n = 1, shortcut = true, g = 1, e = 0.5) {
    super();
    const c = Math.trunc(c2 * e);
    this.cv1 = this.registerModule('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new Conv(c1, c, 1, 1));
    this.cv3 = this.registerModule('cv3', new Conv(2 * c, c2, 1));
    this.m = this.registerModule(
      'm',
      new nn.Sequential(...Array.from({ length: n }, () => new Bottleneck(c, c, shortcut, g, 1.0))),
    );
  }
  forward(x: Tensor): Tensor {
    return this.cv3.forward(cat([this.m.forward(this.cv1.forward(x)), this.cv2.forward(x)], 1));
  }
}
