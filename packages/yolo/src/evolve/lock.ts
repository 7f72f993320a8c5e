// A cross-process file lock for files several workers update (evolve.csv shared by processes or
// by machines on a shared folder): `<file>.lock` created exclusively, holding the owner's host, pid
// and a token. A lock is stale when it is older than `staleMs`, or when its owner is a process of
// this host that no longer runs; a stale lock is moved aside (rename is atomic) and removed.
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** a lock older than this is broken (default 10 minutes) */
  staleMs?: number;
  /** pause between attempts (default 20 ms) */
  retryMs?: number;
  /** give up after this long (default 2 × staleMs) */
  timeoutMs?: number;
}

interface Owner {
  host: string;
  pid: number;
  token: string;
}

let counter = 0;

function readOwner(lock: string): { text: string; owner: Owner | null; mtimeMs: number } | null {
  try {
    const mtimeMs = statSync(lock).mtimeMs;
    const text = readFileSync(lock, 'utf8');
    let owner: Owner | null = null;
    try {
      const o = JSON.parse(text) as Partial<Owner>;
      if (typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.token === 'string') owner = o as Owner;
    } catch {
      owner = null; // being written, or written by a crashed owner
    }
    return { text, owner, mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Why the lock is stale, or null while its owner may still hold it. */
function staleReason(info: { owner: Owner | null; mtimeMs: number }, staleMs: number): string | null {
  const age = Date.now() - info.mtimeMs;
  if (age > staleMs) return `older than ${Math.round(staleMs / 1000)} s`;
  if (info.owner && info.owner.host === hostname() && info.owner.pid !== process.pid && processGone(info.owner.pid))
    return `process ${info.owner.pid} is gone`;
  // a lock file left empty by an owner killed between creating and writing it
  if (!info.owner && age > Math.min(staleMs, 30_000)) return 'no owner recorded';
  return null;
}

/** Moves a stale lock aside; when another worker replaced it meanwhile, puts theirs back. */
function breakLock(lock: string, seen: string): void {
  const aside = `${lock}.stale-${hostname()}-${process.pid}-${++counter}`;
  try {
    renameSync(lock, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    /* gone: nothing to restore */
  }
  if (moved !== seen) {
    try {
      linkSync(aside, lock); // a fresh lock: restore it unless the slot was taken
    } catch {
      /* taken */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* already removed */
  }
}

function tryCreate(lock: string, owner: Owner): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`${lock}: cannot create the lock file: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, JSON.stringify({ ...owner, time: new Date().toISOString() }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Runs `fn` while holding `<file>.lock`; the lock is released (only if still ours) afterwards. */
export async function withFileLock<T>(file: string, fn: () => T | Promise<T>, o: LockOptions = {}): Promise<T> {
  const lock = `${file}.lock`;
  const staleMs = o.staleMs ?? 10 * 60_000;
  const retryMs = o.retryMs ?? 20;
  const timeoutMs = o.timeoutMs ?? 2 * staleMs;
  const owner: Owner = { host: hostname(), pid: process.pid, token: `${process.pid}-${Date.now()}-${++counter}` };
  const t0 = Date.now();
  for (;;) {
    if (tryCreate(lock, owner)) break;
    const info = readOwner(lock);
    if (!info) continue; // released meanwhile
    if (staleReason(info, staleMs)) {
      breakLock(lock, info.text);
      continue;
    }
    if (Date.now() - t0 > timeoutMs) {
      const who = info.owner ? `process ${info.owner.pid} on ${info.owner.host}` : 'an unknown owner';
      throw new Error(
        `${lock}: still held by ${who} after ${Math.round(timeoutMs / 1000)} s; remove the file if no worker is running`,
      );
    }
    await sleep(retryMs);
  }
  try {
    return await fn();
  } finally {
    const info = readOwner(lock);
    if (info?.owner?.token === owner.token) unlinkSync(lock);
  }
}
