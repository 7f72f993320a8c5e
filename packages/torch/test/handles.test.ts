// Tensor handles (native/holder.cc): both ways of making them ('v8', the default when the addon was
// built for this Node, and 'napi') free a disposed tensor at once, free a dropped one in GC, keep
// reading a disposed handle as disposed after its slot is reused, and free what a worker thread
// still holds when it exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { handleMode } from '../src/index.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'handle-worker.js');

test('handles are made with V8 directly in a build for this Node', () => {
  if (process.env.TSYOLO_NAPI_HANDLES) return;
  assert.equal(handleMode(), 'v8');
});

for (const mode of ['v8', 'napi'] as const) {
  test(`'${mode}' handles: disposed, collected, reused and worker-exit lifetimes`, () => {
    const env = { ...process.env, TSYOLO_NAPI_HANDLES: mode === 'napi' ? '1' : '' };
    const r = spawnSync(process.execPath, ['--expose-gc', script], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    for (const where of ['main', 'worker']) {
      const s = out[where];
      assert.equal(s.mode, mode, where);
      assert.equal(s.staleDisposed, true, where);
      assert.match(s.staleError, /tensor was disposed/, where);
      assert.equal(s.dropped, 2000, where);
      assert.ok(s.afterGc >= 0 && s.afterGc < 100, `${where}: ${s.afterGc} of 2,000 dropped tensors left after GC`);
      assert.deepEqual(s.sum, [2, 4, 6], where);
    }
  });
}
