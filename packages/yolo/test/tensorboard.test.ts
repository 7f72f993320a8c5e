import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import {
  decodeEvent,
  EVENT_FILE_VERSION,
  encodeEvent,
  eventFileName,
  parseEvents,
  readEvents,
  SummaryWriter,
} from '../src/engine/tensorboard.js';
import {
  crc32c,
  encodeTFRecord,
  iterTFRecords,
  maskCrc,
  maskedCrc32c,
  TFRecordError,
  unmaskCrc,
} from '../src/engine/tfrecord.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tsyolo-tb-'));
}

test('CRC32C known vectors (RFC 3720 B.4, check value) and TFRecord masking', () => {
  assert.equal(crc32c('123456789'), 0xe3069283);
  assert.equal(crc32c(''), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // masked crc of the empty string: mask(0) is the mask delta itself.
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskedCrc32c(''), 0xa282ead8);
  // ((0xe3069283 >>> 15) | (0xe3069283 << 17)) + 0xa282ead8 mod 2^32
  assert.equal(maskedCrc32c('123456789'), (((0xe3069283 >>> 15) | (0xe3069283 << 17)) + 0xa282ead8) >>> 0);
  for (const c of [0, 1, 0xe3069283, 0xffffffff, 0x80000000, 0x12345678]) {
    assert.equal(unmaskCrc(maskCrc(c)), c);
    assert.notEqual(maskCrc(c), c);
  }
  // Every TensorFlow event file starts with `18 00 00 00 00 00 00 00 a3 7f 4b 22`:
  // a 24-byte first event and the masked crc of its length.
  const first = encodeTFRecord(encodeEvent({ wallTime: 1.5, fileVersion: EVENT_FILE_VERSION }));
  assert.deepEqual([...first.subarray(0, 12)], [0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22]);
});

test('Event wire format matches hand-encoded event.proto / summary.proto bytes', () => {
  const dbl = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return [...b];
  };
  const flt = (x: number) => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    return [...b];
  };
  const ascii = (s: string) => [...Buffer.from(s)];
  // Event{wall_time=1 (double), file_version=3 (string)}
  assert.deepEqual(
    [...encodeEvent({ wallTime: 1700000000.25, fileVersion: 'brain.Event:2' })],
    [0x09, ...dbl(1700000000.25), 0x1a, 13, ...ascii('brain.Event:2')],
  );
  // Event{wall_time=1, step=2 (varint 300 = ac 02), summary=5 {value=1 {tag=1 "loss", simple_value=2 (float)}}}
  const value = [0x0a, 4, ...ascii('loss'), 0x15, ...flt(0.5)];
  const summary = [0x0a, value.length, ...value];
  assert.deepEqual(
    [...encodeEvent({ wallTime: 2, step: 300, scalars: [{ tag: 'loss', value: 0.5 }] })],
    [0x09, ...dbl(2), 0x10, 0xac, 0x02, 0x2a, summary.length, ...summary],
  );
  // simple_value 0 is kept (oneof member); step 0 is left out like proto3 does.
  const zero = decodeEvent(encodeEvent({ wallTime: 3, step: 0, scalars: [{ tag: 'z', value: 0 }] }));
  assert.deepEqual(zero, { wallTime: 3, step: 0, scalars: [{ tag: 'z', value: 0 }] });
  // Fields this reader does not know (log_message=6 on the Event, image=4 on a Value) are skipped,
  // and a Value without simple_value is not a scalar.
  const imageValue = [0x0a, 3, ...ascii('img'), 0x22, 0];
  const mixed = [
    0x09,
    ...dbl(7),
    0x10,
    5,
    0x32,
    2,
    0x08,
    1,
    0x2a,
    2 + imageValue.length + 2 + value.length,
    0x0a,
    imageValue.length,
    ...imageValue,
    0x0a,
    value.length,
    ...value,
  ];
  assert.deepEqual(decodeEvent(Uint8Array.from(mixed)), {
    wallTime: 7,
    step: 5,
    scalars: [{ tag: 'loss', value: 0.5 }],
  });
  // int64 steps: large and negative
  assert.equal(decodeEvent(encodeEvent({ wallTime: 0, step: 2 ** 40 + 3 })).step, 2 ** 40 + 3);
  assert.equal(decodeEvent(encodeEvent({ wallTime: 0, step: -7 })).step, -7);
});

test('SummaryWriter writes scalars that readEvents reads back', () => {
  const dir = join(tmp(), 'runs', 'train', 'exp');
  try {
    const before = Date.now() / 1000;
    const tb = new SummaryWriter(dir);
    const values: Array<[string, number, number]> = [
      ['train/box_loss', 0.0712345678, 0],
      ['train/obj_loss', 0.0412, 0],
      ['metrics/mAP_0.5', 0.123456789, 1],
      ['x/lr0', 0.00999, 2],
    ];
    for (const [tag, v, step] of values) tb.addScalar(tag, v, step);
    tb.addScalar('fixed/time', 1.25, 3, 1700000000.5);
    tb.addScalarDict({ 'val/box_loss': 1e-3, 'val/cls_loss': -2.5 }, 4);
    tb.addScalar('weird/nan', NaN, 5);
    tb.addScalar('weird/huge', 1e300, 5);
    tb.flush();
    tb.close();
    tb.close(); // idempotent
    assert.ok(tb.closed);
    assert.throws(() => tb.addScalar('late', 1, 6), /closed/);

    const files = readdirSync(dir);
    assert.deepEqual(files, [basename(tb.path)]);
    const m = /^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.0$/.exec(files[0]!);
    assert.ok(m, files[0]);
    assert.equal(m[2], hostname());
    assert.equal(Number(m[3]), process.pid);
    assert.ok(Math.abs(Number(m[1]) - before) <= 2);

    const events = readEvents(tb.path);
    assert.equal(events.length, 1 + values.length + 1 + 2 + 2);
    assert.equal(events[0]!.fileVersion, 'brain.Event:2');
    assert.deepEqual(events[0]!.scalars, []);
    assert.ok(Math.abs(events[0]!.wallTime - before) < 5);
    values.forEach(([tag, v, step], i) => {
      const e = events[i + 1]!;
      assert.equal(e.fileVersion, undefined);
      assert.equal(e.step, step);
      assert.deepEqual(e.scalars, [{ tag, value: Math.fround(v) }]);
      assert.notEqual(e.scalars[0]!.value, v); // really float32
      assert.ok(e.wallTime >= Math.floor(before) && e.wallTime < before + 60);
    });
    assert.deepEqual(events[5], { wallTime: 1700000000.5, step: 3, scalars: [{ tag: 'fixed/time', value: 1.25 }] });
    assert.deepEqual(
      events.slice(6, 8).map((e) => [e.step, e.scalars]),
      [
        [4, [{ tag: 'val/box_loss', value: Math.fround(1e-3) }]],
        [4, [{ tag: 'val/cls_loss', value: -2.5 }]],
      ],
    );
    assert.ok(Number.isNaN(events[8]!.scalars[0]!.value));
    assert.equal(events[9]!.scalars[0]!.value, Infinity);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('event file name: TensorBoard naming, distinct files for writers opened together', () => {
  assert.equal(
    eventFileName({ time: 1700000000.9, hostname: 'gpu-box.local', pid: 42 }),
    'events.out.tfevents.1700000000.gpu-box.local.42.0',
  );
  assert.equal(
    eventFileName({ time: 5, hostname: 'h', pid: 1, index: 3, suffix: '.v2' }),
    'events.out.tfevents.0000000005.h.1.3.v2',
  );
  const dir = tmp();
  try {
    const a = new SummaryWriter(dir);
    const b = new SummaryWriter(dir, { filenameSuffix: '.b' });
    const c = new SummaryWriter(dir);
    a.addScalar('a', 1, 1);
    c.addScalar('c', 3, 1);
    for (const w of [a, b, c]) w.close();
    assert.equal(new Set([a.path, b.path, c.path]).size, 3);
    assert.match(basename(b.path), /\.\d+\.b$/);
    assert.deepEqual(readEvents(a.path)[1]!.scalars, [{ tag: 'a', value: 1 }]);
    assert.deepEqual(readEvents(c.path)[1]!.scalars, [{ tag: 'c', value: 3 }]);
    assert.equal(readEvents(b.path).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments are refused', () => {
  const dir = tmp();
  try {
    using tb = new SummaryWriter(dir);
    assert.throws(() => tb.addScalar('', 1, 0), /tag/);
    assert.throws(() => tb.addScalar('t', 1, 1.5), /step must be an integer/);
    assert.throws(() => tb.addScalar('t', '1' as unknown as number, 1), /must be a number/);
    tb.addScalar('t', 2, 10n);
    assert.equal(readEvents(tb.path).at(-1)!.step, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corruption is detected, naming the file and the offset of the bad record', () => {
  const dir = tmp();
  try {
    const tb = new SummaryWriter(dir);
    tb.addScalar('a', 1, 1);
    tb.addScalar('b', 2, 2);
    tb.close();
    const good = readFileSync(tb.path);
    const offsets = [...iterTFRecords(good)].map((r) => r.offset);
    assert.equal(offsets.length, 3);
    assert.equal(offsets[0], 0);
    assert.equal(statSync(tb.path).size, good.length);

    const corrupt = (mutate: (b: Buffer) => void, re: RegExp, offset: number) => {
      const b = Buffer.from(good);
      mutate(b);
      writeFileSync(tb.path, b);
      assert.throws(
        () => readEvents(tb.path),
        (e: unknown) => {
          assert.ok(e instanceof TFRecordError);
          assert.equal(e.file, tb.path);
          assert.equal(e.offset, offset);
          assert.match(e.message, re);
          assert.ok(e.message.includes(tb.path) && e.message.includes(`offset ${offset}`), e.message);
          return true;
        },
      );
    };
    const second = offsets[1]!;
    const third = offsets[2]!;
    corrupt((b) => (b[second + 20] ^= 0x01), /corrupted record data/, second); // a data byte
    corrupt((b) => (b[third + 2] ^= 0x40), /corrupted record length/, third); // a length byte
    corrupt((b) => (b[second + 9] ^= 0x80), /corrupted record length/, second); // the length crc
    corrupt((b) => (b[third - 1] ^= 0x10), /corrupted record data/, second); // the data crc
    // Truncated files.
    const truncated = (n: number, re: RegExp, offset: number) => {
      writeFileSync(tb.path, good.subarray(0, n));
      assert.throws(
        () => readEvents(tb.path),
        (e: unknown) => e instanceof TFRecordError && e.offset === offset && re.test(e.message),
      );
    };
    truncated(third + 5, /truncated record header/, third);
    truncated(good.length - 1, /truncated record \(length/, third);
    // A record whose CRCs are right but whose payload is not an Event.
    writeFileSync(tb.path, Buffer.concat([good.subarray(0, second), encodeTFRecord(Uint8Array.of(0x0a, 0x05, 0x01))]));
    assert.throws(
      () => readEvents(tb.path),
      (e: unknown) => e instanceof TFRecordError && e.offset === second && /malformed Event/.test(e.message),
    );
    // parseEvents names an in-memory source.
    assert.throws(() => parseEvents(good.subarray(0, 3)), /<buffer>: truncated record header .* at byte offset 0/);
    assert.equal(parseEvents(good).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasPythonTensorboard = spawnSync('python3', ['-c', 'import tensorboard'], { stdio: 'ignore' }).status === 0;

test('TensorBoard itself reads the file (skipped when python3 tensorboard is not installed)', {
  skip: !hasPythonTensorboard && 'python3 -c "import tensorboard" fails',
}, () => {
  const dir = tmp();
  try {
    const tb = new SummaryWriter(dir);
    tb.addScalar('train/box_loss', 0.25, 0, 1000.5);
    tb.addScalar('train/box_loss', 0.125, 1, 1001.5);
    tb.addScalar('x/lr0', 0.01, 1, 1001.5);
    tb.close();
    const py = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      'acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})',
      'acc.Reload()',
      'print(json.dumps({t: [[e.wall_time, e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', py, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number[][]>;
    assert.deepEqual(got['train/box_loss'], [
      [1000.5, 0, 0.25],
      [1001.5, 1, 0.125],
    ]);
    assert.deepEqual(got['x/lr0'], [[1001.5, 1, Math.fround(0.01)]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
