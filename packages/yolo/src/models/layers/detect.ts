// Detect: one 1×1 convolution per level producing na × (5 + nc) maps, and the
// inference decode xy = (2σ + grid − 0.5)·stride, wh = (2σ)²·anchor.
import { arange, cat, keep, meshgrid, nn, noGrad, stack, type Tensor, tensor } from '@tsyolo/torch';

interface Grid {
  ny: number;
  nx: number;
  grid: Tensor;
  anchorGrid: Tensor;
}

export class Detect extends nn.Module {
  readonly nc: number;
  readonly no: number;
  readonly nl: number;
  readonly na: number;
  readonly m: nn.ModuleList<nn.Conv2d>;
  /** strides per level, set by the model after a dummy forward */
  stride: number[] = [];
  private grids: (Grid | null)[];

  constructor(nc: number, anchors: number[][], ch: number[]) {
    super();
    this.nc = nc;
    this.no = nc + 5;
    this.nl = anchors.length;
    this.na = anchors[0].length / 2;
    if (ch.length !== this.nl) throw new Error(`Detect: ${this.nl} anchor levels but ${ch.length} inputs`);
    this.grids = Array.from({ length: this.nl }, () => null);
    // pixels for now; the model divides by the strides once they are known (grid units)
    this.registerBuffer('anchors', tensor(anchors).view(this.nl, -1, 2));
    this.m = this.registerModule('m', new nn.ModuleList(ch.map((c) => new nn.Conv2d(c, this.no * this.na, 1))));
  }

  /** (nl, na, 2) anchors in grid units. */
  get anchors(): Tensor {
    return this.param('anchors');
  }
  set anchors(a: Tensor) {
    this.registerBuffer('anchors', a);
    this.resetGrids();
  }

  /** Raw head outputs per level, each (bs, na, ny, nx, no). */
  forwardRaw(xs: Tensor[]): Tensor[] {
    return xs.map((x, i) => {
      const y = this.m.at(i).forward(x);
      const [bs, , ny, nx] = y.shape;
      return y.view(bs, this.na, this.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous();
    });
  }

  /** Decodes raw outputs into (bs, Σ na·ny·nx, no): xywh in input pixels, then sigmoid obj and class scores. */
  decode(raw: Tensor[]): Tensor {
    const z = raw.map((r, i) => {
      const [bs, , ny, nx] = r.shape;
      const g = this.gridFor(i, ny, nx);
      const y = r.sigmoid();
      const [xy, wh, conf] = y.split([2, 2, this.nc + 1], 4);
      const xyd = xy.mul(2).add(g.grid).mul(this.stride[i]);
      const whd = wh.mul(2).pow(2).mul(g.anchorGrid);
      return cat([xyd, whd, conf], 4).view(bs, this.na * ny * nx, this.no);
    });
    return cat(z, 1);
  }

  forward(xs: Tensor[]): Tensor | Tensor[] {
    const raw = this.forwardRaw(xs);
    return this.training ? raw : this.decode(raw);
  }

  private gridFor(i: number, ny: number, nx: number): Grid {
    const cached = this.grids[i];
    if (cached && cached.ny === ny && cached.nx === nx) return cached;
    if (cached) {
      cached.grid.dispose();
      cached.anchorGrid.dispose();
    }
    const g = noGrad(() => {
      const dtype = this.anchors.dtype;
      const [yv, xv] = meshgrid([arange(ny, undefined, 1, { dtype }), arange(nx, undefined, 1, { dtype })], 'ij');
      const shape = [1, this.na, ny, nx, 2];
      const grid = stack([xv, yv], 2)
        .expand(...shape)
        .sub(0.5);
      const anchorGrid = this.anchors
        .index(i)
        .mul(this.stride[i])
        .view(1, this.na, 1, 1, 2)
        .expand(...shape);
      return { ny, nx, grid: keep(grid), anchorGrid: keep(anchorGrid) };
    });
    this.grids[i] = g;
    return g;
  }

  resetGrids(): void {
    for (const g of this.grids) {
      g?.grid.dispose();
      g?.anchorGrid.dispose();
    }
    this.grids = this.grids.map(() => null);
  }

  /** yolov5's bias priors: objectness log(8 / (640/s)²), classes log(0.6 / (nc − 0.99999)). */
  initBiases(classFrequencies?: number[]): void {
    noGrad(() => {
      this.stride.forEach((s, i) => {
        const conv = this.m.at(i);
        const b = conv.bias!.view(this.na, -1);
        b.index(':', 4).add_(Math.log(8 / (640 / s) ** 2));
        if (classFrequencies) {
          const total = classFrequencies.reduce((a, c) => a + c, 0);
          const prior = tensor(classFrequencies.map((f) => Math.log(f / total)));
          b.index(':', `5:${5 + this.nc}`).add_(prior);
        } else {
          b.index(':', `5:${5 + this.nc}`).add_(Math.log(0.6 / (this.nc - 0.99999)));
        }
      });
    });
  }

  override dispose(): void {
    this.resetGrids();
    super.dispose();
  }
}
