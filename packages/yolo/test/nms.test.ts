// Box utilities and non-max suppression: hand-built cases and the yolov5n reference fixtures.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNpy, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import {
  boxIou,
  clipBoxes,
  maxNms,
  maxWh,
  nms,
  nonMaxSuppression,
  scaleBoxes,
  xywh2xyxy,
  xywhn2xyxy,
  xyxy2xywh,
  xyxy2xywhn,
} from '../src/index.js';
import { fixture } from './fixtures.js';

function rows(t: Tensor): number[][] {
  return t.tolist() as number[][];
}
function assertClose(a: number[], b: number[], tol: number, what = ''): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) <= tol, `${what}[${k}]: ${a[k]} vs ${b[k]}`);
}
/** Same count, same classes in the same order, boxes and scores within tol. */
function assertDetsMatch(got: Tensor, want: Tensor, tol: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = rows(got);
  const w = rows(want);
  for (let r = 0; r < w.length; r++) {
    assert.equal(g[r][5], w[r][5], `${what}: class of row ${r}`);
    assertClose(g[r].slice(0, 5), w[r].slice(0, 5), tol, `${what}: row ${r}`);
  }
}

/** A (1, n, 5+nc) prediction from rows [cx, cy, w, h, obj, cls...]. */
function pred(rowsIn: number[][]): Tensor {
  return tensor([rowsIn]);
}

test('constants', () => {
  assert.equal(maxWh, 7680);
  assert.equal(maxNms, 30000);
});

test('xywh <-> xyxy round trip and values', () => {
  tidy(() => {
    const xywh = tensor([
      [10, 20, 4, 6],
      [0.5, 0.5, 1, 1],
    ]);
    const xyxy = xywh2xyxy(xywh);
    assert.deepEqual(rows(xyxy), [
      [8, 17, 12, 23],
      [0, 0, 1, 1],
    ]);
    assert.deepEqual(rows(xyxy2xywh(xyxy)), rows(xywh));
    // extra columns pass through, input untouched
    const six = tensor([[10, 20, 4, 6, 0.9, 3]]);
    assert.deepEqual(
      rows(xywh2xyxy(six)),
      [[8, 17, 12, 23, 0.9 * 1, 3]].map((r) => r.map(Math.fround)),
    );
    assert.deepEqual(rows(six)[0].slice(0, 4), [10, 20, 4, 6]);
  });
});

test('xywhn2xyxy / xyxy2xywhn', () => {
  tidy(() => {
    const n = tensor([[0.5, 0.25, 0.5, 0.5]]);
    const p = xywhn2xyxy(n, 200, 100, 10, 20);
    assert.deepEqual(rows(p), [[60, 20, 160, 70]]);
    const back = xyxy2xywhn(p.sub(tensor([10, 20, 10, 20])), 200, 100);
    assertClose(rows(back)[0], [0.5, 0.25, 0.5, 0.5], 1e-7, 'back');
    // clip: box past the right/bottom edges is clipped first, the input is not modified
    const big = tensor([[-10, 50, 250, 120]]);
    const c = xyxy2xywhn(big, 200, 100, true);
    assertClose(rows(c)[0], [0.5, 0.75, 1, 0.5], 1e-7, 'clip');
    assert.deepEqual(rows(big)[0], [-10, 50, 250, 120]);
  });
});

test('boxIou matrix', () => {
  tidy(() => {
    const a = tensor([
      [0, 0, 10, 10],
      [5, 5, 15, 15],
    ]);
    const b = tensor([
      [0, 0, 10, 10],
      [5, 5, 15, 15],
      [20, 20, 30, 30],
    ]);
    const iou = boxIou(a, b);
    assert.deepEqual(iou.shape, [2, 3]);
    const v = rows(iou);
    assertClose(v[0], [1, 25 / 175, 0], 1e-6, 'row0');
    assertClose(v[1], [25 / 175, 1, 0], 1e-6, 'row1');
  });
});

test('clipBoxes and scaleBoxes', () => {
  tidy(() => {
    const b = tensor([[-5, 3, 700, 500, 0.5, 2]]);
    assert.deepEqual(rows(clipBoxes(b, [480, 640])), [[0, 3, 640, 480, 0.5, 2]]);
    assert.deepEqual(rows(b)[0].slice(0, 4), [-5, 3, 700, 500]);
    // letterbox 810x1080 (w x h) into 320x320: gain 320/1080, pad x = (320 - 810*gain)/2 = 40
    const gain = 320 / 1080;
    const s = scaleBoxes([320, 320], tensor([[40, 0, 280, 320]]), [1080, 810]);
    assertClose(rows(s)[0], [0, 0, 810, 1080], 1e-3, 'auto');
    const m = scaleBoxes([320, 320], tensor([[100, 50, 200, 150]]), [1080, 810]);
    assertClose(rows(m)[0], [60 / gain, 50 / gain, 160 / gain, 150 / gain], 1e-3, 'mid');
    // explicit ratioPad: gain = ratioPad[0][0], pad = ratioPad[1]
    const r = scaleBoxes(
      [320, 320],
      tensor([[12, 24, 52, 64, 0.7, 1]]),
      [1000, 1000],
      [
        [0.5, 0.25],
        [2, 4],
      ],
    );
    assertClose(rows(r)[0], [20, 40, 100, 120, Math.fround(0.7), 1], 1e-6, 'ratioPad');
    // clipped to the original image
    const c = scaleBoxes([320, 320], tensor([[0, -10, 320, 330]]), [1080, 810]);
    assertClose(rows(c)[0], [0, 0, 810, 1080], 1e-3, 'clipped');
  });
});

test('nms: suppression order, strict threshold, empty input', () => {
  tidy(() => {
    const boxes = tensor([
      [0, 0, 10, 10],
      [1, 1, 11, 11], // IoU with box 0: 81/119 = 0.68
      [20, 20, 30, 30],
    ]);
    const scores = tensor([0.9, 0.8, 0.7]);
    const k = nms(boxes, scores, 0.5);
    assert.equal(k.dtype, 'int64');
    assert.deepEqual(k.toArray(), [0, 2]);
    assert.deepEqual(nms(boxes, scores, 0.7).toArray(), [0, 1, 2]);
    // highest score first, whatever the input order
    assert.deepEqual(nms(boxes, tensor([0.1, 0.8, 0.9]), 0.5).toArray(), [2, 1]);
    // IoU exactly 0.5 does not suppress at 0.5 (strictly greater)
    const half = tensor([
      [0, 0, 2, 1],
      [0, 0, 1, 1],
    ]);
    assert.deepEqual(nms(half, tensor([0.6, 0.9]), 0.5).toArray(), [1, 0]);
    assert.deepEqual(nms(half, tensor([0.6, 0.9]), 0.49).toArray(), [1]);
    // float64 path
    assert.deepEqual(nms(boxes.double(), scores.double(), 0.5).toArray(), [0, 2]);
    const e = nms(zeros([0, 4]), zeros([0]), 0.5);
    assert.deepEqual(e.shape, [0]);
    assert.equal(e.dtype, 'int64');
  });
});

/** torchvision's CPU loop, in float32, over every pair: the reference for the pruned search in nms(). */
function referenceNms(boxes: Tensor, scores: Tensor, thr: number): number[] {
  const f = Math.fround;
  const b = rows(boxes);
  const order = scores.sort(0, true).indices.toArray();
  const area = b.map(([x1, y1, x2, y2]) => f(f(x2 - x1) * f(y2 - y1)));
  const suppressed = new Uint8Array(b.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let c = a + 1; c < order.length; c++) {
      const j = order[c];
      if (suppressed[j]) continue;
      const w = Math.max(0, f(Math.min(b[i][2], b[j][2]) - Math.max(b[i][0], b[j][0])));
      const h = Math.max(0, f(Math.min(b[i][3], b[j][3]) - Math.max(b[i][1], b[j][1])));
      const inter = f(w * h);
      if (f(inter / f(f(area[i] + area[j]) - inter)) > thr) suppressed[j] = 1;
    }
  }
  return keep;
}

test('nms matches the exhaustive torchvision loop on random crowded boxes', () => {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const n of [40, 300, 2000]) {
    for (const thr of [0, 0.3, 0.6, 0.95, 1]) {
      tidy(() => {
        const data: number[][] = [];
        const sc: number[] = [];
        for (let k = 0; k < n; k++) {
          const cls = Math.floor(rnd() * 3);
          const w = rnd() < 0.05 ? 0 : 2 + rnd() * (rnd() < 0.1 ? 300 : 40);
          const h = 2 + rnd() * 40;
          const x = rnd() * 200 + cls * maxWh;
          const y = rnd() * 200;
          data.push([x, y, x + w, y + h]);
          sc.push(rnd() < 0.2 ? 0.5 : rnd()); // many exact ties
        }
        for (let k = 0; k < n / 20; k++) data[k + 1] = [...data[k]]; // exact duplicates
        const boxes = tensor(data);
        const scores = tensor(sc);
        assert.deepEqual(nms(boxes, scores, thr).toArray(), referenceNms(boxes, scores, thr), `n=${n} thr=${thr}`);
      });
    }
  }
});

test('nonMaxSuppression: class-aware vs agnostic, classes filter, multi-label', () => {
  tidy(() => {
    // two heavily overlapping boxes of different classes, one far away
    const p = pred([
      [50, 50, 20, 20, 0.9, 0.9, 0.1],
      [51, 51, 20, 20, 0.8, 0.2, 0.9],
      [200, 200, 10, 10, 0.6, 0.7, 0.6],
    ]);
    const aware = nonMaxSuppression(p, { confThres: 0.25, iouThres: 0.45 });
    assert.equal(aware.length, 1);
    const a = rows(aware[0]);
    assert.equal(a.length, 3);
    assert.deepEqual(
      a.map((r) => r[5]),
      [0, 1, 0],
    );
    assertClose(
      a.map((r) => r[4]),
      [0.81, 0.72, 0.42],
      1e-6,
      'conf',
    );
    assertClose(a[0].slice(0, 4), [40, 40, 60, 60], 1e-5, 'box');
    const ag = rows(nonMaxSuppression(p, { confThres: 0.25, iouThres: 0.45, agnostic: true })[0]);
    assert.deepEqual(
      ag.map((r) => r[5]),
      [0, 0],
    );
    const only1 = rows(nonMaxSuppression(p, { confThres: 0.25, classes: [1] })[0]);
    assert.deepEqual(
      only1.map((r) => r[5]),
      [1],
    );
    // multi-label: the third box has two classes above threshold (0.42, 0.36)
    const ml = rows(nonMaxSuppression(p, { confThres: 0.25, multiLabel: true })[0]);
    assert.deepEqual(
      ml.map((r) => r[5]),
      [0, 1, 0, 1],
    );
    assertClose(
      ml.map((r) => r[4]),
      [0.81, 0.72, 0.42, 0.36],
      1e-6,
      'ml conf',
    );
  });
});

test('nonMaxSuppression: maxDet, empty images, batches', () => {
  tidy(() => {
    const many: number[][] = [];
    for (let k = 0; k < 10; k++) many.push([20 + 30 * k, 20, 10, 10, 0.5 + k / 40, 1, 0]);
    const out = nonMaxSuppression(pred(many), { confThres: 0.25, maxDet: 3 })[0];
    assert.deepEqual(out.shape, [3, 6]);
    assertClose(
      rows(out).map((r) => r[4]),
      [0.725, 0.7, 0.675],
      1e-6,
      'top3',
    );
    assert.equal(nonMaxSuppression(pred(many), { confThres: 0.25 })[0].shape[0], 10);
    // nothing above threshold: (0,6); (0, 6+nm) with masks
    const none = nonMaxSuppression(pred([[10, 10, 5, 5, 0.1, 0.9, 0.9]]), { confThres: 0.25 });
    assert.deepEqual(none[0].shape, [0, 6]);
    // obj passes but conf = obj*cls does not (strictly greater)
    assert.deepEqual(nonMaxSuppression(pred([[10, 10, 5, 5, 0.5, 0.5, 0.2]]), { confThres: 0.25 })[0].shape, [0, 6]);
    const withMasks = nonMaxSuppression(tensor([[[10, 10, 5, 5, 0.9, 0.9, 0.1, 1, 2, 3]]]), { confThres: 0.25, nm: 3 });
    assert.deepEqual(withMasks[0].shape, [1, 9]);
    // batch of 2: second image empty
    const b = tensor([
      [
        [10, 10, 5, 5, 0.9, 0.9, 0.1],
        [50, 50, 5, 5, 0.9, 0.1, 0.9],
      ],
      [
        [10, 10, 5, 5, 0.1, 0.9, 0.1],
        [50, 50, 5, 5, 0.0, 0.1, 0.9],
      ],
    ]);
    const o = nonMaxSuppression(b, { confThres: 0.25 });
    assert.equal(o.length, 2);
    assert.deepEqual(o[0].shape, [2, 6]);
    assert.deepEqual(o[1].shape, [0, 6]);
    assert.throws(() => nonMaxSuppression(b, { confThres: 1.5 }), RangeError);
  });
});

test('nonMaxSuppression reproduces yolov5 v7.0 on the yolov5n fixture', () => {
  tidy(() => {
    const out = loadNpy(fixture('eval_out.npy'));
    assert.deepEqual(out.shape, [1, 6300, 85]);
    const cases: [string, Parameters<typeof nonMaxSuppression>[1]][] = [
      ['nms_dets.npy', { confThres: 0.001, iouThres: 0.6, maxDet: 300 }],
      ['nms_dets_multilabel.npy', { confThres: 0.001, iouThres: 0.6, maxDet: 300, multiLabel: true }],
      ['nms_dets_conf0.25_iou0.45.npy', { confThres: 0.25, iouThres: 0.45, maxDet: 1000 }],
    ];
    for (const [file, opts] of cases) {
      const want = loadNpy(fixture(file));
      const t0 = performance.now();
      const got = nonMaxSuppression(out, opts);
      const ms = performance.now() - t0;
      assert.equal(got.length, 1);
      assertDetsMatch(got[0], want, 1e-3, file);
      console.log(`# ${file}: ${got[0].shape[0]} detections in ${ms.toFixed(1)} ms`);
    }
  });
});

test('scaleBoxes(...).round() reproduces detect.py on the yolov5n fixture', () => {
  tidy(() => {
    const dets = loadNpy(fixture('nms_dets.npy'));
    const want = loadNpy(fixture('nms_dets_scaled_to_orig.npy'));
    const scaled = scaleBoxes([320, 320], dets.index(':', ':4'), [1080, 810]).round();
    const g = rows(scaled);
    const w = rows(want);
    const d = rows(dets);
    assert.equal(g.length, w.length);
    for (let r = 0; r < w.length; r++) {
      assertClose(g[r], w[r].slice(0, 4), 1e-3, `row ${r}`);
      assert.deepEqual(w[r].slice(4), d[r].slice(4));
    }
    // the same from our own NMS output
    const ours = nonMaxSuppression(loadNpy(fixture('eval_out.npy')), {
      confThres: 0.001,
      iouThres: 0.6,
      maxDet: 300,
    })[0];
    const s2 = rows(scaleBoxes([320, 320], ours.index(':', ':4'), [1080, 810]).round());
    for (let r = 0; r < w.length; r++) assertClose(s2[r], w[r].slice(0, 4), 1e-3, `ours row ${r}`);
  });
});
