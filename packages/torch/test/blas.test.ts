import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { blasEnv, resolvedBlas } from '../src/blas.js';
import '../src/index.js';

test("OpenBLAS's pthread build is held to one thread before the addon loads; other BLAS builds are left alone", () => {
  const pthread = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3';
  assert.deepEqual(blasEnv(pthread, {}), { OPENBLAS_NUM_THREADS: '1' });
  assert.deepEqual(blasEnv(pthread, { OPENBLAS_NUM_THREADS: '4' }), {}, "the user's choice stands");
  assert.deepEqual(blasEnv('/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3', {}), {});
  assert.deepEqual(blasEnv('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3', {}), {});
  assert.deepEqual(blasEnv(null, {}), {});
});

test('the BLAS libtorch loaded is the one libblas.so.3 resolves to', () => {
  const blas = resolvedBlas();
  if (!blas) return; // not a Debian multiarch layout
  const maps = readFileSync('/proc/self/maps', 'utf8');
  assert.ok(maps.includes(blas), `${blas} is not mapped`);
  if (/openblas-pthread/.test(blas)) assert.equal(process.env.OPENBLAS_NUM_THREADS, '1');
});
