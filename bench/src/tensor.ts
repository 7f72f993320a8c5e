// Engine overhead and a heavy op: µs per `add` of two 1-element tensors, and
// conv2d forward+backward on 16×32×80×80 with 64 3×3 filters.
import { F, getNumThreads, randn, setNumThreads, tensor, tidy } from '@tsyolo/torch';
import { median, report, timeMs } from './measure.js';

export function benchTensor(threads: number[]): void {
  for (const n of threads) {
    setNumThreads(n);
    const a = tensor([1]);
    const b = tensor([2]);
    const runs: number[] = [];
    const N = 200_000;
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      tidy(() => {
        for (let i = 0; i < N; i++) a.add(b).dispose();
      });
      runs.push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
    }
    report({
      bench: 'add_1elem',
      unit: 'us/call',
      value: +median(runs.slice(2)).toFixed(3),
      threads: getNumThreads(),
      note: 'a.add(b) + dispose, median of 5 runs of 200k',
    });
    const runsTidy: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < N / 1000; k++)
        tidy(() => {
          for (let i = 0; i < 1000; i++) a.add(b);
        });
      runsTidy.push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
    }
    report({
      bench: 'add_1elem_scope',
      unit: 'us/call',
      value: +median(runsTidy.slice(2)).toFixed(3),
      threads: getNumThreads(),
      note: 'a.add(b) freed by tidy every 1000 calls',
    });
    a.dispose();
    b.dispose();

    const x = randn([16, 32, 80, 80]);
    const w = randn([64, 32, 3, 3]).mul(0.05).requiresGrad_();
    const inp = x.requiresGrad_();
    const ms = timeMs(
      () =>
        tidy(() => {
          const y = F.conv2d(inp, w, null, { padding: 1 });
          y.sum().backward();
          w.grad = null;
          inp.grad = null;
        }),
      8,
      2,
    );
    report({
      bench: 'conv2d_fwd_bwd',
      unit: 'ms',
      value: +ms.toFixed(2),
      threads: getNumThreads(),
      shape: '16x32x80x80, 64x3x3, pad 1',
    });
    x.dispose();
    w.dispose();
  }
}
