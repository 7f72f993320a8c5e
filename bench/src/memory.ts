// RSS over a long training loop of a small conv net under each allocator policy.
// Each policy runs in a fresh process (TSYOLO_MALLOC is read at load).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { F, getNumThreads, manualSeed, nn, optim, rand, randn, tidy } from '@tsyolo/torch';
import { report } from './measure.js';

export function memoryChild(steps: number): void {
  manualSeed(0);
  const net = new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.SiLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.BatchNorm2d(32),
    new nn.SiLU(),
    new nn.Conv2d(32, 4, 1),
  );
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const rss: Record<string, number> = {};
  const t0 = Date.now();
  for (let s = 1; s <= steps; s++) {
    tidy(() => {
      const bs = 8 + (s % 5) * 4;
      const sz = 32 + (s % 3) * 16;
      const y = net.forward(randn([bs, 3, sz, sz]));
      const loss = F.binaryCrossEntropyWithLogits(y, rand([...y.shape]));
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    if (s === 200 || s === steps)
      rss[`rss_mb_step${s === 200 ? 200 : 'last'}`] = Math.round(process.memoryUsage().rss / 2 ** 20);
  }
  console.log(
    JSON.stringify({ ...rss, ms_per_step: +((Date.now() - t0) / steps).toFixed(2), threads: getNumThreads() }),
  );
}

export function benchMemory(steps: number): void {
  const policies: [string, string][] = [
    ['default (mmap 256 MiB fixed, trim 512 MiB)', ''],
    ['glibc dynamic (no mallopt)', 'none'],
    ['mmap 32 MiB fixed, trim 128 MiB', 'mmap=33554432,trim=134217728'],
  ];
  for (const [name, spec] of policies) {
    const env = { ...process.env };
    if (spec) env.TSYOLO_MALLOC = spec === 'none' ? '' : spec;
    else delete env.TSYOLO_MALLOC;
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('./run.js', import.meta.url)), 'memory-child', String(steps)],
      { env, encoding: 'utf8' },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '{}';
    report({ bench: 'train_loop_rss', policy: name, steps, ...JSON.parse(line) });
  }
}
