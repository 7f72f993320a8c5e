import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGradNorm_, manualSeed, optim, randn, type Tensor, tensor, tidy } from '../src/index.js';
import { native } from '../src/native.js';

const TOL = 1e-12;
const f64 = (a: number[]): Tensor => tensor(a, { dtype: 'float64' });
const param = (a: number[]): Tensor => f64(a).requiresGrad_();

function setGrads(ps: Tensor[], gs: number[][]): void {
  ps.forEach((p, i) => {
    p.grad = f64(gs[i]);
  });
}

function close(actual: number[], expected: number[], tol = TOL): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) =>
    assert.ok(
      Math.abs(a - expected[i]) <= tol,
      `index ${i}: ${a} vs ${expected[i]} (diff ${Math.abs(a - expected[i])})`,
    ),
  );
}

// ---- hand-written reference updates on plain numbers ----

interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
}
function sgdRef(p: number[], g: number[], buf: number[] | null, h: SgdHyper): number[] | null {
  const next: number[] = [];
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + h.weight_decay * p[i];
    if (h.momentum !== 0) {
      next[i] = buf === null ? d : h.momentum * buf[i] + (1 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * next[i] : next[i];
    }
    p[i] -= h.lr * d;
  }
  return h.momentum !== 0 ? next : buf;
}

interface AdamRefState {
  t: number;
  m: number[];
  v: number[];
  vmax: number[];
}
function adamRef(
  p: number[],
  g: number[],
  s: AdamRefState,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
  amsgrad: boolean,
  decoupled: boolean,
): void {
  s.t += 1;
  for (let i = 0; i < p.length; i++) {
    let d = g[i];
    if (decoupled) p[i] *= 1 - lr * wd;
    else d += wd * p[i];
    s.m[i] = s.m[i] + (1 - b1) * (d - s.m[i]);
    s.v[i] = b2 * s.v[i] + (1 - b2) * d * d;
    s.vmax[i] = Math.max(s.vmax[i], s.v[i]);
    const second = amsgrad ? s.vmax[i] : s.v[i];
    const denom = Math.sqrt(second) / Math.sqrt(1 - b2 ** s.t) + eps;
    p[i] -= (lr / (1 - b1 ** s.t)) * (s.m[i] / denom);
  }
}

// ---- live native handle counter (wraps the addon's handle-producing functions) ----
// In-place ops (names ending in '_') return a handle to self that Tensor drops unwrapped;
// those are not counted.

const live = new Set<unknown>();
const record = (r: unknown): void => {
  if (Array.isArray(r)) r.forEach(record);
  else if (native.isHandle(r)) live.add(r);
};
{
  const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const inplace = new Map<number, boolean>();
  const isInplace = (id: number): boolean => {
    let v = inplace.get(id);
    if (v === undefined) inplace.set(id, (v = native.opSchema(id).name.endsWith('_')));
    return v;
  };
  for (const name of ['call', 'grad', 'fromTypedArray']) {
    const orig = n[name];
    n[name] = (...a: unknown[]) => {
      const r = orig(...a);
      if (!(name === 'call' && isInplace(a[0] as number))) record(r);
      return r;
    };
  }
  const dispose = n.dispose;
  n.dispose = (h: unknown) => {
    live.delete(h);
    return dispose(h);
  };
}

test('SGD: weight decay, momentum, dampening and per-step lr/momentum changes match hand values', () =>
  tidy(() => {
    const p = param([1, -2, 0.5]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, weight_decay: 0.01 });
    const ref = [1, -2, 0.5];
    let buf: number[] | null = null;
    const grads = [
      [0.3, -0.7, 1.1],
      [-0.2, 0.4, 0.9],
      [0.05, 0.6, -1.3],
    ];
    const hyper = [
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.05, momentum: 0.8 },
      { lr: 0.02, momentum: 0.937 },
    ];
    grads.forEach((g, k) => {
      opt.paramGroups[0].lr = hyper[k].lr;
      opt.paramGroups[0].momentum = hyper[k].momentum;
      setGrads([p], [g]);
      opt.step();
      buf = sgdRef(ref, g, buf, { ...hyper[k], dampening: 0.1, weight_decay: 0.01, nesterov: false });
      close(p.toArray(), ref);
      close((opt.state.get(p)!.momentum_buffer as Tensor).toArray(), buf!);
    });
    opt.dispose();
  }));

test('SGD: plain and nesterov groups (yolov5 layout via addParamGroup) match hand values', () =>
  tidy(() => {
    const bias = param([0.1, 0.2]);
    const w = param([1, 2]);
    const bn = param([-1]);
    const opt = new optim.SGD([bias], { lr: 0.01, momentum: 0.937, nesterov: true });
    opt.addParamGroup({ params: [w], weight_decay: 5e-4 });
    opt.addParamGroup({ params: bn, weight_decay: 0 });
    assert.equal(opt.paramGroups.length, 3);
    assert.equal(opt.paramGroups[1].weight_decay, 5e-4);
    assert.equal(opt.paramGroups[1].nesterov, true);
    assert.throws(() => opt.addParamGroup({ params: [w] }), /more than once/);
    const plain = param([3, 4]);
    const opt2 = new optim.SGD([plain], { lr: 0.5 });
    const refs = [[0.1, 0.2], [1, 2], [-1]];
    const bufs: (number[] | null)[] = [null, null, null];
    const refPlain = [3, 4];
    const gs = [
      [[0.5, -0.5], [1, -1], [2]],
      [[0.25, 0.75], [-2, 0.5], [-1]],
      [[1, 1], [0.3, 0.1], [0.7]],
    ];
    gs.forEach((g, k) => {
      const lr = 0.01 * (k + 1);
      const momentum = 0.8 + 0.05 * k;
      for (const grp of opt.paramGroups) {
        grp.lr = lr;
        grp.momentum = momentum;
      }
      setGrads([bias, w, bn], g);
      opt.step();
      [0, 5e-4, 0].forEach((wd, i) => {
        bufs[i] = sgdRef(refs[i], g[i], bufs[i], { lr, momentum, dampening: 0, weight_decay: wd, nesterov: true });
      });
      close(bias.toArray(), refs[0]);
      close(w.toArray(), refs[1]);
      close(bn.toArray(), refs[2]);
      setGrads([plain], [g[0]]);
      opt2.step();
      sgdRef(refPlain, g[0], null, { lr: 0.5, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false });
      close(plain.toArray(), refPlain);
    });
    assert.equal(opt2.state.size, 0, 'no momentum: no state');
    assert.throws(() => new optim.SGD([param([1])], { momentum: 0, nesterov: true }), /Nesterov/);
    opt.dispose();
  }));

test('Adam (L2 decay), Adam amsgrad and AdamW match hand values', () =>
  tidy(() => {
    const grads = [
      [3, -1],
      [0.1, 0.5],
      [2, -0.2],
    ];
    const cases = [
      { ctor: optim.Adam, amsgrad: false, decoupled: false, wd: 0.1 },
      { ctor: optim.Adam, amsgrad: true, decoupled: false, wd: 0.1 },
      { ctor: optim.AdamW, amsgrad: false, decoupled: true, wd: 0.05 },
      { ctor: optim.AdamW, amsgrad: true, decoupled: true, wd: 0.05 },
    ];
    for (const c of cases) {
      const p = param([0.5, -1.5]);
      const opt = new c.ctor([p], { lr: 0.01, betas: [0.8, 0.95], eps: 1e-8, weight_decay: c.wd, amsgrad: c.amsgrad });
      const ref = [0.5, -1.5];
      const s: AdamRefState = { t: 0, m: [0, 0], v: [0, 0], vmax: [0, 0] };
      grads.forEach((g, k) => {
        const lr = [0.01, 0.02, 0.005][k];
        opt.paramGroups[0].lr = lr;
        setGrads([p], [g]);
        opt.step();
        adamRef(ref, g, s, lr, 0.8, 0.95, 1e-8, c.wd, c.amsgrad, c.decoupled);
        close(p.toArray(), ref);
        const st = opt.state.get(p)!;
        assert.equal(st.step, k + 1);
        close((st.exp_avg as Tensor).toArray(), s.m);
        close((st.exp_avg_sq as Tensor).toArray(), s.v);
        if (c.amsgrad) close((st.max_exp_avg_sq as Tensor).toArray(), s.vmax);
        else assert.equal(st.max_exp_avg_sq, undefined);
      });
      opt.dispose();
    }
    const w = new optim.AdamW([param([1])]);
    assert.equal(w.paramGroups[0].weight_decay, 1e-2);
    assert.deepEqual(w.paramGroups[0].betas, [0.9, 0.999]);
    assert.throws(() => new optim.Adam([param([1])], { betas: [1, 0.9] }), /beta/);
  }));

test('RMSprop plain and centered with momentum and weight decay match hand values', () =>
  tidy(() => {
    const grads = [
      [0.4, -2],
      [1.5, 0.3],
      [-0.6, 0.9],
    ];
    for (const centered of [false, true]) {
      const alpha = 0.9;
      const eps = 1e-6;
      const wd = centered ? 0.02 : 0;
      const momentum = centered ? 0.5 : 0;
      const p = param([2, -3]);
      const opt = new optim.RMSprop([p], { lr: 0.01, alpha, eps, weight_decay: wd, momentum, centered });
      const ref = [2, -3];
      const sq = [0, 0];
      const ga = [0, 0];
      const buf = [0, 0];
      grads.forEach((g, k) => {
        setGrads([p], [g]);
        opt.step();
        for (let i = 0; i < 2; i++) {
          const d = g[i] + wd * ref[i];
          sq[i] = alpha * sq[i] + (1 - alpha) * d * d;
          let avg: number;
          if (centered) {
            ga[i] = ga[i] + (1 - alpha) * (d - ga[i]);
            avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
          } else {
            avg = Math.sqrt(sq[i]) + eps;
          }
          if (momentum > 0) {
            buf[i] = momentum * buf[i] + d / avg;
            ref[i] -= 0.01 * buf[i];
          } else {
            ref[i] -= (0.01 * d) / avg;
          }
        }
        close(p.toArray(), ref);
        const st = opt.state.get(p)!;
        assert.equal(st.step, k + 1);
        close((st.square_avg as Tensor).toArray(), sq);
        if (centered) close((st.grad_avg as Tensor).toArray(), ga);
        if (momentum > 0) close((st.momentum_buffer as Tensor).toArray(), buf);
      });
      opt.dispose();
    }
  }));

test('step() works after a real backward, under noGrad, keeping parameter identity', () =>
  tidy(() => {
    const p = param([1, -2]);
    const handle = p._h;
    const opt = new optim.SGD([p], { lr: 0.25 });
    const loss = p.mul(p).sum();
    loss.backward();
    opt.step();
    close(p.toArray(), [0.5, -1]);
    assert.equal(p._h, handle);
    assert.ok(p.requiresGrad && p.isLeaf);
    opt.zeroGrad(false);
    assert.deepEqual(p.grad!.toArray(), [0, 0]);
    opt.zeroGrad();
    assert.equal(p.grad, null);
    opt.step(); // no gradient: nothing happens
    close(p.toArray(), [0.5, -1]);
    assert.equal(
      opt.step(() => 7),
      7,
    );
  }));

test('LambdaLR: initial_lr, per-group lambdas, lastEpoch, getLastLr and state dicts', () =>
  tidy(() => {
    const opt = new optim.SGD(
      [
        { params: [param([1])], lr: 0.1 },
        { params: [param([2])], lr: 0.01 },
      ],
      { momentum: 0.9 },
    );
    const lf = (e: number): number => (1 - e / 10) * (1 - 0.2) + 0.2;
    const sched = new optim.LambdaLR(opt, lf);
    assert.equal(sched.lastEpoch, 0);
    assert.deepEqual(
      opt.paramGroups.map((g) => g.initial_lr),
      [0.1, 0.01],
    );
    close(sched.getLastLr(), [0.1 * lf(0), 0.01 * lf(0)]);
    sched.step();
    sched.step();
    assert.equal(sched.lastEpoch, 2);
    close(
      opt.paramGroups.map((g) => g.lr),
      [0.1 * lf(2), 0.01 * lf(2)],
    );
    close(sched.getLastLr(), [0.1 * lf(2), 0.01 * lf(2)]);
    // warmup-style overwrite then resume at an epoch (yolov5: scheduler.last_epoch = start_epoch - 1)
    opt.paramGroups[0].lr = 123;
    sched.lastEpoch = 6;
    sched.step();
    close(
      opt.paramGroups.map((g) => g.lr),
      [0.1 * lf(7), 0.01 * lf(7)],
    );
    const sd = sched.stateDict();
    assert.deepEqual(sd, { last_epoch: 7, base_lrs: [0.1, 0.01], _last_lr: sched.getLastLr(), _step_count: 4 });
    // a second scheduler resumes from initial_lr, not the current lr
    const again = new optim.LambdaLR(opt, [(e) => e, (e) => 2 * e], 4);
    close(
      opt.paramGroups.map((g) => g.lr),
      [0.1 * 5, 0.01 * 10],
    );
    again.loadStateDict(sd);
    again.step();
    assert.equal(again.lastEpoch, 8);
    close(again.getLastLr(), [0.1 * 8, 0.01 * 16]);
    const fresh = new optim.SGD([param([1])], { lr: 0.3 });
    assert.throws(() => new optim.LambdaLR(fresh, lf, 3), /initial_lr/);
    assert.throws(() => new optim.LambdaLR(fresh, [lf, lf]), /lr lambdas/);
  }));

test('clipGradNorm_ scales by maxNorm/(total+1e-6) and returns the total norm', () =>
  tidy(() => {
    const a = param([3, -4]);
    const b = param([12]);
    const c = param([7]); // no grad: ignored
    setGrads([a, b], [[3, -4], [12]]);
    const total = clipGradNorm_([a, b, c], 6.5);
    close([total], [13]);
    const coef = 6.5 / (13 + 1e-6);
    close(a.grad!.toArray(), [3 * coef, -4 * coef]);
    close(b.grad!.toArray(), [12 * coef]);
    setGrads([a, b], [[3, -4], [12]]);
    close([clipGradNorm_([a, b], 100)], [13]);
    assert.deepEqual(a.grad!.toArray(), [3, -4]);
    assert.deepEqual(b.grad!.toArray(), [12]);
    close([clipGradNorm_([a, b], 1, 1)], [19]);
    close(b.grad!.toArray(), [12 / (19 + 1e-6)]);
    setGrads([a, b], [[3, -4], [-12]]);
    close([clipGradNorm_([a, b], 6, Infinity)], [12]);
    close(b.grad!.toArray(), [(-12 * 6) / (12 + 1e-6)]);
    assert.equal(clipGradNorm_(c, 1), 0);
    setGrads([a], [[NaN, 1]]);
    assert.throws(() => clipGradNorm_(a, 1, 2, true), /non-finite/);
  }));

function adamPair(): { ps: Tensor[]; opt: optim.Adam } {
  const ps = [
    param([0.5, -1, 2]),
    param(
      [
        [1, 2],
        [3, 4],
      ].flat(),
    ),
    param([-0.25]),
  ];
  const opt = new optim.Adam([{ params: [ps[0]] }, { params: [ps[1], ps[2]], weight_decay: 0.01, lr: 0.02 }], {
    lr: 0.01,
    amsgrad: true,
  });
  return { ps, opt };
}
const gradAt = (k: number, i: number, n: number): number[] =>
  Array.from({ length: n }, (_, j) => Math.sin(k * 3.1 + i * 1.7 + j) * (1 + k));

test('stateDict -> loadStateDict into a fresh optimizer continues bit-identically', () =>
  tidy(() => {
    const a = adamPair();
    const runStep = (o: { ps: Tensor[]; opt: optim.Optimizer<optim.AdamGroup> }, k: number): void => {
      setGrads(
        o.ps,
        o.ps.map((p, i) => gradAt(k, i, p.numel)),
      );
      o.opt.step();
    };
    for (let k = 0; k < 3; k++) runStep(a, k);
    a.opt.paramGroups[1].lr = 0.015;
    const sd = a.opt.stateDict();
    assert.deepEqual(
      sd.paramGroups.map((g) => g.params),
      [[0], [1, 2]],
    );
    assert.equal(sd.paramGroups[1].lr, 0.015);
    assert.equal(sd.paramGroups[1].weight_decay, 0.01);
    assert.deepEqual([...sd.state.keys()], [0, 1, 2]);
    assert.deepEqual(Object.keys(sd.state.get(1)!).sort(), ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
    assert.equal(sd.state.get(2)!.step, 3);

    const b = adamPair();
    b.ps.forEach((p, i) => p.detach().copy_(a.ps[i]));
    b.opt.loadStateDict(sd);
    assert.equal(b.opt.paramGroups[1].lr, 0.015);
    for (let k = 3; k < 6; k++) {
      runStep(a, k);
      runStep(b, k);
    }
    a.ps.forEach((p, i) => assert.ok(p.equal(b.ps[i]), `param ${i} differs`));
    // the loaded state was copied, not aliased
    const sa = a.opt.state.get(a.ps[1])!.exp_avg as Tensor;
    const sb = b.opt.state.get(b.ps[1])!.exp_avg as Tensor;
    assert.notEqual(sa._h, sb._h);
    assert.ok(sa.equal(sb));

    // validation: group count, param count, shapes
    const one = new optim.Adam([param([1, 2, 3])]);
    assert.throws(() => one.loadStateDict(sd), /2 parameter groups/);
    const wrongCount = new optim.Adam([{ params: [param([1, 2, 3])] }, { params: [param([1, 2, 3, 4])] }]);
    assert.throws(
      () => wrongCount.loadStateDict(sd),
      /group 1: loaded state dict has 2 parameters, the optimizer has 1/,
    );
    const wrongShape = new optim.Adam([{ params: [param([1, 2, 3])] }, { params: [param([1, 2, 3]), param([1])] }]);
    assert.throws(() => wrongShape.loadStateDict(sd), /shape \[4\], the parameter has \[3\]/);
    assert.equal(wrongShape.state.size, 0);
    a.opt.dispose();
    b.opt.dispose();
  }));

test('SGD state dict round trip continues bit-identically', () =>
  tidy(() => {
    const make = (): { p: Tensor; opt: optim.SGD } => {
      const p = param([1, 2, 3]);
      return { p, opt: new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 1e-3 }) };
    };
    const a = make();
    const b = make();
    const go = (o: { p: Tensor; opt: optim.SGD }, k: number): void => {
      setGrads([o.p], [gradAt(k, 0, 3)]);
      o.opt.step();
    };
    go(a, 0);
    go(a, 1);
    b.p.detach().copy_(a.p);
    b.opt.loadStateDict(a.opt.stateDict());
    for (let k = 2; k < 5; k++) {
      go(a, k);
      go(b, k);
    }
    assert.ok(a.p.equal(b.p));
    a.opt.dispose();
    b.opt.dispose();
  }));

test('200 steps in a tidy loop leave no extra live tensors; dispose and load free old state', () => {
  const { ps, opt } = tidy(() => adamPair());
  const sgdP = tidy(() => param([1, 2]));
  const sgd = new optim.SGD([sgdP], { lr: 0.1, momentum: 0.9 });
  const rms = new optim.RMSprop([tidy(() => param([3]))], { momentum: 0.5, centered: true });
  const rp = rms.paramGroups[0].params[0];
  const all = (k: number): void =>
    tidy(() => {
      setGrads(
        ps,
        ps.map((p, i) => gradAt(k, i, p.numel)),
      );
      setGrads([sgdP, rp], [gradAt(k, 0, 2), gradAt(k, 1, 1)]);
      opt.step();
      sgd.step();
      rms.step();
      clipGradNorm_([...ps, sgdP], 0.5);
      opt.zeroGrad();
      sgd.zeroGrad(false);
    });
  all(0);
  const before = live.size;
  const buffers = [opt, sgd, rms].flatMap((o) => [...o.state.values()].flatMap((s) => Object.values(s)));
  for (let k = 1; k <= 200; k++) all(k);
  assert.equal(live.size, before);
  const after = [opt, sgd, rms].flatMap((o) => [...o.state.values()].flatMap((s) => Object.values(s)));
  assert.equal(after.filter((v) => typeof v !== 'number').length, 3 * 3 + 1 + 3);
  after.forEach((v, i) => {
    if (typeof v !== 'number') assert.equal(v, buffers[i], 'state tensors are updated in place');
  });
  // loading replaces (and frees) the old buffers: the live count is unchanged
  tidy(() => opt.loadStateDict(opt.stateDict()));
  assert.equal(live.size, before);
  for (const o of [opt, sgd, rms]) o.dispose();
  assert.equal(live.size, before - 13);
  for (const p of [...ps, sgdP, rp]) {
    p.grad = null;
    p.dispose();
  }
});

test('SGD: the multi-tensor group update is bit-identical to the per-parameter update', () => {
  class PerParameter extends optim.SGD {
    protected override updateGroup(): boolean {
      return false;
    }
  }
  manualSeed(3);
  const init = [randn([16, 3, 3, 3]), randn([16]), randn([8, 16])];
  const a = init.map((t) => t.clone().requiresGrad_());
  const b = init.map((t) => t.clone().requiresGrad_());
  const hyper = { lr: 0.01, momentum: 0.937, nesterov: true, weight_decay: 5e-4 };
  const fast = new optim.SGD(a, hyper);
  const slow = new PerParameter(b, hyper);
  for (let step = 0; step < 4; step++) {
    const grads = init.map((t) => randn(t.shape));
    a.forEach((p, i) => (p.grad = grads[i].clone()));
    b.forEach((p, i) => (p.grad = grads[i].clone()));
    fast.step();
    slow.step();
  }
  a.forEach((p, i) => assert.deepEqual(p.toTypedArray(), b[i].toTypedArray(), `parameter ${i}`));
  assert.notDeepEqual(a[0].toTypedArray(), init[0].toTypedArray(), 'the parameters moved');
});

test('loadStateDict gives each momentum buffer its parameter layout (channels-last stays channels-last)', () =>
  tidy(() => {
    manualSeed(3);
    const w = randn([4, 3, 2, 2]).contiguous('channels_last').requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    w.grad = randn([4, 3, 2, 2]);
    opt.step();
    const saved = opt.stateDict();
    const buf = (o: optim.SGD) => o.stateDict().state.get(0)!.momentum_buffer as Tensor;
    // a state dict read from a file holds row-major tensors
    const rowMajor = buf(opt).contiguous();
    const fresh = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    fresh.loadStateDict({ ...saved, state: new Map([[0, { momentum_buffer: rowMajor }]]) });
    assert.deepEqual(buf(fresh).strides(), w.strides());
    assert.notDeepEqual(rowMajor.strides(), w.strides());
    assert.ok(buf(fresh).equal(buf(opt)));
    opt.dispose();
    fresh.dispose();
  }));
