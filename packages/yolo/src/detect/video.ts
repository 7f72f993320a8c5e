// Video sources through the system's ffmpeg: ffprobe for the frame size, rate and count, and
// `ffmpeg -f rawvideo -pix_fmt rgb24 -` read as a stream, one whole RGB frame at a time (the video
// is never held in memory). Frames are kept as detect.py's LoadImages keeps them with --vid-stride N:
// it grabs N frames and retrieves the last, so the kept frames are the N-th, 2N-th, … (1-based).
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import type { RawImage } from '../data/types.js';
import { lastLines, requireFfmpeg, runTool } from './ffmpeg.js';

/** yolov5 v7.0's VID_FORMATS (gif is a video there), and webm. */
export const VID_FORMATS = [
  'asf',
  'avi',
  'gif',
  'm4v',
  'mkv',
  'mov',
  'mp4',
  'mpeg',
  'mpg',
  'ts',
  'wmv',
  'webm',
] as const;

export function isVideo(path: string): boolean {
  return (VID_FORMATS as readonly string[]).includes(extname(path).slice(1).toLowerCase());
}

export interface VideoInfo {
  /** frame size after the stream's display rotation (what ffmpeg decodes to) */
  width: number;
  height: number;
  /** frame rate as ffprobe gives it ('30000/1001'), for ffmpeg's -r */
  fps: string;
  /** the number of frames in the stream */
  frames: number;
}

interface ProbeStream {
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

function rate(s: string | undefined): number {
  const [n, d = '1'] = (s ?? '').split('/');
  const v = Number(n) / Number(d);
  return Number.isFinite(v) && v > 0 ? v : 0;
}

function firstStream(json: string, file: string): ProbeStream | undefined {
  try {
    return (JSON.parse(json) as { streams?: ProbeStream[] }).streams?.[0];
  } catch {
    throw new Error(`${file}: cannot read video: ffprobe printed no JSON`);
  }
}

/** Frame size, rate and count of the first video stream (throws, naming the file, when it has none). */
export async function probeVideo(file: string): Promise<VideoInfo> {
  requireFfmpeg(file);
  const common = ['-v', 'error', '-select_streams', 'v:0', '-of', 'json'];
  const s = firstStream(
    await runTool(
      'ffprobe',
      [
        ...common,
        '-show_entries',
        'stream=width,height,avg_frame_rate,r_frame_rate,nb_frames:stream_tags=rotate:stream_side_data=rotation',
        file,
      ],
      file,
      'cannot read video',
    ),
    file,
  );
  if (!s?.width || !s.height) throw new Error(`${file}: cannot read video: no video stream`);
  let frames = Number(s.nb_frames);
  if (!(frames > 0)) {
    // containers without a frame count (mkv, webm, gif, ts): count the packets (demuxing only)
    const c = firstStream(
      await runTool(
        'ffprobe',
        [...common, '-count_packets', '-show_entries', 'stream=nb_read_packets', file],
        file,
        'cannot read video',
      ),
      file,
    );
    frames = Number(c?.nb_read_packets) || 0;
  }
  const rot =
    Math.abs(Number(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate ?? 0)) % 180;
  const [width, height] = rot === 90 ? [s.height, s.width] : [s.width, s.height];
  const fps = rate(s.avg_frame_rate) ? s.avg_frame_rate! : rate(s.r_frame_rate) ? s.r_frame_rate! : '30';
  return { width, height, fps, frames };
}

export interface VideoFrame extends RawImage {
  /** 1-based number among the kept frames (detect.py's dataset.frame) */
  frame: number;
  /** 0-based index of the frame in the stream */
  index: number;
}

/**
 * Decoded RGB frames of a video, every `stride`-th. Stopping early (break) ends ffmpeg; a decoding
 * failure throws, naming the file.
 */
export async function* readFrames(file: string, info: VideoInfo, stride = 1): AsyncGenerator<VideoFrame> {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`--vid-stride ${stride}: expected a positive integer`);
  requireFfmpeg(file);
  const { width, height } = info;
  const size = width * height * 3;
  const p = spawn(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  p.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-8192);
  });
  const exited = new Promise<string | null>((resolve) => {
    p.on('error', (e) => resolve(`cannot run ffmpeg: ${e.message}`));
    p.on('close', (code, signal) =>
      resolve(code === 0 ? null : lastLines(err, file) || `ffmpeg exited with ${code ?? signal}`),
    );
  });
  let done = false;
  try {
    let buf = new Uint8Array(size);
    let fill = 0;
    let index = 0;
    let frame = 0;
    for await (const chunk of p.stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(size - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill < size) break;
        fill = 0;
        index++;
        if (index % stride === 0) {
          const data = buf;
          buf = new Uint8Array(size); // the kept frame is the consumer's now
          yield { data, width, height, frame: ++frame, index: index - 1 };
        }
      }
    }
    const failure = await exited;
    done = true;
    if (failure) throw new Error(`${file}: cannot decode video: ${failure}`);
    if (fill)
      throw new Error(
        `${file}: cannot decode video: the last frame is incomplete (${fill} of ${size} bytes; frame size ${width}x${height} expected)`,
      );
    if (!index) throw new Error(`${file}: cannot decode video: no frames`);
  } finally {
    if (!done && p.exitCode === null && p.signalCode === null) p.kill();
  }
}
