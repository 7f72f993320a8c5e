// c10d bindings: stores, Gloo collectives, SyncBatchNorm across 2 processes, a dead peer;
// custom autograd functions.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyFunction, dist, pendingFunctions, randn, type Tensor, tensor, tidy } from '../src/index.js';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'dist-worker.js');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Run {
  codes: (number | null)[];
  results: Record<string, unknown>[];
  stderr: string[];
}

async function runWorkers(scenario: string, world = 2, extraEnv: Record<string, string> = {}): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), `tsyolo-dist-${scenario}-`));
  const port = await freePort();
  const procs = Array.from({ length: world }, (_, r) =>
    spawn(process.execPath, [worker, scenario], {
      env: {
        ...process.env,
        ...extraEnv,
        OUT: out,
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        RANK: String(r),
        WORLD_SIZE: String(world),
        TSYOLO_NUM_THREADS: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const stderr = procs.map(() => '');
  procs.forEach((p, i) => p.stderr!.on('data', (d: Buffer) => (stderr[i] += d.toString())));
  const codes = await Promise.all(procs.map((p) => new Promise<number | null>((res) => p.on('exit', (c) => res(c)))));
  const results = Array.from({ length: world }, (_, r) => {
    const f = join(out, `rank${r}.json`);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>) : {};
  });
  return { codes, results, stderr };
}

test('Gloo collectives and the TCP store across 2 processes', async () => {
  const r = await runWorkers('collectives');
  assert.deepEqual(r.codes, [0, 0], r.stderr.join('\n'));
  for (const [rank, x] of r.results.entries()) {
    assert.equal(x.rank, rank);
    assert.equal(x.backend, 'gloo');
    assert.deepEqual(x.sum, [3, 3, 3]);
    assert.deepEqual(x.max, [2, 2, 2]);
    assert.deepEqual(x.mean, [1.5, 1.5, 1.5]);
    assert.deepEqual(x.broadcast, [7, 7]);
    assert.deepEqual(x.gather, [
      [10, 10, 10],
      [20, 20, 20],
    ]);
    assert.equal(x.counterAfter, 2);
    assert.equal(x.other, `v${1 - rank}`);
  }
  assert.deepEqual([r.results[0].counter, r.results[1].counter].sort(), [1, 2]);
});

test('SyncBatchNorm on 2 × 4 samples equals BatchNorm2d on the 8 (output, input/weight/bias grads, running stats)', async () => {
  const r = await runWorkers('syncbn');
  assert.deepEqual(r.codes, [0, 0], r.stderr.join('\n'));
  for (const x of r.results) {
    for (const k of ['dY', 'dGradX', 'dGradW', 'dGradB', 'dRunMean', 'dRunVar'])
      assert.ok((x[k] as number) < 1e-5, `${k} = ${x[k]}`);
  }
});

test("a peer that dies makes the survivor's collective fail with an error naming it, not hang", async () => {
  const r = await runWorkers('dead-peer', 2, { TIMEOUT_MS: '15000' });
  assert.equal(r.codes[1], 3);
  assert.equal(r.codes[0], 0, r.stderr[0]);
  const e = r.results[0].error as string;
  assert.match(e, /^allreduce: /);
  assert.ok((r.results[0].ms as number) < 15_000);
});

test('process group arguments are checked; NCCL on a CPU build is a clear error', () => {
  const store = dist.Store.file(join(mkdtempSync(join(tmpdir(), 'tsyolo-fs-')), 'store'), 1);
  assert.throws(() => dist.ProcessGroup.create('gloo', store, 2, 2), /rank 2 is not in 0..1/);
  if (!dist.ProcessGroup.hasNccl()) assert.throws(() => dist.ProcessGroup.create('nccl', store, 0, 1), /no NCCL/);
  const pg = dist.ProcessGroup.create('gloo', store, 0, 1);
  tidy(() => assert.deepEqual(pg.allreduce(tensor([1, 2])).toArray(), [1, 2]));
  pg.destroy();
  assert.throws(() => pg.barrier(), /destroyed/);
  assert.throws(() => dist.initProcessGroup({ env: {} }), /RANK and WORLD_SIZE/);
});

test('custom autograd function: JS backward, gradients equal autograd, contexts released', () => {
  const cube = {
    forward(ctx: { save(...t: Tensor[]): void }, [x]: Tensor[]): Tensor[] {
      ctx.save(x);
      return [x.mul(x).mul(x)];
    },
    backward(ctx: { saved: Tensor[] }, [g]: (Tensor | null)[]): (Tensor | null)[] {
      return [g!.mul(ctx.saved[0].square()).mul(3)];
    },
  };
  tidy(() => {
    const x = randn([5]).requiresGrad_(true);
    const [y] = applyFunction(cube, [x.mul(2)]);
    y.sum().backward();
    const x2 = x.detach().clone().requiresGrad_(true);
    x2.mul(2).pow(3).sum().backward();
    assert.ok((x.grad!.sub(x2.grad!).abs().max().item() as number) < 1e-4);
    assert.equal(pendingFunctions(), 0);
    const [z] = applyFunction(cube, [x.detach()]);
    assert.equal(z.requiresGrad, false);
    assert.equal(pendingFunctions(), 0);
    const thrower = {
      forward: (): Tensor[] => {
        throw new Error('boom');
      },
      backward: (): (Tensor | null)[] => [],
    };
    assert.throws(() => applyFunction(thrower, [x]), /boom/);
    assert.equal(pendingFunctions(), 0);
  });
});
