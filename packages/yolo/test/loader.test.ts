// The loader: the same seed gives byte-identical batches whatever the number of workers.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { epochOrder } from '../src/data/sampler.js';
import {
  createDataset,
  DataLoader,
  type DatasetSpec,
  loadDataConfig,
  loadHyp,
  synthesizeDataset,
} from '../src/index.js';

async function epochHash(spec: DatasetSpec, workers: number, epoch: number): Promise<string> {
  const dl = new DataLoader(spec, { batchSize: 4, workers, shuffle: true, seed: 7 });
  const h = createHash('sha256');
  try {
    for await (const b of dl.epoch(epoch)) {
      const im = b.images.toTypedArray();
      const t = b.targets.toTypedArray();
      h.update(new Uint8Array(im.buffer, im.byteOffset, im.byteLength));
      h.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      h.update(b.paths.join('|'));
      b.images.dispose();
      b.targets.dispose();
    }
  } finally {
    await dl.close();
  }
  return h.digest('hex');
}

test('same seed → byte-identical augmented batches with 0, 1 and 4 workers; epochs differ', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsyolo-loader-'));
  const r = await synthesizeDataset({ out: dir, train: 12, val: 2, img: 128, classes: 3, seed: 3 });
  const data = loadDataConfig(r.yaml);
  const hyp = { ...loadHyp('hyp.scratch-low.yaml'), mixup: 0.5, degrees: 10, shear: 2 };
  const ds = await createDataset(data.train, {
    imgsz: 128,
    augment: true,
    hyp,
    seed: 7,
    stride: 32,
    batchSize: 4,
    nc: data.nc,
  });
  const h0 = await epochHash(ds.spec, 0, 0);
  assert.equal(await epochHash(ds.spec, 1, 0), h0);
  assert.equal(await epochHash(ds.spec, 4, 0), h0);
  assert.notEqual(await epochHash(ds.spec, 1, 1), h0);
});

test('sampler: permutations per epoch, weighted draws, ranks split without overlap', () => {
  const a = epochOrder(10, 0, { shuffle: true, seed: 1 });
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [...Array(10).keys()],
  );
  assert.notDeepEqual(epochOrder(10, 1, { shuffle: true, seed: 1 }), a);
  assert.deepEqual(epochOrder(10, 0, { shuffle: true, seed: 1 }), a);
  const w = new Float64Array(10);
  w[3] = 1;
  assert.deepEqual(epochOrder(10, 0, { shuffle: true, seed: 1, weights: w }), Array(10).fill(3));
  const r0 = epochOrder(9, 0, { shuffle: true, seed: 1, rank: 0, worldSize: 2 });
  const r1 = epochOrder(9, 0, { shuffle: true, seed: 1, rank: 1, worldSize: 2 });
  assert.equal(r0.length, 5);
  assert.equal(r1.length, 5);
  assert.equal(new Set([...r0, ...r1]).size, 9);
});
