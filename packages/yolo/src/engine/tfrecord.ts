// TFRecord framing, as used by TensorFlow/TensorBoard event files
// (tensorflow/core/lib/io/record_writer.cc):
//
//   uint64  length            (little-endian)
//   uint32  masked_crc32c(length bytes)
//   byte    data[length]
//   uint32  masked_crc32c(data)
//
// masked_crc = ((crc >>> 15) | (crc << 17)) + 0xa282ead8  (mod 2^32)
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

const MASK_DELTA = 0xa282ead8;
/** Bytes of framing before the data: length (8) + length crc (4). */
export const TFRECORD_HEADER_BYTES = 12;
/** Bytes of framing after the data: data crc (4). */
export const TFRECORD_FOOTER_BYTES = 4;

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array | string): number {
  return nativeCrc32c(typeof data === 'string' ? Buffer.from(data, 'utf8') : data) >>> 0;
}

/** TFRecord's CRC mask: rotate right by 15 bits and add a constant (mod 2^32). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** Masked CRC-32C of `data`, the checksum stored in TFRecord files. */
export function maskedCrc32c(data: Uint8Array | string): number {
  return maskCrc(crc32c(data));
}

/** One framed TFRecord holding `data`. */
export function encodeTFRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(TFRECORD_HEADER_BYTES + data.length + TFRECORD_FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, TFRECORD_HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), TFRECORD_HEADER_BYTES + data.length);
  return out;
}

/** A malformed or corrupted TFRecord: names the file (or source) and the byte offset of the bad record. */
export class TFRecordError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly offset: number,
  ) {
    super(`${file}: ${message} at byte offset ${offset}`);
    this.name = 'TFRecordError';
  }
}

/** One record read back: `offset` is where its framing starts in the file. */
export interface TFRecord {
  offset: number;
  data: Buffer;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * Split a buffer of TFRecords, verifying both CRCs of each record.
 * `source` names the file in errors. Throws {@link TFRecordError} on a truncated or corrupted record.
 */
export function* iterTFRecords(buf: Buffer, source = '<buffer>'): Generator<TFRecord> {
  let pos = 0;
  while (pos < buf.length) {
    const offset = pos;
    if (buf.length - pos < TFRECORD_HEADER_BYTES) {
      throw new TFRecordError(
        `truncated record header (${buf.length - pos} of ${TFRECORD_HEADER_BYTES} bytes)`,
        source,
        offset,
      );
    }
    const lenCrc = buf.readUInt32LE(pos + 8);
    const lenExpected = maskedCrc32c(buf.subarray(pos, pos + 8));
    if (lenCrc !== lenExpected) {
      throw new TFRecordError(
        `corrupted record length (crc ${hex(lenCrc)}, expected ${hex(lenExpected)})`,
        source,
        offset,
      );
    }
    const len64 = buf.readBigUInt64LE(pos);
    const avail = buf.length - pos - TFRECORD_HEADER_BYTES - TFRECORD_FOOTER_BYTES;
    if (len64 > BigInt(Math.max(avail, 0))) {
      throw new TFRecordError(
        `truncated record (length ${len64}, ${Math.max(avail, 0)} data bytes left)`,
        source,
        offset,
      );
    }
    const len = Number(len64);
    const start = pos + TFRECORD_HEADER_BYTES;
    const data = buf.subarray(start, start + len);
    const dataCrc = buf.readUInt32LE(start + len);
    const dataExpected = maskedCrc32c(data);
    if (dataCrc !== dataExpected) {
      throw new TFRecordError(
        `corrupted record data (crc ${hex(dataCrc)}, expected ${hex(dataExpected)})`,
        source,
        offset,
      );
    }
    yield { offset, data };
    pos = start + len + TFRECORD_FOOTER_BYTES;
  }
}
