// The local launcher behind `tsyolo train --nproc N` (torchrun's job on one node): starts N
// worker processes with the environment torchrun sets (MASTER_ADDR, MASTER_PORT, WORLD_SIZE,
// RANK, LOCAL_RANK, LOCAL_WORLD_SIZE), forwards SIGINT/SIGTERM, and when one worker fails
// stops the others (SIGTERM, then SIGKILL after a grace period) and reports which one.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

export interface LaunchOptions {
  nproc: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  /** 0 or undefined: a free port on a single node, 29500 on several */
  masterPort?: number;
  /** the node script and its arguments, run once per worker */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** ms between SIGTERM and SIGKILL for the survivors when a worker fails */
  graceMs?: number;
  log?: (s: string) => void;
}

export interface LaunchResult {
  /** 0 when every worker exited 0 */
  code: number;
  failed: { rank: number; code: number | null; signal: NodeJS.Signals | null } | null;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw new Error(`--nproc ${o.nproc}: expected a positive integer`);
  if (nodeRank < 0 || nodeRank >= nnodes) throw new Error(`--node-rank ${nodeRank}: expected 0..${nnodes - 1}`);
  const base = o.env ?? process.env;
  const masterAddr = o.masterAddr ?? base.MASTER_ADDR ?? '127.0.0.1';
  const masterPort = o.masterPort || Number(base.MASTER_PORT ?? 0) || (nnodes > 1 ? 29500 : await freePort());
  const world = nnodes * o.nproc;
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  // libtorch threads are split between the local workers unless set
  const threads = base.TSYOLO_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
  const procs: ChildProcess[] = [];
  for (let local = 0; local < o.nproc; local++) {
    const rank = nodeRank * o.nproc + local;
    const p = spawn(process.execPath, o.argv, {
      stdio: 'inherit',
      env: {
        ...base,
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        WORLD_SIZE: String(world),
        RANK: String(rank),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(o.nproc),
        TSYOLO_NUM_THREADS: threads,
      },
    });
    procs.push(p);
  }
  log(
    `launched ${o.nproc} workers (ranks ${nodeRank * o.nproc}..${nodeRank * o.nproc + o.nproc - 1} of ${world}, master ${masterAddr}:${masterPort}, ${threads} libtorch threads each; pids ${procs.map((p) => p.pid).join(' ')})`,
  );

  const forward = (sig: NodeJS.Signals): void => {
    for (const p of procs) if (p.exitCode === null) p.kill(sig);
  };
  const onInt = (): void => forward('SIGINT');
  const onTerm = (): void => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  let failed: LaunchResult['failed'] = null;
  let killTimer: NodeJS.Timeout | null = null;
  try {
    await Promise.all(
      procs.map(
        (p, local) =>
          new Promise<void>((resolve) => {
            p.on('exit', (code, signal) => {
              if ((code !== 0 || signal) && !failed) {
                failed = { rank: nodeRank * o.nproc + local, code, signal };
                const others = procs.filter((q) => q !== p && q.exitCode === null && q.signalCode === null);
                log(
                  `worker rank ${failed.rank} (pid ${p.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the other ${others.length} worker(s)`,
                );
                for (const q of others) q.kill('SIGTERM');
                killTimer = setTimeout(() => {
                  for (const q of procs) if (q.exitCode === null && q.signalCode === null) q.kill('SIGKILL');
                }, o.graceMs ?? 30_000);
              }
              resolve();
            });
          }),
      ),
    );
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const f = failed as LaunchResult['failed'];
  return { code: f ? (f.code && f.code > 0 ? f.code : 1) : 0, failed: f };
}
