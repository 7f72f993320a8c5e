// TensorBoard event files: `tensorboard --logdir runs/train` shows what SummaryWriter writes.
//
// An event file is a sequence of TFRecords (see tfrecord.ts), each holding one serialized
// tensorflow.Event. Only the fields needed for scalars are written
// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
//
//   Event         { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary       { repeated Value value = 1; }
//   Summary.Value { string tag = 1; float simple_value = 2; }
//
// The first record of a file is Event{wall_time, file_version: "brain.Event:2"}.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { encodeTFRecord, iterTFRecords, TFRecordError } from './tfrecord.js';

export { crc32c, encodeTFRecord, iterTFRecords, maskedCrc32c, type TFRecord, TFRecordError } from './tfrecord.js';

/** `file_version` of the first event of every file TensorBoard reads. */
export const EVENT_FILE_VERSION = 'brain.Event:2';

/** One scalar of an event's summary. `value` is float32 (the wire type of simple_value). */
export interface ScalarValue {
  tag: string;
  value: number;
}

/** One event read back from a file. Summary values other than simple_value scalars are skipped. */
export interface TensorBoardEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  /** Only on the file's first event. */
  fileVersion?: string;
  scalars: ScalarValue[];
}

// The subset of tensorflow.Event / tensorflow.Summary used for scalars, as a protobufjs JSON
// descriptor (field names camelCased; only the field numbers and types reach the wire).
const root = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ['simpleValue'] } },
              fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } },
            },
          },
        },
      },
    },
  },
});
const EventType = root.lookupType('tensorflow.Event');

interface EventObject {
  wallTime?: number;
  step?: number;
  fileVersion?: string;
  summary?: { value?: Array<{ tag?: string; simpleValue?: number }> };
}

/** Serialize an Event (as protobuf does for proto3, a zero step is left out). */
export function encodeEvent(event: {
  wallTime: number;
  step?: number | bigint;
  fileVersion?: string;
  scalars?: readonly ScalarValue[];
}): Uint8Array {
  const msg: Record<string, unknown> = { wallTime: event.wallTime };
  if (event.step !== undefined && event.step !== 0 && event.step !== 0n) {
    // int64: a number when exact, else the decimal string protobufjs parses into a Long.
    msg.step = typeof event.step === 'bigint' ? event.step.toString() : event.step;
  }
  if (event.fileVersion !== undefined) msg.fileVersion = event.fileVersion;
  if (event.scalars !== undefined) {
    // simple_value is a oneof member, so it is written even when 0. Math.fround maps finite
    // values beyond float32's range to ±Infinity.
    msg.summary = { value: event.scalars.map(({ tag, value }) => ({ tag, simpleValue: Math.fround(value) })) };
  }
  return EventType.encode(msg).finish();
}

/** Parse one serialized Event. Fields other than wall_time, step, file_version and summary are skipped. */
export function decodeEvent(data: Uint8Array): TensorBoardEvent {
  const obj = EventType.toObject(EventType.decode(data), { longs: Number }) as EventObject;
  const event: TensorBoardEvent = { wallTime: obj.wallTime ?? 0, step: obj.step ?? 0, scalars: [] };
  if (obj.fileVersion !== undefined) event.fileVersion = obj.fileVersion;
  for (const v of obj.summary?.value ?? []) {
    if (v.simpleValue !== undefined) event.scalars.push({ tag: v.tag ?? '', value: v.simpleValue });
  }
  return event;
}

/** Parse the events of an event file already in memory; `source` names it in errors. */
export function parseEvents(buf: Buffer, source = '<buffer>'): TensorBoardEvent[] {
  const events: TensorBoardEvent[] = [];
  for (const { offset, data } of iterTFRecords(buf, source)) {
    try {
      events.push(decodeEvent(data));
    } catch (e) {
      throw new TFRecordError(`malformed Event protobuf (${(e as Error).message})`, source, offset);
    }
  }
  return events;
}

/**
 * Read a TensorBoard event file back, verifying the CRCs of every record.
 * Throws {@link TFRecordError} naming the file and the byte offset of a corrupted or truncated record.
 */
export function readEvents(path: string): TensorBoardEvent[] {
  return parseEvents(readFileSync(path), path);
}

/** TensorBoard's event file name: `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n><suffix>`. */
export function eventFileName(
  opts: { time?: number; hostname?: string; pid?: number; index?: number; suffix?: string } = {},
): string {
  const secs = Math.floor(opts.time ?? Date.now() / 1000);
  return `events.out.tfevents.${String(secs).padStart(10, '0')}.${opts.hostname ?? osHostname()}.${opts.pid ?? process.pid}.${opts.index ?? 0}${opts.suffix ?? ''}`;
}

export interface SummaryWriterOptions {
  /** Appended to the file name (PyTorch's filename_suffix). */
  filenameSuffix?: string;
}

function checkStep(step: number | bigint): void {
  if (typeof step === 'bigint') return;
  if (!Number.isSafeInteger(step)) throw new TypeError(`SummaryWriter: step must be an integer, got ${step}`);
}

/**
 * Writes scalars to a new TensorBoard event file in `logDir` (created if missing), e.g.
 *
 *     const tb = new SummaryWriter('runs/train/exp');
 *     tb.addScalar('train/box_loss', 0.05, epoch);
 *     tb.flush(); // end of epoch
 *     tb.close();
 *
 * Every record is written to the file as soon as it is added (TensorBoard picks up records as
 * they come); `flush()` fsyncs it to disk.
 */
export class SummaryWriter {
  readonly logDir: string;
  /** Full path of the event file. */
  readonly path: string;
  private fd: number | null;

  constructor(logDir: string, options: SummaryWriterOptions = {}) {
    this.logDir = logDir;
    mkdirSync(logDir, { recursive: true });
    const time = Date.now() / 1000;
    // The trailing counter keeps two writers of one process, opened in the same second, apart.
    for (let index = 0; ; index++) {
      const path = join(logDir, eventFileName({ time, index, suffix: options.filenameSuffix }));
      try {
        this.fd = openSync(path, 'wx');
        this.path = path;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || index >= 1000) throw e;
      }
    }
    this.writeEvent({ wallTime: time, fileVersion: EVENT_FILE_VERSION });
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.fd === null;
  }

  private writeEvent(event: Parameters<typeof encodeEvent>[0]): void {
    if (this.fd === null) throw new Error(`SummaryWriter: ${this.path} is closed`);
    const rec = encodeTFRecord(encodeEvent(event));
    let off = 0;
    while (off < rec.length) off += writeSync(this.fd, rec, off, rec.length - off);
  }

  /** Log `value` (stored as float32) under `tag` at `step`; `wallTime` in seconds, default now. */
  addScalar(tag: string, value: number, step: number | bigint = 0, wallTime: number = Date.now() / 1000): void {
    if (typeof tag !== 'string' || tag === '') throw new TypeError('SummaryWriter: tag must be a non-empty string');
    if (typeof value !== 'number')
      throw new TypeError(`SummaryWriter: value of ${tag} must be a number, got ${typeof value}`);
    checkStep(step);
    this.writeEvent({ wallTime, step, scalars: [{ tag, value }] });
  }

  /** addScalar for each entry of `values` (one event per tag, like YOLOv5's loop over its logged keys). */
  addScalarDict(
    values: Readonly<Record<string, number>>,
    step: number | bigint = 0,
    wallTime: number = Date.now() / 1000,
  ): void {
    for (const [tag, value] of Object.entries(values)) this.addScalar(tag, value, step, wallTime);
  }

  /** fsync the file (call at the end of each epoch). */
  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  /** Flush and close the file; further adds throw. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
