// A process for handles.test.ts (run with --expose-gc, TSYOLO_NAPI_HANDLES picks the mode): exercises
// the handle lifetime in this thread and in a worker thread that exits with tensors still held, and
// prints what it saw as one JSON line.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { handleMode, tensor } from '../src/index.js';
import { native } from '../src/native.js';

const settle = () => new Promise((r) => setTimeout(r, 5));

async function exercise(): Promise<Record<string, unknown>> {
  const a = tensor([1, 2, 3]);
  const stale = a.add(1);
  stale.dispose();
  for (let i = 0; i < 5000; i++) a.add(1).dispose(); // the freed slots go round many times
  let staleError = '';
  try {
    stale.add(1);
  } catch (e) {
    staleError = (e as Error).message;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const collect = async () => {
    for (let k = 0; k < 5; k++) {
      gc();
      await settle();
    }
  };
  await collect(); // 'napi' frees a disposed tensor's slot in GC
  const base = native.liveHandles();
  for (let i = 0; i < 2000; i++) a.mul(2); // dropped without dispose: only the GC frees these
  const dropped = native.liveHandles() - base;
  await collect();
  const held = Array.from({ length: 100 }, () => a.mul(3)); // still live when a worker exits
  return {
    mode: handleMode(),
    staleDisposed: stale.isDisposed,
    staleError,
    dropped,
    afterGc: native.liveHandles() - base - held.length,
    sum: a.add(a).toArray(),
  };
}

if (isMainThread) {
  const main = await exercise();
  const worker = await new Promise<unknown>((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url)); // V8 flags (--expose-gc) are the process's
    let got: unknown;
    w.on('message', (m) => (got = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(got) : reject(new Error(`worker exit ${code}`))));
  });
  console.log(JSON.stringify({ main, worker }));
} else {
  parentPort!.postMessage(await exercise());
}
