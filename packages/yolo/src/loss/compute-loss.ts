// yolov5 v7.0's training loss (utils/loss.ComputeLoss), written from its documented algorithm:
//
// Target assignment (build_targets): every target is paired with every anchor of every level;
// a pair is kept when the box/anchor size ratios are all within hyp.anchor_t (both ways). A kept
// target is assigned to the grid cell holding its centre, and also to the two neighbouring cells
// whose shared edge is nearest to the centre (offset 0.5 cells), when those cells are inside the grid.
//
// Loss, per level i: box = mean(1 − CIoU(pred box, target box)) over assigned cells;
// obj = BCE(obj logits, tobj) over all cells, tobj = detached clamped CIoU at assigned cells (0 elsewhere,
// last write wins where a cell is assigned twice), weighted by balance[i]; cls = BCE(class logits,
// one-hot smoothed to cp/cn) over assigned cells (only when nc > 1). Each term is scaled by its hyp gain,
// and the total by the batch size.
//
// Everything is vectorised: per level a fixed number of tensor ops whatever the target count.
import { arange, callTensor, cat, fullLike, noGrad, ones, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import { bboxIou } from './bbox-iou.js';
import { BCEWithLogitsLoss, FocalLoss, type LossFunction } from './focal.js';

/** What the loss needs from a model: its Detect head and hyperparameters (a DetectionModel fits). */
export interface LossModel {
  detect: {
    readonly na: number;
    readonly nl: number;
    readonly nc: number;
    /** (nl, na, 2) anchors in grid units */
    readonly anchors: Tensor;
    readonly stride: number[];
  };
  hyp: Record<string, number>;
}

export interface ComputeLossOptions {
  /** adapt the per-level objectness balance during training (yolov5's autobalance, default false) */
  autobalance?: boolean;
  /** hyperparameters to use instead of model.hyp */
  hyp?: Record<string, number>;
}

export interface LossOutput {
  /** (1,): (lbox + lobj + lcls) · batch size, with gradient */
  loss: Tensor;
  /** (3,): [lbox, lobj, lcls] after their gains, detached */
  items: Tensor;
}

/** Targets matched to predictions, per level. */
export interface BuiltTargets {
  /** class per match (int64) */
  tcls: Tensor[];
  /** (n, 4) x, y offsets within the cell and w, h, in grid units */
  tbox: Tensor[];
  /** image, anchor, grid y, grid x per match (int64) */
  indices: [Tensor, Tensor, Tensor, Tensor][];
  /** (n, 2) the matched anchor sizes in grid units */
  anch: Tensor[];
}

/** yolov5's smooth_BCE: positive and negative class targets for label smoothing eps. */
export function smoothBce(eps = 0.1): { cp: number; cn: number } {
  return { cp: 1.0 - 0.5 * eps, cn: 0.5 * eps };
}

const REQUIRED = ['box', 'obj', 'cls', 'cls_pw', 'obj_pw', 'anchor_t'] as const;

/** Neighbour-cell offsets: centre, left, up, right, down (times the 0.5 bias). */
const OFFSETS = [
  [0, 0],
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];
const G = 0.5;

export class ComputeLoss {
  readonly model: LossModel;
  readonly hyp: Record<string, number>;
  readonly na: number;
  readonly nl: number;
  readonly nc: number;
  /** objectness weight per level */
  balance: number[];
  /** index of the stride-16 level when autobalancing, else 0 */
  readonly ssi: number;
  /** iou ratio of the objectness target (1: tobj = iou) */
  gr = 1.0;
  /** sort assigned cells by iou before writing tobj, so the highest iou wins duplicates */
  sortObjIou = false;
  readonly autobalance: boolean;
  /** positive and negative class targets (label smoothing) */
  readonly cp: number;
  readonly cn: number;
  readonly BCEcls: LossFunction;
  readonly BCEobj: LossFunction;

  constructor(model: LossModel, opts: ComputeLossOptions = {}) {
    this.model = model;
    const h = opts.hyp ?? model.hyp;
    const missing = REQUIRED.filter((k) => typeof h[k] !== 'number');
    if (missing.length)
      throw new Error(`ComputeLoss: hyp lacks ${missing.join(', ')} (set model.hyp from a hyp file first)`);
    this.hyp = h;
    const det = model.detect;
    this.na = det.na;
    this.nl = det.nl;
    this.nc = det.nc;
    let cls: LossFunction = new BCEWithLogitsLoss({ posWeight: h.cls_pw });
    let obj: LossFunction = new BCEWithLogitsLoss({ posWeight: h.obj_pw });
    const g = h.fl_gamma ?? 0;
    if (g > 0) {
      cls = new FocalLoss(cls, g);
      obj = new FocalLoss(obj, g);
    }
    this.BCEcls = cls;
    this.BCEobj = obj;
    ({ cp: this.cp, cn: this.cn } = smoothBce(h.label_smoothing ?? 0.0));
    this.balance = this.nl === 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02];
    this.autobalance = opts.autobalance ?? false;
    this.ssi = this.autobalance ? det.stride.indexOf(16) : 0;
    if (this.ssi < 0) throw new Error('ComputeLoss: autobalance needs a stride-16 level');
  }

  /**
   * The loss of raw predictions p (per level (bs, na, ny, nx, 5+nc)) against targets (nt, 6)
   * [image, class, x, y, w, h] with xywh normalised to 0..1. The returned tensors belong to the caller's scope.
   */
  call(p: Tensor[], targets: Tensor): LossOutput {
    return tidy(() => this.compute(p, targets));
  }
  /** The same as call(). */
  forward(p: Tensor[], targets: Tensor): LossOutput {
    return this.call(p, targets);
  }

  private compute(p: Tensor[], targets: Tensor): LossOutput {
    if (p.length !== this.nl) throw new Error(`ComputeLoss: ${p.length} prediction levels, the model has ${this.nl}`);
    const device = p[0].device;
    const dtype = p[0].dtype;
    let lcls = zeros([1], { device, dtype });
    let lbox = zeros([1], { device, dtype });
    let lobj = zeros([1], { device, dtype });
    const { tcls, tbox, indices, anch } = this.buildTargets(p, targets);
    const obji: Tensor[] = [];
    p.forEach((pi, i) => {
      let [b, a, gj, gi] = indices[i];
      const tobj = zeros(pi.shape.slice(0, 4), { dtype: pi.dtype, device });
      const n = b.shape[0];
      if (n) {
        const [pxyRaw, pwhRaw, , pcls] = pi.index(b, a, gj, gi).split([2, 2, 1, this.nc], 1);
        const pxy = pxyRaw.sigmoid().mul(2).sub(0.5);
        const pwh = pwhRaw.sigmoid().mul(2).pow(2).mul(anch[i]);
        const pbox = cat([pxy, pwh], 1);
        let iou = bboxIou(pbox, tbox[i], { CIoU: true }).squeeze();
        lbox = lbox.add(iou.rsub(1.0).mean());
        iou = iou.detach().clamp(0).to(tobj.dtype);
        if (this.sortObjIou) {
          const j = iou.argsort();
          [b, a, gj, gi, iou] = [b.index(j), a.index(j), gj.index(j), gi.index(j), iou.index(j)];
        }
        if (this.gr < 1) iou = iou.mul(this.gr).add(1.0 - this.gr);
        tobj.indexPut_([b, a, gj, gi], iou);
        if (this.nc > 1) {
          const t = fullLike(pcls, this.cn);
          t.scatter_(1, tcls[i].view(-1, 1), this.cp);
          lcls = lcls.add(this.BCEcls.forward(pcls, t));
        }
      }
      const oi = this.BCEobj.forward(pi.select(4, 4), tobj);
      lobj = lobj.add(oi.mul(this.balance[i]));
      obji.push(oi);
    });
    if (this.autobalance) {
      const vals = obji.map((o) => o.detach().item());
      this.balance = this.balance.map((w, i) => (i < vals.length ? w * 0.9999 + 0.0001 / vals[i] : w));
      const ref = this.balance[this.ssi];
      this.balance = this.balance.map((w) => w / ref);
    }
    lbox = lbox.mul(this.hyp.box);
    lobj = lobj.mul(this.hyp.obj);
    lcls = lcls.mul(this.hyp.cls);
    const bs = p[0].shape[0];
    return { loss: lbox.add(lobj).add(lcls).mul(bs), items: cat([lbox, lobj, lcls]).detach() };
  }

  /**
   * Assigns targets (nt, 6) [image, class, x, y, w, h] (normalised) to anchors and grid cells of each
   * level of p. Call inside a scope: the results belong to it.
   */
  buildTargets(p: Tensor[], targets: Tensor): BuiltTargets {
    return noGrad(() => {
      const na = this.na;
      const nt = targets.shape[0];
      const device = targets.device;
      const tcls: Tensor[] = [];
      const tbox: Tensor[] = [];
      const indices: [Tensor, Tensor, Tensor, Tensor][] = [];
      const anch: Tensor[] = [];
      const tf = targets.dtype === 'float32' ? targets : targets.to('float32');
      // (na, nt, 7): every target once per anchor, with the anchor index appended
      const ai = arange(na, undefined, 1, { dtype: 'float32', device }).view(na, 1).repeat(1, nt);
      const all = cat([tf.repeat(na, 1, 1), ai.unsqueeze(2)], 2);
      const off = tensor(OFFSETS, { device }).mul(G);
      const anchorsAll = this.model.detect.anchors;
      const anchorT = this.hyp.anchor_t;
      for (let i = 0; i < this.nl; i++) {
        const anchors = anchorsAll.select(0, i);
        const shape = p[i].shape;
        const [ny, nx] = [shape[2], shape[3]];
        const gain = tensor([1, 1, nx, ny, nx, ny, 1], { device });
        let t = all.mul(gain); // targets in grid units
        let offsets: Tensor | null = null;
        if (nt) {
          // size ratio to each anchor, both ways: keep pairs within anchor_t
          const r = t.index('...', '4:6').div(anchors.unsqueeze(1));
          const j = r.maximum(r.reciprocal()).amax(2).lt(anchorT);
          t = t.index(j);
          const gxy = t.index(':', '2:4');
          const gxi = tensor([nx, ny], { device }).sub(gxy); // inverse
          const near = callTensor('remainder.Scalar', [gxy, 1]).lt(G).logicalAnd(gxy.gt(1)).t(); // (2, M): left, up
          const far = callTensor('remainder.Scalar', [gxi, 1]).lt(G).logicalAnd(gxi.gt(1)).t(); // (2, M): right, down
          const sel = cat([ones([1, gxy.shape[0]], { dtype: 'bool', device }), near, far], 0); // (5, M)
          t = t.repeat(5, 1, 1).index(sel);
          offsets = zeros(gxy.shape, { device }).unsqueeze(0).add(off.unsqueeze(1)).index(sel);
        } else {
          t = all.select(0, 0);
        }
        const [bc, gxy, gwh, aCol] = t.chunk(4, 1); // (image, class), (x, y), (w, h), anchor
        const a = aCol.long().view(-1);
        const bcl = bc.long();
        const b = bcl.select(1, 0);
        const c = bcl.select(1, 1);
        const gij = (offsets ? gxy.sub(offsets) : gxy).long(); // truncation toward zero
        const gi = gij.select(1, 0);
        const gj = gij.select(1, 1);
        // in place on views of gij, as yolov5 does: the box offsets below use the clamped cells
        gj.clamp_(0, ny - 1);
        gi.clamp_(0, nx - 1);
        indices.push([b, a, gj, gi]);
        tbox.push(cat([gxy.sub(gij), gwh], 1));
        anch.push(anchors.index(a));
        tcls.push(c);
      }
      return { tcls, tbox, indices, anch };
    });
  }
}
