// An .mp4 written by piping raw RGB frames into the system's ffmpeg (libx264, or mpeg4 when the
// build has no libx264; yuv420p so that players take it). Written under a temporary name beside the
// target and renamed into place when ffmpeg has finished, so a reader never sees half a video.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RawImage } from '../data/types.js';
import { lastLines, requireFfmpeg, videoEncoder } from './ffmpeg.js';

export class VideoWriter {
  private readonly p: ChildProcessByStdio<Writable, null, Readable>;
  private readonly tmp: string;
  private err = '';
  private failure: string | null = null;
  private readonly exited: Promise<string | null>;

  /** Starts ffmpeg for frames of width × height at `fps` (a number or a rational such as '30000/1001'). */
  constructor(
    readonly out: string,
    readonly width: number,
    readonly height: number,
    fps: string | number,
  ) {
    requireFfmpeg(out);
    this.tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    const enc = videoEncoder();
    // yuv420p needs even sizes: an odd width or height gets one padding column or row
    const pad = width % 2 || height % 2 ? ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'] : [];
    const quality = enc === 'libx264' ? ['-preset', 'veryfast', '-crf', '20'] : ['-q:v', '3'];
    this.p = spawn(
      'ffmpeg',
      [
        '-v',
        'error',
        '-y',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${width}x${height}`,
        '-r',
        String(fps),
        '-i',
        '-',
        ...pad,
        '-c:v',
        enc,
        ...quality,
        '-pix_fmt',
        'yuv420p',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
        this.tmp,
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.p.stderr.on('data', (c: Buffer) => {
      this.err = (this.err + c.toString()).slice(-8192);
    });
    this.p.stdin.on('error', () => {}); // EPIPE when ffmpeg fails: reported by close() with ffmpeg's own message
    this.exited = new Promise((resolve) => {
      this.p.on('error', (e) => resolve((this.failure = `cannot run ffmpeg: ${e.message}`)));
      this.p.on('close', (code, signal) =>
        resolve(code === 0 ? null : (this.failure = lastLines(this.err) || `ffmpeg exited with ${code ?? signal}`)),
      );
    });
  }

  /** Appends one frame (waits while ffmpeg's pipe is full). */
  async write(img: RawImage): Promise<void> {
    if (img.width !== this.width || img.height !== this.height)
      throw new Error(
        `${this.out}: frame ${img.width}x${img.height} does not match the video's ${this.width}x${this.height}`,
      );
    if (this.failure) throw new Error(`${this.out}: cannot write video: ${this.failure}`);
    if (!this.p.stdin.write(img.data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.p.stdin.off('drain', done);
          this.p.off('close', done);
          resolve();
        };
        this.p.stdin.on('drain', done);
        this.p.on('close', done);
      });
    }
  }

  /** Finishes the file and renames it into place. */
  async close(): Promise<void> {
    this.p.stdin.end();
    const failure = await this.exited;
    if (failure) {
      rmSync(this.tmp, { force: true });
      throw new Error(`${this.out}: cannot write video: ${failure}`);
    }
    renameSync(this.tmp, this.out);
  }

  /** Stops ffmpeg and removes the partial file. */
  async abort(): Promise<void> {
    if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill();
    await this.exited;
    rmSync(this.tmp, { force: true });
  }
}
