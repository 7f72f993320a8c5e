// A worker process for distributed.test.ts: runs one scenario at rank RANK of WORLD_SIZE and
// writes what it saw to $OUT/rank<r>.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cat, dist, manualSeed, nn, noGrad, randn, type Tensor, tidy } from '../src/index.js';

const scenario = process.argv[2];
const out = process.env.OUT!;
const pg = dist.initProcessGroup({ storeTimeoutMs: 20_000, timeoutMs: Number(process.env.TIMEOUT_MS ?? 20_000) });
const r = pg.rank;
const result: Record<string, unknown> = { rank: r, size: pg.size, backend: pg.backend };

function arr(t: Tensor): number[] {
  return Array.from(t.float().toTypedArray() as Float32Array);
}

if (scenario === 'collectives') {
  tidy(() => {
    const a = randn([3])
      .mul(0)
      .add(r + 1);
    result.sum = arr(pg.allreduce(a.clone(), 'sum'));
    result.max = arr(pg.allreduce(a.clone(), 'max'));
    result.mean = arr(pg.allreduceMean(a.clone()));
    const b = randn([2])
      .mul(0)
      .add(r === 0 ? 7 : -1);
    result.broadcast = arr(pg.broadcast(b, 0));
    result.gather = pg.allgather(a.mul(10)).map(arr);
    pg.barrier();
    const store = dist.Store.tcp({
      host: '127.0.0.1',
      port: Number(process.env.MASTER_PORT),
      isServer: false,
      timeoutMs: 10_000,
    });
    result.counter = store.add('counter', 1);
    pg.barrier();
    result.counterAfter = store.add('counter', 0);
    store.set(`k${r}`, `v${r}`);
    result.other = store.getString(`k${1 - r}`);
  });
} else if (scenario === 'syncbn') {
  // the same 8-sample batch on every rank; each rank normalises its half with SyncBN and
  // also runs plain BatchNorm2d on the whole batch as the reference
  manualSeed(7);
  const full = randn([8, 3, 5, 4]).mul(2).add(0.5);
  const dyFull = randn([8, 3, 5, 4]);
  const mk = (): nn.BatchNorm2d => {
    const bn = new nn.BatchNorm2d(3, { eps: 1e-3, momentum: 0.03 });
    tidy(() =>
      noGrad(() => {
        bn.weight!.copy_(randn([3]).mul(0).add(1.5));
        bn.bias!.copy_(randn([3]).mul(0).add(-0.25));
      }),
    );
    return bn;
  };
  const ref = mk();
  const x = full.clone().requiresGrad_(true);
  ref.forward(x).mul(dyFull).sum().backward();
  const sync = mk();
  nn.convertSyncBatchNorm(sync, pg);
  const xr = full
    .narrow(0, 4 * r, 4)
    .clone()
    .requiresGrad_(true);
  const y = sync.forward(xr);
  y.mul(dyFull.narrow(0, 4 * r, 4))
    .sum()
    .backward();
  // local weight/bias grads are summed across ranks as DDP does (with the sum of the two losses)
  const gw = pg.allreduce(sync.weight!.grad!.clone());
  const gb = pg.allreduce(sync.bias!.grad!.clone());
  tidy(() => {
    const diff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item() as number;
    const yAll = cat(pg.allgather(y.detach().contiguous()), 0);
    const gxAll = cat(pg.allgather(xr.grad!.contiguous()), 0);
    ref.eval();
    result.dGradX = diff(gxAll, x.grad!);
    result.dGradW = diff(gw, ref.weight!.grad!);
    result.dGradB = diff(gb, ref.bias!.grad!);
    result.dRunMean = diff(sync.runningMean!, ref.runningMean!);
    result.dRunVar = diff(sync.runningVar!, ref.runningVar!);
    ref.train();
    const yr = ref.forward(full);
    result.dY = diff(yAll, yr);
  });
} else if (scenario === 'dead-peer') {
  const t = randn([4]);
  pg.allreduce(t);
  if (r === 1) process.exit(3);
  const t0 = Date.now();
  try {
    for (let i = 0; i < 100; i++) pg.allreduce(t);
    result.error = null;
  } catch (e) {
    result.error = (e as Error).message;
  }
  result.ms = Date.now() - t0;
}
writeFileSync(join(out, `rank${r}.json`), JSON.stringify(result));
pg.destroy();
