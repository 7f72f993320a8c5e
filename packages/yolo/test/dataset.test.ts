// Datasets: data.yaml forms, image lists, verification of broken files, the labels cache and the
// synthetic shapes dataset. Everything is built in a temporary folder.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import {
  DataConfigError,
  img2labelPath,
  listImages,
  loadDataConfig,
  loadLabels,
  SYNTH_CLASSES,
  synthesizeDataset,
  verifyImageLabel,
} from '../src/index.js';

const TMP = mkdtempSync(join(tmpdir(), 'tsyolo-dataset-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));

function sha(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}
function yaml(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
/** A 2×2-pixel 24-bit BMP (sharp has no BMP decoder). */
function bmp(): Buffer {
  const b = Buffer.alloc(54 + 16);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(2, 18);
  b.writeInt32LE(2, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(16, 34);
  return b;
}

test('img2labelPath follows yolov5: last /images/ → /labels/, extension → .txt', () => {
  assert.equal(img2labelPath('/d/images/train/a.jpg'), '/d/labels/train/a.txt');
  assert.equal(img2labelPath('/images/x/images/y/b.c.PNG'), '/images/x/labels/y/b.c.txt');
  assert.equal(img2labelPath('/d/pics/a.jpeg'), '/d/pics/a.txt');
});

test('synthesizeDataset: same seed gives identical bytes, another seed differs; labels are valid', async () => {
  const a = join(TMP, 'synth-a'),
    b = join(TMP, 'synth-b'),
    c = join(TMP, 'synth-c');
  const t0 = performance.now();
  const ra = await synthesizeDataset({ out: a, train: 8, val: 3, seed: 7 });
  const ms = performance.now() - t0;
  await synthesizeDataset({ out: b, train: 8, val: 3, seed: 7 });
  await synthesizeDataset({ out: c, train: 8, val: 3, seed: 8 });
  assert.deepEqual(ra.names, SYNTH_CLASSES.slice(0, 6));
  assert.ok(ms < 5000, `11 images took ${ms} ms`);
  const some = [
    'images/train/000000.jpg',
    'images/train/000005.jpg',
    'images/val/000002.jpg',
    'labels/train/000003.txt',
    'data.yaml',
  ];
  for (const f of some) assert.equal(sha(join(a, f)), sha(join(b, f)), `${f} differs between runs with one seed`);
  for (const f of some.slice(0, 3)) assert.notEqual(sha(join(a, f)), sha(join(c, f)), `${f} equal across seeds`);
  // a val image does not depend on the number of train images
  const d = join(TMP, 'synth-d');
  await synthesizeDataset({ out: d, train: 2, val: 3, seed: 7 });
  assert.equal(sha(join(a, 'images/val/000001.jpg')), sha(join(d, 'images/val/000001.jpg')));

  const cfg = loadDataConfig(ra.yaml);
  assert.equal(cfg.root, a);
  assert.equal(cfg.nc, 6);
  const files = listImages(cfg.train, { root: cfg.root });
  assert.equal(files.length, 8);
  const res = await loadLabels(files, cfg.nc, { root: cfg.root });
  assert.equal(res.summary.corrupt, 0, res.lines.join('\n'));
  assert.equal(res.entries.length, 8);
  for (const e of res.entries) {
    assert.deepEqual(e.shape, [320, 320]);
    for (let i = 0; i < e.labels.length; i += 5) {
      const [cls, , , w, h] = e.labels.subarray(i, i + 5);
      assert.ok(cls >= 0 && cls < 6 && Number.isInteger(cls));
      assert.ok(w * 320 >= 8 && h * 320 >= 8, `object too small: ${w * 320}×${h * 320}`);
    }
  }
  // synthesizing into a folder holding foreign files is refused
  writeFileSync(join(c, 'images', 'train', 'other.jpg'), 'x');
  await assert.rejects(synthesizeDataset({ out: c, train: 8, val: 3, seed: 8 }), /holds other files/);
});

test('loadDataConfig: folder, .txt list, list of folders, names map, errors naming file and key', async () => {
  const root = join(TMP, 'cfg');
  await synthesizeDataset({ out: root, train: 4, val: 2, seed: 1, classes: 3 });
  // folder sources, names list, relative path
  const ext = join(TMP, 'cfg-yamls');
  mkdirSync(ext, { recursive: true });
  let c = loadDataConfig(
    yaml(
      ext,
      'a.yaml',
      'path: ../cfg\ntrain: images/train\nval: images/val\nnames: [a, b, c]\ndownload: https://example.invalid/x.zip\n',
    ),
  );
  assert.equal(c.root, root);
  assert.deepEqual(c.train, [join(root, 'images/train')]);
  assert.deepEqual(c.names, ['a', 'b', 'c']);
  assert.equal(c.test, undefined);
  // .txt list: './' lines relative to the list's folder, others relative to the dataset root
  writeFileSync(
    join(root, 'lists.txt'),
    './images/train/000000.jpg\nimages/train/000001.jpg\n\n# comment\nimages/train/notes.md\n',
  );
  c = loadDataConfig(
    yaml(
      root,
      'b.yaml',
      'train: lists.txt\nval: [images/val, images/train]\ntest: images/val\nnames: {0: x, 1: y, 2: z}\nnc: 3\n',
    ),
  );
  assert.equal(c.root, root);
  assert.deepEqual(c.names, ['x', 'y', 'z']);
  assert.deepEqual(listImages(c.train, { root: c.root }), [
    join(root, 'images/train/000000.jpg'),
    join(root, 'images/train/000001.jpg'),
  ]);
  assert.equal(listImages(c.val, { root: c.root }).length, 6);
  assert.deepEqual(c.test, [join(root, 'images/val')]);
  // nc alone gives class names
  c = loadDataConfig(yaml(root, 'c.yaml', `path: ${root}\ntrain: images/train\nval: images/val\nnc: 2\n`));
  assert.deepEqual(c.names, ['class0', 'class1']);

  const expectErr = (file: string, key: string | undefined, re: RegExp): void => {
    assert.throws(
      () => loadDataConfig(file),
      (e: unknown) =>
        e instanceof DataConfigError &&
        e.file === file &&
        e.key === key &&
        re.test(e.message) &&
        e.message.includes(file),
    );
  };
  expectErr(
    yaml(root, 'd.yaml', 'train: images/train\nval: images/val\nnames: [a, b]\nnc: 3\n'),
    'nc',
    /nc is 3 but names has 2/,
  );
  expectErr(
    yaml(root, 'e.yaml', 'train: images/train\nval: images/nope\nnames: [a]\n'),
    'val',
    /images\/nope does not exist/,
  );
  expectErr(yaml(root, 'f.yaml', 'train: images/train\nnames: [a]\n'), 'val', /missing/);
  expectErr(
    yaml(root, 'g.yaml', 'train: images/train\nval: images/val\nnames: {0: a, 2: b}\n'),
    'names',
    /1 is missing/,
  );
  expectErr(yaml(root, 'h.yaml', 'train: images/train\nval: images/val\n'), 'names', /missing/);
  expectErr(yaml(root, 'i.yaml', 'train: [images/train\n'), undefined, /not valid YAML/);
  expectErr(join(root, 'absent.yaml'), undefined, /file not found/);
});

test('listImages: recursive, sorted, hidden and non-image files skipped, missing source is an error', () => {
  const d = join(TMP, 'list');
  mkdirSync(join(d, 'sub'), { recursive: true });
  for (const f of ['b.jpg', 'a.PNG', 'sub/c.webp', '.hidden.jpg', '._a.jpg', 'notes.txt', 'x.bmp'])
    writeFileSync(join(d, f), '');
  assert.deepEqual(
    listImages(d),
    ['a.PNG', 'b.jpg', 'sub/c.webp', 'x.bmp'].map((f) => join(d, f)),
  );
  assert.throws(() => listImages(join(d, 'nope')), /does not exist/);
  assert.throws(() => listImages(join(d, 'sub', 'empty-dir-missing')), /does not exist/);
});

test('broken images and labels are reported by name and reason, skipped, and the rest load', async () => {
  const root = join(TMP, 'broken');
  await synthesizeDataset({ out: root, train: 14, val: 1, seed: 3 });
  const img = (i: number): string => join(root, 'images', 'train', `${String(i).padStart(6, '0')}.jpg`);
  const lbl = (i: number): string => img2labelPath(img(i));
  const jpg0 = readFileSync(img(0));
  writeFileSync(img(0), jpg0.subarray(0, jpg0.length >> 1)); // truncated JPEG
  writeFileSync(lbl(1), '0 0.5 0.5 0.2\n'); // 4 columns
  writeFileSync(lbl(2), '0 0.5 -0.1 0.2 0.2\n'); // negative
  writeFileSync(lbl(3), '1 0.5 0.5 1.2 0.2\n'); // > 1
  writeFileSync(lbl(4), '6 0.5 0.5 0.2 0.2\n'); // class ≥ nc
  writeFileSync(lbl(5), ''); // empty: background
  unlinkSync(lbl(6)); // missing: background
  writeFileSync(img(7), 'this is not an image\n'); // a text file named .jpg
  const outside = join(TMP, 'outside');
  mkdirSync(outside, { recursive: true });
  copyFileSync(img(8), join(outside, 'real.jpg'));
  unlinkSync(img(8));
  symlinkSync(join(outside, 'real.jpg'), img(8)); // symlink out of the dataset
  writeFileSync(lbl(9), '2 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n3 0.25 0.25 0.1 0.1\n'); // duplicate row
  writeFileSync(lbl(10), '1 0.5 abc 0.2 0.2\n'); // not a number
  writeFileSync(lbl(11), '1.5 0.5 0.5 0.2 0.2\n'); // fractional class
  const bmpPath = join(root, 'images', 'train', 'z.bmp');
  writeFileSync(bmpPath, bmp());
  writeFileSync(img2labelPath(bmpPath), '0 0.5 0.5 0.2 0.2\n');
  // a symlink inside the dataset is fine
  copyFileSync(img(12), join(root, 'images', 'val', 'target.jpg'));
  unlinkSync(img(12));
  symlinkSync(join(root, 'images', 'val', 'target.jpg'), img(12));

  const files = listImages(join(root, 'images', 'train'));
  assert.equal(files.length, 15);
  const res = await loadLabels(files, 6, { root });
  const msgs = res.summary.messages;
  const expectMsg = (file: string, re: RegExp): void => {
    const m = msgs.find((x) => x.includes(file) && re.test(x));
    assert.ok(m, `no message for ${file} matching ${re}:\n${msgs.join('\n')}`);
  };
  expectMsg(img(0), /truncated JPEG/);
  expectMsg(lbl(1), /5 columns, 4 columns detected/);
  expectMsg(lbl(2), /negative label values/);
  expectMsg(lbl(3), /out of bounds coordinates/);
  expectMsg(lbl(4), /class 6 exceeds dataset class count 6/);
  expectMsg(img(7), /unsupported image format/);
  expectMsg(img(8), /symlink pointing outside the dataset root/);
  expectMsg(img(9), /1 duplicate labels removed/);
  expectMsg(lbl(10), /'abc' is not a number/);
  expectMsg(lbl(11), /class 1.5 is not an integer/);
  expectMsg(bmpPath, /unsupported image format \.bmp/);
  assert.equal(res.summary.corrupt, 10);
  assert.equal(res.summary.missing, 1);
  assert.equal(res.summary.empty, 1);
  assert.equal(res.entries.length, 5);
  const loaded = new Set(res.entries.map((e) => e.im));
  for (const i of [5, 6, 9, 12, 13]) assert.ok(loaded.has(img(i)), `${img(i)} should load`);
  const e9 = res.entries.find((e) => e.im === img(9));
  assert.deepEqual(Array.from(e9!.labels), [2, 0.5, 0.5, 0.2, 0.2, 3, 0.25, 0.25, 0.1, 0.1].map(Math.fround));
  assert.equal(res.entries.find((e) => e.im === img(6))!.labels.length, 0);
  assert.match(res.lines[0], /Scanning .*labels\/train\.\.\. 5 images, 2 backgrounds, 10 corrupt/);
  assert.equal(res.lines.length, 1 + msgs.length);
});

test('verifyImageLabel: EXIF orientation swaps the size; tiny images are refused', async () => {
  const d = join(TMP, 'exif', 'images');
  mkdirSync(d, { recursive: true });
  const raw = Buffer.alloc(40 * 20 * 3, 128);
  const p = join(d, 'rot.jpg');
  writeFileSync(
    p,
    await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  );
  const r = await verifyImageLabel(p, img2labelPath(p), 1);
  assert.ok(r.ok, r.message);
  assert.deepEqual(r.image, { width: 20, height: 40 });
  assert.equal(r.nMissing, 1);
  const q = join(d, 'tiny.png');
  writeFileSync(
    q,
    await sharp(Buffer.alloc(9 * 30 * 3), { raw: { width: 9, height: 30, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const s = await verifyImageLabel(q, img2labelPath(q), 1);
  assert.equal(s.nCorrupt, 1);
  assert.match(s.message, /tiny\.png.*image size 9x30 <10 pixels/);
});

test('labels cache: the second load hits it, editing a label invalidates it, a corrupt cache is rebuilt', async () => {
  const root = join(TMP, 'cache');
  await synthesizeDataset({ out: root, train: 6, val: 1, seed: 5 });
  const files = listImages(join(root, 'images', 'train'));
  const first = await loadLabels(files, 6, { root });
  assert.equal(first.fromCache, false);
  assert.equal(first.cachePath, join(root, 'labels', 'train.cache'));
  assert.ok(existsSync(first.cachePath));
  const second = await loadLabels(files, 6, { root });
  assert.equal(second.fromCache, true);
  assert.deepEqual(second.entries, first.entries);
  assert.deepEqual(second.summary, first.summary);
  assert.match(second.lines[0], /\(cached\)/);

  // a different nc is a different verification: not served from the cache
  assert.equal((await loadLabels(files, 7, { root })).fromCache, false);
  assert.equal((await loadLabels(files, 6, { root })).fromCache, false);

  const lb = img2labelPath(files[2]);
  appendFileSync(lb, '0 0.5 0.5 0.25 0.25\n');
  const third = await loadLabels(files, 6, { root });
  assert.equal(third.fromCache, false);
  const before = first.entries.find((e) => e.im === files[2])!.labels.length / 5;
  assert.equal(third.entries.find((e) => e.im === files[2])!.labels.length / 5, before + 1);
  assert.equal((await loadLabels(files, 6, { root })).fromCache, true);

  writeFileSync(third.cachePath, 'garbage');
  const fourth = await loadLabels(files, 6, { root });
  assert.equal(fourth.fromCache, false);
  assert.deepEqual(fourth.entries, third.entries);
  const bytes = readFileSync(third.cachePath);
  bytes[bytes.length - 1] ^= 0xff; // flip a payload bit
  writeFileSync(third.cachePath, bytes);
  assert.equal((await loadLabels(files, 6, { root })).fromCache, false);
  assert.equal((await loadLabels(files, 6, { root })).fromCache, true);
  // cache off
  assert.equal((await loadLabels(files, 6, { root, cache: false })).fromCache, false);
});
