// tsyolo detect on videos (through the system's ffmpeg), --vid-stride, sources mixing images and
// videos, --save-crop (yolov5's save_one_box arithmetic), the missing-ffmpeg error, --half on the CPU.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { annotateRaw } from '../src/detect/annotate.js';
import { cropBox, incrementFile } from '../src/detect/crop.js';
import { readImage } from '../src/detect/image.js';
import { resolveSources } from '../src/detect/sources.js';
import { isVideo, probeVideo, readFrames } from '../src/detect/video.js';
import { type Detection, Detector } from '../src/index.js';
import { fixture, repoRoot, sampleImage } from './fixtures.js';

const WEIGHTS = fixture('yolov5n-stripped.pt');
const BUS = sampleImage('bus.jpg');
const noFfmpeg = ['ffmpeg', 'ffprobe'].some((t) => spawnSync(t, ['-version'], { stdio: 'ignore' }).status !== 0)
  ? 'ffmpeg/ffprobe not on PATH (scripts/install-test-deps.sh installs them)'
  : false;
const skipVideo = noFfmpeg;
const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-video-'));
const clip = join(dir, 'clip.mp4');
const FRAMES = 10;
// the CLI's settings for the video runs, and the same for the Detector they are compared with
const VID_ARGS = ['--imgsz', '160', '--conf-thres', '0.001', '--max-det', '30'];
const VID_OPTS = { imgsz: 160, confThres: 0.001, iouThres: 0.45, maxDet: 30 };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>[];
}

function tsyolo(args: string[], extraEnv: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  const json = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}
function ok(args: string[]): Run {
  const r = tsyolo(args);
  assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}
function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffmpeg ${args.join(' ')}: ${r.stderr}`);
}
function ffprobeStream(file: string): { width: number; height: number; nb_read_frames: string; codec_name: string } {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height,nb_read_frames,codec_name',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  return (
    JSON.parse(r.stdout) as { streams: { width: number; height: number; nb_read_frames: string; codec_name: string }[] }
  ).streams[0];
}
type FrameLine = { image: string; frame: number; width: number; height: number; detections: Detection[] };
const frameLines = (r: Run): FrameLine[] => r.json.filter((j) => 'frame' in j) as unknown as FrameLine[];

const byFrame = new Map<number, Detection[]>(); // the stride-1 run's detections, by frame number

test('setup: a 1-second 320x256 H.264 clip panning over bus.jpg (10 frames at 10 fps)', { skip: skipVideo }, () => {
  ffmpeg([
    '-loop',
    '1',
    '-framerate',
    '10',
    '-i',
    BUS,
    '-vf',
    'scale=320:-2,crop=320:256:0:n*8',
    '-frames:v',
    String(FRAMES),
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
  assert.equal(Number(ffprobeStream(clip).nb_read_frames), FRAMES);
});

test('tsyolo detect on a video: a log and JSON line per frame, labels stem_N.txt, an annotated .mp4 of the same size and length', {
  skip: skipVideo,
}, () => {
  const r = ok([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    clip,
    ...VID_ARGS,
    '--save-txt',
    '--project',
    join(dir, 'runs'),
    '--name',
    'vid',
    '--json',
  ]);
  const summary = r.json.at(-1)!;
  assert.equal(summary.command, 'detect');
  assert.deepEqual([summary.images, summary.videos, summary.frames], [0, 1, FRAMES]);
  const lines = frameLines(r);
  assert.deepEqual(
    lines.map((l) => l.frame),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.ok(lines.every((l) => l.image === clip && l.width === 320 && l.height === 256 && l.detections.length > 0));
  assert.equal(
    lines.reduce((a, l) => a + l.detections.length, 0),
    summary.detections,
  );
  const logs = r.stdout.split('\n').filter((l) => l.startsWith('video '));
  assert.equal(logs.length, FRAMES);
  assert.match(logs[2], new RegExp(`^video 1/1 \\(3/10\\) ${clip}: 256x320 .+, \\d+\\.\\dms$`));
  for (const l of lines) byFrame.set(l.frame, l.detections);

  const save = summary.saveDir as string;
  const labels = readdirSync(join(save, 'labels')).sort();
  assert.deepEqual(labels, Array.from({ length: FRAMES }, (_, i) => `clip_${i + 1}.txt`).sort());
  assert.equal(
    readFileSync(join(save, 'labels', 'clip_3.txt'), 'utf8')
      .trim()
      .split('\n').length,
    lines[2].detections.length,
  );
  const out = ffprobeStream(join(save, 'clip.mp4'));
  assert.deepEqual([out.width, out.height, Number(out.nb_read_frames)], [320, 256, FRAMES]);
  assert.deepEqual(readdirSync(save).sort(), ['clip.mp4', 'labels'], 'no temporary file left');
});

test('a video frame goes through the same pipeline as an image: frame 3 extracted as PNG gives the same detections', {
  skip: skipVideo,
}, async () => {
  const png = join(dir, 'frame3.png');
  ffmpeg(['-i', clip, '-vf', 'select=eq(n\\,2)', '-vsync', 'passthrough', '-frames:v', '1', png]);
  // the streamed frame is the PNG's pixels, byte for byte
  const info = await probeVideo(clip);
  assert.deepEqual(info, { width: 320, height: 256, fps: '10/1', frames: FRAMES });
  const still = await readImage(png);
  let third: Uint8Array | undefined;
  for await (const f of readFrames(clip, info)) {
    if (f.frame === 3) {
      third = f.data;
      break; // stopping early ends ffmpeg
    }
  }
  assert.ok(third && Buffer.compare(Buffer.from(third), Buffer.from(still.data)) === 0);
  const det = await Detector.load(WEIGHTS, VID_OPTS);
  try {
    const r = await det.detect(png);
    assert.deepEqual(r.detections, byFrame.get(3));
    const raw = await det.detect(still); // a RawImage directly
    assert.deepEqual(raw.detections, byFrame.get(3));
    // in-memory annotation keeps the frame size and draws something
    const a = await annotateRaw(still, r.detections);
    assert.deepEqual([a.width, a.height, a.data.length], [320, 256, still.data.length]);
    assert.ok(Buffer.compare(Buffer.from(a.data), Buffer.from(still.data)) !== 0);
  } finally {
    det.dispose();
  }
});

test('--vid-stride 2 over a folder mixing an image and the video: images first, then frames 2, 4, … of the video', {
  skip: skipVideo,
}, () => {
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed);
  copyFileSync(clip, join(mixed, 'a-clip.mp4'));
  copyFileSync(BUS, join(mixed, 'z-bus.jpg'));
  assert.deepEqual(resolveSources(mixed), [join(mixed, 'z-bus.jpg'), join(mixed, 'a-clip.mp4')]);
  const r = ok([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    mixed,
    ...VID_ARGS,
    '--vid-stride',
    '2',
    '--save-txt',
    '--nosave',
    '--project',
    join(dir, 'runs'),
    '--name',
    'stride',
    '--json',
  ]);
  const summary = r.json.at(-1)!;
  assert.deepEqual([summary.images, summary.videos, summary.frames], [1, 1, FRAMES / 2]);
  assert.equal(r.json[0].image, join(mixed, 'z-bus.jpg'));
  const lines = frameLines(r);
  assert.deepEqual(
    lines.map((l) => l.frame),
    [1, 2, 3, 4, 5],
  );
  // detect.py grabs vid_stride frames and keeps the last: kept frame k is the video's frame 2k
  lines.forEach((l) => assert.deepEqual(l.detections, byFrame.get(2 * l.frame), `frame ${l.frame}`));
  assert.match(r.stdout, /^image 1\/2 .*z-bus\.jpg: 1080x810 /m);
  assert.match(r.stdout, /^video 2\/2 \(5\/5\) .*a-clip\.mp4: 256x320 /m);
  assert.deepEqual(readdirSync(join(summary.saveDir as string, 'labels')).sort(), [
    'a-clip_1.txt',
    'a-clip_2.txt',
    'a-clip_3.txt',
    'a-clip_4.txt',
    'a-clip_5.txt',
    'z-bus.txt',
  ]);
});

test('video formats as yolov5 (gif is a video); an mkv without a frame count is counted; a corrupt video is refused by name', {
  skip: skipVideo,
}, async () => {
  assert.ok(['a.mp4', 'b.GIF', 'c.ts', 'd.mkv', 'e.webm', 'f.asf'].every(isVideo));
  assert.ok(!isVideo('bus.jpg') && !isVideo('list.txt'));
  const mkv = join(dir, 'clip.mkv');
  ffmpeg(['-i', clip, '-c', 'copy', mkv]);
  assert.equal((await probeVideo(mkv)).frames, FRAMES);
  let n = 0;
  for await (const f of readFrames(mkv, await probeVideo(mkv), 3)) n = f.frame;
  assert.equal(n, 3);
  const bad = join(dir, 'broken.mp4');
  writeFileSync(bad, Buffer.from('this is not a video '.repeat(100)));
  const r = tsyolo([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    bad,
    '--imgsz',
    '160',
    '--project',
    join(dir, 'runs'),
    '--name',
    'bad',
  ]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`${bad}: cannot read video: `));
});

test('without ffmpeg on PATH, a video source fails naming the file and saying to install ffmpeg', () => {
  const empty = mkdtempSync(join(tmpdir(), 'tsyolo-nopath-'));
  const video = join(dir, 'nothing-decodes-this.mp4');
  writeFileSync(video, 'x');
  const r = tsyolo(
    ['detect', '--weights', WEIGHTS, '--source', video, '--project', join(dir, 'runs'), '--name', 'noffmpeg'],
    { PATH: empty },
  );
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(video), r.stderr);
  assert.match(r.stderr, /install ffmpeg \(e\.g\. apt-get install ffmpeg/);
});

test("save_one_box's crop rectangle on hand values: gain 1.02, pad 10, truncated, clipped", () => {
  // w 18 → 28.36, h 55 → 66.1 around (720, 769.5): 705.82 → 705, 734.18 → 734, 736.45 → 736, 802.55 → 802
  assert.deepEqual(cropBox([711, 742, 729, 797], 810, 1080), [705, 736, 734, 802]);
  // past the borders: −6 → 0; −15.8 truncates to −15 → 0; 1095.8 → 1080
  assert.deepEqual(cropBox([0, 0, 100, 1080], 810, 1080), [0, 0, 106, 1080]);
  // square: 30 × 30 → 40.6 around (15, 25): −5.3 → 0, 35.3 → 35, 4.7 → 4, 45.3 → 45
  assert.deepEqual(cropBox([10, 10, 20, 40], 810, 1080, { square: true }), [0, 4, 35, 45]);
  const d = mkdtempSync(join(tmpdir(), 'tsyolo-inc-'));
  assert.equal(incrementFile(join(d, 'bus.jpg')), join(d, 'bus.jpg'));
  writeFileSync(join(d, 'bus.jpg'), '');
  writeFileSync(join(d, 'bus2.jpg'), '');
  assert.equal(incrementFile(join(d, 'bus.jpg')), join(d, 'bus3.jpg'));
});

test('--save-crop on bus.jpg: crops/<class>/bus.jpg, bus2.jpg, … sized by the box arithmetic, of the right pixels; --half is accepted with a note', async () => {
  const r = ok([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    BUS,
    '--imgsz',
    '320',
    '--save-crop',
    '--nosave',
    '--half',
    '--project',
    join(dir, 'runs'),
    '--name',
    'crop',
    '--json',
  ]);
  assert.equal(r.stderr.trim(), '--half is ignored on the CPU (FP16 inference needs a CUDA device)');
  const dets = (r.json[0] as { detections: Detection[] }).detections;
  assert.ok(dets.length > 0);
  const save = r.json.at(-1)!.saveDir as string;
  const img = await readImage(BUS);
  // detect.py walks the detections lowest confidence first: that order numbers each class's crops
  const seen = new Map<string, number>();
  let checked = 0;
  for (const d of [...dets].reverse()) {
    const k = (seen.get(d.name) ?? 0) + 1;
    seen.set(d.name, k);
    const file = join(save, 'crops', d.name, k === 1 ? 'bus.jpg' : `bus${k}.jpg`);
    const [x1, y1, x2, y2] = cropBox(d.box, img.width, img.height);
    const meta = await sharp(file).metadata();
    assert.deepEqual([meta.width, meta.height], [x2 - x1, y2 - y1], file);
    if (checked++ < 3) {
      // the same region of the original, up to JPEG (quality 95) loss
      const got = await sharp(file).raw().toBuffer();
      const want = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
        .extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 })
        .raw()
        .toBuffer();
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff += Math.abs(got[i] - want[i]);
      assert.ok(diff / want.length < 4, `${file}: mean abs difference ${diff / want.length}`);
    }
  }
  for (const [name, n] of seen) assert.equal(readdirSync(join(save, 'crops', name)).length, n, name);
  assert.equal(readdirSync(join(save, 'crops')).length, seen.size);
});

test('tsyolo val accepts --half and notes that it is ignored on the CPU', () => {
  const r = tsyolo(['val', '--half', '--data', join(dir, 'no-such-data.yaml'), '--weights', WEIGHTS]);
  assert.ok(r.stderr.startsWith('--half is ignored on the CPU (FP16 inference needs a CUDA device)\n'), r.stderr);
  assert.doesNotMatch(r.stderr, /unknown option/);
});
