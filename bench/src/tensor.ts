// Engine overhead and a heavy op: µs per `add` of two 1-element tensors, and conv2d forward+backward
// on 16×32×80×80 with 64 3×3 filters; taking turns with bench/py/engine.py (the same calls in
// PyTorch, same libtorch) when Debian's python3-torch is installed, so each line carries the ratio.
import { spawnSync } from 'node:child_process';
import { F, getNumThreads, handleMode, randn, setNumThreads, tensor, tidy } from '@tsyolo/torch';
import { median, report, timeMs } from './measure.js';
import { loadedBlas, pyEnv, pyScript, torchPython } from './pytorch.js';

const N = 200_000;

/** µs per a.add(b): disposed one by one, or (scoped) freed by tidy every 1000 calls. */
function addUs(scoped: boolean): number {
  const a = tensor([1]);
  const b = tensor([2]);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    if (scoped)
      for (let k = 0; k < N / 1000; k++)
        tidy(() => {
          for (let i = 0; i < 1000; i++) a.add(b);
        });
    else for (let i = 0; i < N; i++) a.add(b).dispose();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
  }
  a.dispose();
  b.dispose();
  return median(runs.slice(2));
}

function convMs(): number {
  const x = randn([16, 32, 80, 80]).requiresGrad_();
  const w = randn([64, 32, 3, 3]).mul(0.05).requiresGrad_();
  const ms = timeMs(
    () =>
      tidy(() => {
        F.conv2d(x, w, null, { padding: 1 }).sum().backward();
        w.grad = null;
        x.grad = null;
      }),
    8,
    2,
  );
  x.dispose();
  w.dispose();
  return ms;
}

function pytorch(py: string, threads: number): { add_us: number; conv_ms: number } {
  const r = spawnSync(py, [pyScript('engine.py'), String(threads)], { encoding: 'utf8', env: pyEnv().env });
  if (r.status !== 0) throw new Error(`bench/py/engine.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

export function benchTensor(threads: number[]): void {
  const py = torchPython();
  const rounds = py ? Number(process.env.BENCH_ROUNDS) || 3 : 1;
  for (const n of threads) {
    setNumThreads(n);
    const ours = { add: [] as number[], scope: [] as number[], conv: [] as number[] };
    const theirs = { add: [] as number[], conv: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      ours.add.push(addUs(false));
      ours.scope.push(addUs(true));
      ours.conv.push(convMs());
      if (!py) continue;
      const p = pytorch(py, n);
      theirs.add.push(p.add_us);
      theirs.conv.push(p.conv_ms);
    }
    const ref = (mine: number[], ref: number[]) =>
      py ? { pytorch: +median(ref).toFixed(3), ratio: +(median(mine) / median(ref)).toFixed(3) } : {};
    const common = {
      threads: getNumThreads(),
      rounds,
      blas: loadedBlas(),
      pytorch_malloc: pyEnv().malloc,
      handles: handleMode(),
    };
    const addNote = 'a.add(b) + dispose, median of 5 runs of 200k; PyTorch: torch.add(a, b)';
    report({
      bench: 'add_1elem',
      unit: 'us/call',
      value: +median(ours.add).toFixed(3),
      ...ref(ours.add, theirs.add),
      ...common,
      note: addNote,
    });
    report({
      bench: 'add_1elem_scope',
      unit: 'us/call',
      value: +median(ours.scope).toFixed(3),
      ...ref(ours.scope, theirs.add),
      ...common,
      note: 'a.add(b) freed by tidy every 1000 calls',
    });
    report({
      bench: 'conv2d_fwd_bwd',
      unit: 'ms',
      value: +median(ours.conv).toFixed(2),
      ...ref(ours.conv, theirs.conv),
      ...common,
      shape: '16x32x80x80, 64x3x3, pad 1',
    });
  }
}
