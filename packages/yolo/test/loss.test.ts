import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { F, loadNpy, manualSeed, randn, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import {
  BCEWithLogitsLoss,
  bboxIou,
  ComputeLoss,
  DetectionModel,
  FocalLoss,
  type LossModel,
  loadConfig,
  loadModel,
  smoothBce,
} from '../src/index.js';
import { fixture, fullFixture, needsFullFixture } from './fixtures.js';

const lossHyp = JSON.parse(readFileSync(fixture('loss_hyp.json'), 'utf8')) as {
  hyp_effective_used_by_ComputeLoss: Record<string, number>;
  loss_total: number;
  lbox_lobj_lcls: number[];
};
const HYP = lossHyp.hyp_effective_used_by_ComputeLoss;

/** max |a − b| / max |b| */
function relErr(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() / b.abs().max().item());
}
function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/** A minimal model for hand-checked cases: one Detect head description and hyp. */
function fakeModel(anchors: number[][][], stride: number[], nc: number, hyp: Record<string, number> = {}): LossModel {
  return {
    detect: { na: anchors[0].length, nl: anchors.length, nc, anchors: tensor(anchors), stride },
    hyp: { box: 1, obj: 1, cls: 1, cls_pw: 1, obj_pw: 1, anchor_t: 4, fl_gamma: 0, label_smoothing: 0, ...hyp },
  };
}

test('bboxIou: identical, disjoint and overlapping boxes, hand values', () =>
  tidy(() => {
    const same = tensor([[5, 5, 2, 2]]);
    for (const o of [{}, { GIoU: true }, { DIoU: true }, { CIoU: true }]) {
      close(bboxIou(same, same, o).item(), 1, 1e-6, `identical ${JSON.stringify(o)}`);
    }
    // corner form, side by side with a gap of 1: enclosing 3×1, union 2, centres 2 apart
    const a = tensor([[0, 0, 1, 1]]);
    const b = tensor([[2, 0, 3, 1]]);
    close(bboxIou(a, b, { xywh: false }).item(), 0, 1e-7, 'disjoint IoU');
    close(bboxIou(a, b, { xywh: false, GIoU: true }).item(), -1 / 3, 1e-6, 'disjoint GIoU');
    close(bboxIou(a, b, { xywh: false, DIoU: true }).item(), -0.4, 1e-6, 'disjoint DIoU');
    close(bboxIou(a, b, { xywh: false, CIoU: true }).item(), -0.4, 1e-6, 'disjoint CIoU (same aspect: v = 0)');
    // centre form, half overlap: iou 1/3, enclosing 3×2 (c² = 13), centre distance² 1
    const c = tensor([[0, 0, 2, 2]]);
    const d = tensor([[1, 0, 2, 2]]);
    close(bboxIou(c, d).item(), 1 / 3, 1e-6, 'overlap IoU');
    close(bboxIou(c, d, { CIoU: true }).item(), 1 / 3 - 1 / 13, 1e-6, 'overlap CIoU');
    // same centre, crossed aspects: iou 1/3, c² = 8, ρ² = 0, v from the aspect angles
    const e = tensor([[0, 0, 2, 1]]);
    const f = tensor([[0, 0, 1, 2]]);
    const iou = 1 / 3;
    const v = (4 / Math.PI ** 2) * (Math.atan(0.5) - Math.atan(2)) ** 2;
    const alpha = v / (v - iou + 1);
    close(bboxIou(e, f, { CIoU: true }).item(), iou - v * alpha, 1e-6, 'crossed CIoU');
    close(bboxIou(e, f, { GIoU: true }).item(), iou - (4 - 3) / 4, 1e-6, 'crossed GIoU');
    // batched, (n, 1) out
    assert.deepEqual(bboxIou(cat2(c, e), cat2(d, f), { CIoU: true }).shape, [2, 1]);
  }));

function cat2(a: Tensor, b: Tensor): Tensor {
  return tensor([...(a.tolist() as number[][]), ...(b.tolist() as number[][])]);
}

test('bboxIou CIoU: alpha carries no gradient', () =>
  tidy(() => {
    const p = tensor([[0.2, 0.1, 1.5, 0.7]]).requiresGrad_();
    const t = tensor([[0, 0, 1, 2]]);
    bboxIou(p, t, { CIoU: true }).sum().backward();
    // finite differences of the same expression with alpha frozen at its value
    const g = p.grad!.toArray();
    const fn = (q: number[], alphaFixed: number | null): number => {
      const [x1, y1, w1, h1] = q;
      const [x2, y2, w2, h2] = [0, 0, 1, 2];
      const iw = Math.max(0, Math.min(x1 + w1 / 2, x2 + w2 / 2) - Math.max(x1 - w1 / 2, x2 - w2 / 2));
      const ih = Math.max(0, Math.min(y1 + h1 / 2, y2 + h2 / 2) - Math.max(y1 - h1 / 2, y2 - h2 / 2));
      const inter = iw * ih;
      const iou = inter / (w1 * h1 + w2 * h2 - inter + 1e-7);
      const cw = Math.max(x1 + w1 / 2, x2 + w2 / 2) - Math.min(x1 - w1 / 2, x2 - w2 / 2);
      const ch = Math.max(y1 + h1 / 2, y2 + h2 / 2) - Math.min(y1 - h1 / 2, y2 - h2 / 2);
      const rho2 = (x2 - x1) ** 2 + (y2 - y1) ** 2;
      const v = (4 / Math.PI ** 2) * (Math.atan(w2 / h2) - Math.atan(w1 / h1)) ** 2;
      const alpha = alphaFixed ?? v / (v - iou + 1 + 1e-7);
      return iou - (rho2 / (cw * cw + ch * ch + 1e-7) + v * alpha);
    };
    const q0 = [0.2, 0.1, 1.5, 0.7];
    const v0 = (4 / Math.PI ** 2) * (Math.atan(0.5) - Math.atan(1.5 / 0.7)) ** 2;
    const iw = Math.min(0.95, 0.5) - Math.max(-0.55, -0.5);
    const ih = Math.min(0.45, 1) - Math.max(-0.25, -1);
    const iou0 = (iw * ih) / (1.05 + 2 - iw * ih);
    const alpha0 = v0 / (v0 - iou0 + 1);
    for (let k = 0; k < 4; k++) {
      const h = 1e-5;
      const qp = q0.slice();
      const qm = q0.slice();
      qp[k] += h;
      qm[k] -= h;
      const fd = (fn(qp, alpha0) - fn(qm, alpha0)) / (2 * h);
      close(g[k], fd, 2e-3, `d CIoU / d box[${k}]`);
    }
  }));

test('FocalLoss: gamma 0 is BCE times the alpha factor; gamma 1.5 by hand', () =>
  tidy(() => {
    const x = tensor([
      [2.0, -1.0, 0.3],
      [-3.0, 0.5, 1.2],
    ]);
    const t = tensor([
      [1, 0, 1],
      [0, 0, 1],
    ]);
    const bce = F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' });
    const f0 = new FocalLoss(new BCEWithLogitsLoss({ posWeight: 1 }), 0, 0.5);
    close(f0.forward(x, t).item(), bce.mean().item() * 0.5, 1e-6, 'gamma 0, alpha 0.5 = BCE / 2');
    const f0a = new FocalLoss(new BCEWithLogitsLoss({ posWeight: 1 }), 0);
    const af = t.mul(0.25).add(t.rsub(1).mul(0.75));
    close(f0a.forward(x, t).item(), bce.mul(af).mean().item(), 1e-6, 'gamma 0, alpha 0.25');
    const xs = x.toArray();
    const ts = t.toArray();
    let sum = 0;
    xs.forEach((xi, i) => {
      const p = 1 / (1 + Math.exp(-xi));
      const ti = ts[i];
      const l = -(ti * Math.log(p) + (1 - ti) * Math.log(1 - p));
      const pt = ti * p + (1 - ti) * (1 - p);
      sum += l * (ti * 0.25 + (1 - ti) * 0.75) * (1 - pt) ** 1.5;
    });
    const f15 = new FocalLoss(new BCEWithLogitsLoss({ posWeight: 1 }), 1.5);
    close(f15.forward(x, t).item(), sum / xs.length, 1e-6, 'gamma 1.5');
    const cl = new ComputeLoss(fakeModel([[[1, 1]]], [8], 2, { fl_gamma: 1.5 }));
    assert.ok(cl.BCEcls instanceof FocalLoss && cl.BCEobj instanceof FocalLoss);
  }));

test('label smoothing: class targets cp / cn; a centred box gives lbox 0 and obj target 1', () =>
  tidy(() => {
    assert.deepEqual(smoothBce(0.2), { cp: 0.9, cn: 0.1 });
    assert.deepEqual(smoothBce(0), { cp: 1, cn: 0 });
    const model = fakeModel([[[1, 1]]], [8], 2, { label_smoothing: 0.2 });
    const cl = new ComputeLoss(model);
    assert.equal(cl.cp, 0.9);
    assert.equal(cl.cn, 0.1);
    assert.deepEqual(cl.balance, [4.0, 1.0, 0.25, 0.06, 0.02]);
    // 2×2 grid, one anchor of one cell; the target fills cell (0, 0) exactly
    const p = zeros([1, 1, 2, 2, 7]);
    p.indexPut_([0, 0, 0, 0, '5:7'], tensor([2, -1]));
    const { loss, items } = cl.call([p], tensor([[0, 1, 0.25, 0.25, 0.5, 0.5]]));
    const [lbox, lobj, lcls] = items.toArray();
    const bce = (x: number, t: number): number => {
      const s = 1 / (1 + Math.exp(-x));
      return -(t * Math.log(s) + (1 - t) * Math.log(1 - s));
    };
    close(lbox, 0, 1e-6, 'lbox');
    close(lobj, 4 * Math.log(2), 1e-6, 'lobj (logit 0: BCE = ln 2 whatever the target)');
    close(lcls, (bce(2, 0.1) + bce(-1, 0.9)) / 2, 1e-6, 'lcls: class 1 → cp, class 0 → cn');
    close(loss.item(), lbox + lobj + lcls, 1e-6, 'total (bs 1)');
    assert.deepEqual(loss.shape, [1]);
    assert.deepEqual(items.shape, [3]);
  }));

test('buildTargets: neighbour cells, anchor ratio filter, clamping at the border', () =>
  tidy(() => {
    // 8×8 grid; anchor 0 is 2×2 cells, anchor 1 is 20×20 (ratio 10 > anchor_t: never matched)
    const cl = new ComputeLoss(
      fakeModel(
        [
          [
            [2, 2],
            [20, 20],
          ],
        ],
        [8],
        3,
      ),
    );
    const p = [zeros([1, 2, 8, 8, 8])];
    const bt = cl.buildTargets(p, tensor([[0, 2, 0.3, 0.3, 0.25, 0.25]]));
    const [b, a, gj, gi] = bt.indices[0];
    // centre 2.4, 2.4: also the left and upper neighbours
    assert.deepEqual(gi.toArray(), [2, 1, 2]);
    assert.deepEqual(gj.toArray(), [2, 2, 1]);
    assert.deepEqual(a.toArray(), [0, 0, 0]);
    assert.deepEqual(b.toArray(), [0, 0, 0]);
    assert.deepEqual(bt.tcls[0].toArray(), [2, 2, 2]);
    const tb = bt.tbox[0].toArray().map((v) => Math.round(v * 1e5) / 1e5);
    assert.deepEqual(tb, [0.4, 0.4, 2, 2, 1.4, 0.4, 2, 2, 0.4, 1.4, 2, 2]);
    assert.deepEqual(bt.anch[0].toArray(), [2, 2, 2, 2, 2, 2]);
    // on the right border (x = 1): the cell index is clamped to 7, and the box offset uses the clamped cell
    const e = cl.buildTargets(p, tensor([[1, 0, 1.0, 0.5, 0.25, 0.25]]));
    const [, , gj2, gi2] = e.indices[0];
    assert.deepEqual(gi2.toArray(), [7, 7, 7, 7]);
    assert.deepEqual(gj2.toArray(), [4, 4, 3, 4]);
    assert.deepEqual(e.tbox[0].toArray(), [1, 0, 2, 2, 1, 0, 2, 2, 1, 1, 2, 2, 1, 0, 2, 2]);
    assert.deepEqual(e.indices[0][0].toArray(), [1, 1, 1, 1]);
  }));

test('P6 (4 levels) uses balance [4, 1, 0.25, 0.06]; no targets: lbox = lcls = 0, lobj > 0', () =>
  tidy(() => {
    const model = new DetectionModel(loadConfig('yolov5n6'), { nc: 3 });
    try {
      model.hyp = { ...HYP };
      const cl = new ComputeLoss(model);
      assert.deepEqual(cl.balance.slice(0, cl.nl), [4.0, 1.0, 0.25, 0.06]);
      manualSeed(0);
      const p = model.stride.map((s) => randn([2, 3, 128 / s, 128 / s, 8]));
      const { loss, items } = cl.call(p, zeros([0, 6]));
      const [lbox, lobj, lcls] = items.toArray();
      assert.equal(lbox, 0);
      assert.equal(lcls, 0);
      assert.ok(lobj > 0);
      const expected =
        p.reduce(
          (s, pi, i) =>
            s + cl.balance[i] * F.binaryCrossEntropyWithLogits(pi.select(4, 4), zeros(pi.shape.slice(0, 4))).item(),
          0,
        ) * HYP.obj;
      close(lobj, expected, 1e-6, 'lobj');
      close(loss.item(), 2 * lobj, 1e-6, 'total = bs · lobj');
      // 3 levels: [4, 1, 0.4]
      const m3 = new ComputeLoss(fakeModel([[[1, 1]], [[2, 2]], [[4, 4]]], [8, 16, 32], 3));
      assert.deepEqual(m3.balance, [4.0, 1.0, 0.4]);
    } finally {
      model.dispose();
    }
  }));

// The loss batch's reference predictions (4.3 MB) are in the full fixture set only.
const PRED_FILES = [0, 1, 2].map((i) => `loss_pred_p${i}.npy`);
const noPreds = needsFullFixture(...PRED_FILES);
function fixtureInputs(): { preds: Tensor[]; targets: Tensor } {
  return { preds: PRED_FILES.map((f) => loadNpy(fullFixture(f)!)), targets: loadNpy(fixture('loss_targets.npy')) };
}

test('yolov5n fixture: the loss of the reference predictions equals ComputeLoss', { skip: noPreds }, () =>
  tidy(() => {
    const model = loadModel(fixture('yolov5n.safetensors'));
    try {
      model.hyp = { ...HYP };
      const { preds, targets } = fixtureInputs();
      const { loss, items } = new ComputeLoss(model).call(preds, targets);
      const total = loadNpy(fixture('loss_total.npy'));
      const refItems = loadNpy(fixture('loss_items.npy'));
      const eTotal = relErr(loss, total);
      const eItems = relErr(items, refItems);
      console.log(
        `# reference predictions: loss rel err ${eTotal.toExponential(2)}, items rel err ${eItems.toExponential(2)}`,
      );
      assert.ok(eTotal < 1e-5, `loss ${loss.item()} vs ${total.item()}`);
      for (let i = 0; i < 3; i++) close(items.toArray()[i], refItems.toArray()[i], 1e-5, `item ${i}`);
      close(loss.item(), lossHyp.loss_total, 1e-5, 'loss vs loss_hyp.json');
    } finally {
      model.dispose();
    }
  }),
);

test('yolov5n fixture: forward, loss and backward match PyTorch (loss 1e-4, gradient 1e-3 relative)', () =>
  tidy(() => {
    const model = loadModel(fixture('yolov5n.safetensors')).train();
    try {
      model.hyp = { ...HYP };
      const x = loadNpy(fixture('loss_input_u8.npy')).float().div(255);
      const targets = loadNpy(fixture('loss_targets.npy'));
      const preds = model.forwardRaw(x);
      const ePred = noPreds ? 0 : Math.max(...fixtureInputs().preds.map((r, i) => relErr(preds[i], r)));
      const { loss, items } = new ComputeLoss(model).call(preds, targets);
      const eTotal = relErr(loss, loadNpy(fixture('loss_total.npy')));
      const eItems = Math.max(
        ...items.toArray().map((v, i) => Math.abs(v - lossHyp.lbox_lobj_lcls[i]) / Math.abs(lossHyp.lbox_lobj_lcls[i])),
      );
      loss.backward();
      const grad = model.stateDict().get('model.0.conv.weight')!.grad!;
      const eGrad = relErr(grad, loadNpy(fixture('loss_grad_model.0.conv.weight.npy')));
      console.log(
        `# model forward: preds rel err ${ePred.toExponential(2)}, loss ${eTotal.toExponential(2)}, items ${eItems.toExponential(2)}, grad ${eGrad.toExponential(2)}`,
      );
      assert.ok(ePred < 1e-3, `predictions rel err ${ePred}`);
      assert.ok(eTotal < 1e-4, `loss rel err ${eTotal}`);
      assert.ok(eItems < 1e-4, `items rel err ${eItems}`);
      assert.ok(eGrad < 1e-3, `gradient rel err ${eGrad}`);
    } finally {
      model.dispose();
    }
  }));
