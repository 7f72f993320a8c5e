// Same-run references: the bench/py scripts under Debian's python3-torch (the same libtorch), driven
// line by line so tsyolo and PyTorch take turns in one run. Absent python3-torch, benches run alone.
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The Python with torch (BENCH_PYTHON, else Debian's /usr/bin/python3), or null when it has none. */
export function torchPython(): string | null {
  const py = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0 ? py : null;
}

/** The BLAS library this process mapped (both processes load the same libblas.so.3 alternative). */
export function loadedBlas(): string {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const m = /\s(\/\S*(?:openblas|blas|mkl)\S*\.so[.\d]*)$/m.exec(maps);
    return m ? m[1] : 'none mapped';
  } catch {
    return 'unknown';
  }
}

/**
 * The environment for the PyTorch side: glibc's default allocator policy (what a yolov5 user runs),
 * or with BENCH_PY_MALLOC=tsyolo the fixed thresholds tsyolo sets for itself, to compare the engines alone.
 */
export function pyEnv(): { env: NodeJS.ProcessEnv; malloc: string } {
  if (process.env.BENCH_PY_MALLOC !== 'tsyolo') return { env: process.env, malloc: 'glibc default' };
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '268435456', MALLOC_TRIM_THRESHOLD_: '536870912' };
  return { env, malloc: 'mmap=268435456,trim=536870912 (as tsyolo)' };
}

/** Path of a script in bench/py (dist/*.js -> ../py). */
export function pyScript(name: string): string {
  return fileURLToPath(new URL(`../py/${name}`, import.meta.url));
}

/** A bench/py script in --serve mode: one request line in, one JSON line out. */
export class PyServer {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly buffered: string[] = [];

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (l) => {
      const w = this.waiting.shift();
      if (w) w(l);
      else this.buffered.push(l);
    });
    child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w('{"error":"python exited"}');
    });
  }

  /** Starts `python script args --serve` and waits for its ready line; null without python3-torch. */
  static async start(script: string, args: string[]): Promise<PyServer | null> {
    const py = torchPython();
    if (!py) return null;
    const s = new PyServer(
      spawn(py, [pyScript(script), ...args, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'], env: pyEnv().env }),
    );
    const ready = await s.next();
    if (!ready.ready) {
      s.close();
      throw new Error(`${script}: no ready line (${JSON.stringify(ready)})`);
    }
    return s;
  }

  private next(): Promise<Record<string, unknown>> {
    const b = this.buffered.shift();
    const line = b !== undefined ? Promise.resolve(b) : new Promise<string>((r) => this.waiting.push(r));
    return line.then((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Sends one request line and returns its JSON answer (throws on an error answer). */
  async request(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${line}\n`);
    const r = await this.next();
    if (r.error) throw new Error(`PyTorch reference: ${String(r.error)}`);
    return r;
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }
}
