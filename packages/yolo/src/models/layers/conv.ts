// Conv = Conv2d (no bias) + BatchNorm2d + SiLU, with 'same' padding; DWConv; fusing Conv+BN.
import { nn, noGrad, type Tensor } from '@tsyolo/torch';

/** Padding that keeps the spatial size for odd kernels ('same'). */
export function autopad(k: number, p?: number | null, d = 1): number {
  const ke = d > 1 ? d * (k - 1) + 1 : k;
  return p ?? Math.floor(ke / 2);
}

export class Conv extends nn.Module {
  readonly conv: nn.Conv2d;
  bn: nn.BatchNorm2d | null;
  readonly act: nn.Module & { forward(x: Tensor): Tensor };

  constructor(
    c1: number,
    c2: number,
    k = 1,
    s = 1,
    p: number | null = null,
    g = 1,
    d = 1,
    act: boolean | (nn.Module & { forward(x: Tensor): Tensor }) = true,
  ) {
    super();
    this.conv = this.registerModule(
      'conv',
      new nn.Conv2d(c1, c2, k, { stride: s, padding: autopad(k, p, d), groups: g, dilation: d, bias: false }),
    );
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(c2));
    this.act = this.registerModule('act', act === true ? new nn.SiLU() : act === false ? new nn.Identity() : act);
  }
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.act.forward(this.bn ? this.bn.forward(y) : y);
  }
  /** Folds the BatchNorm into the convolution (inference only). */
  fuse(): void {
    if (!this.bn) return;
    fuseConvBn(this.conv, this.bn);
    this.bn.dispose();
    this.unregisterModule('bn');
    this.bn = null;
  }
}

/** Depth-wise convolution: groups = gcd(c1, c2). */
export class DWConv extends Conv {
  constructor(c1: number, c2: number, k = 1, s = 1, d = 1, act = true) {
    super(c1, c2, k, s, null, gcd(c1, c2), d, act);
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** w' = w·γ/√(σ²+ε), b' = β − γμ/√(σ²+ε) (+ b·γ/√(σ²+ε)), written into conv. */
export function fuseConvBn(conv: nn.Conv2d, bn: nn.BatchNorm2d): void {
  noGrad(() => {
    const gamma = bn.weight!;
    const scale = gamma.div(bn.runningVar!.add(bn.eps).sqrt());
    const w = conv.weight.mul(scale.view(-1, 1, 1, 1));
    let b = bn.bias!.sub(gamma.mul(bn.runningMean!).div(bn.runningVar!.add(bn.eps).sqrt()));
    if (conv.bias) b = b.add(conv.bias.mul(scale));
    conv.registerParameter('weight', w);
    conv.registerParameter('bias', b);
    scale.dispose();
  });
}
