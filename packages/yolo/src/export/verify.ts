import {
  cat,
  fromTypedArray,
  getRngState,
  inferenceMode,
  manualSeed,
  rand,
  setRngState,
  type Tensor,
  tidy,
} from '@tsyolo/torch';
import { nonMaxSuppression } from '../boxes/nms.js';
import { prepare, readImage } from '../detect/image.js';
import { loadOnnxRuntime } from '../detect/onnx-runtime.js';
import { DetectionModel as Model } from '../models/model.js';
import { decodeModel } from '../onnx/proto.js';
import { sampleImages } from '../util/assets.js';
import { type DetectionMatch, matchDetections } from './match-detections.js';

export interface VerifyOptions {
  /** images to run (cycled to fill the batch); default bus.jpg (and zidane.jpg) from the shared data folder */
  images?: string[];
  /** input size [h, w] for dynamic height/width; a static file's own size otherwise (default 640) */
  imgsz?: number | [number, number];
  /** batch for a dynamic batch (default: the file's batch, else 1) */
  batch?: number;
  /** ONNX Runtime intra-op threads (default 2) */
  threads?: number;
  /** NMS settings for the detection comparison (detect.py's defaults) */
  confThres?: number;
  iouThres?: number;
  maxDet?: number;
  /** tolerances: abs on objectness/class scores, rel (|a−b| / max(1,|b|)) on boxes. Default 1e-4 (1e-2 for float16 files). */
  atol?: number;
  rtol?: number;
  /** also time both runtimes with this many runs after one warm-up (median ms) */
  benchRuns?: number;
  /**
   * Measure the float32 rounding noise of the model itself (tsyolo float32 vs a float64 copy) and widen
   * the tolerances to twice that noise: true, false, or 'auto' (default: only when the plain tolerances
   * fail, for float32 files). A badly conditioned model's float32 output is only known to ~1e-4.
   */
  float64Reference?: boolean | 'auto';
}

export interface VerifyReport {
  ok: boolean;
  /** what was compared: the images or 'random' */
  source: string[] | 'random';
  inputShape: number[];
  outputShape: number[];
  half: boolean;
  /** max |onnx − tsyolo| over the whole output */
  maxAbsDiff: number;
  /** over the box columns (x, y, w, h in pixels) */
  maxAbsDiffBoxes: number;
  /** max |a − b| / max(1, |b|) over the box columns */
  maxRelDiffBoxes: number;
  /** over objectness and class scores */
  maxAbsDiffScores: number;
  atol: number;
  rtol: number;
  /** the tolerances applied: atol/rtol, or twice the model's own float32 noise when larger */
  effectiveAtol: number;
  effectiveRtol: number;
  /** with a float64 reference: how far tsyolo float32 and ONNX Runtime each are from it */
  float64?: { nativeScores: number; nativeBoxesRel: number; onnxScores: number; onnxBoxesRel: number };
  /**
   * Detections after NMS, matched as sets (same class, confidences within the score tolerance, box corners
   * within the box tolerance relative to max(1, |corner|, box width, box height)). Informative only: when
   * the raw outputs agree, a detection on the edge of the confidence threshold or of an NMS overlap may be
   * kept by one side alone, and that is float32 noise, not a broken export.
   */
  detections: {
    /** per image: counts from ONNX and from tsyolo */
    onnx: number[];
    native: number[];
    matched: number;
    onnxOnly: number;
    nativeOnly: number;
    /** every detection found its partner */
    identical: boolean;
    /** bit-equal (x1 y1 x2 y2 conf cls), row for row */
    exact: boolean;
    maxBoxDiff: number;
    maxConfDiff: number;
  };
  /** median latencies in ms when benchRuns was given */
  timing?: { onnxMs: number; nativeMs: number; runs: number; threads: number };
  errors: string[];
}

/** onnxruntime-node, loaded on first use (its native library is not needed for exporting). */
export function loadOrt(): ReturnType<typeof loadOnnxRuntime> {
  return loadOnnxRuntime('to check an ONNX export', ' or skip the check (--no-verify)');
}

/** An ONNX Runtime CPU session for ONNX bytes. */
export async function createSession(
  bytes: Uint8Array,
  threads = 2,
): Promise<import('onnxruntime-node').InferenceSession> {
  const ort = await loadOrt();
  // no spin-waiting after a run: the intra-op threads would keep the cores busy while libtorch runs
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

/** Runs a session on an NCHW float32 tensor; returns the first output as a float32 tensor. */
export async function runSession(
  session: import('onnxruntime-node').InferenceSession,
  input: Tensor,
  half: boolean,
): Promise<Tensor> {
  const ort = await loadOrt();
  const data = tidy(() => (half ? input.half() : input.float()).contiguous().toTypedArray());
  const feed = {
    [session.inputNames[0]]: new ort.Tensor(half ? 'float16' : 'float32', data as Float32Array | Uint16Array, [
      ...input.shape,
    ]),
  };
  const out = await session.run(feed);
  const y = out[session.outputNames[0]];
  const t = fromTypedArray(y.data as ArrayBufferView, y.dims as number[], half ? 'float16' : 'float32');
  for (const v of Object.values(out)) v.dispose?.();
  return half ? tidy(() => t.float()) : t;
}

interface FileIo {
  dims: (number | string)[];
  half: boolean;
}

function fileInput(bytes: Uint8Array): FileIo {
  const m = decodeModel(bytes);
  const inp = m.graph.input.find((v) => !m.graph.initializer.some((t) => t.name === v.name));
  const tt = inp?.type?.tensor_type;
  if (!tt) throw new Error('the ONNX file has no tensor input');
  return {
    dims: (tt.shape?.dim ?? []).map((d) => (d.dim_param ? d.dim_param : (d.dim_value ?? 0))),
    half: tt.elem_type === 10,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** max |a − b| over the scores and max |a − b| / max(1, |b|) over the boxes. */
function compare(a: Tensor, b: Tensor): { all: number; boxes: number; rel: number; scores: number } {
  return tidy(() => {
    const d = a.sub(b).abs();
    const boxes = d.index('...', ':4');
    const rel = boxes.div(b.index('...', ':4').abs().clamp(1));
    return {
      all: d.max().item(),
      boxes: boxes.max().item(),
      rel: rel.max().item(),
      scores: d.index('...', '4:').max().item(),
    };
  });
}

/** The model's eval output computed in float64 (on a copy; the global RNG state is kept). */
function float64Forward(model: Model, input: Tensor): Tensor {
  const rng = getRngState();
  let copy: Model | null = null;
  try {
    copy = new Model(model.cfg, { ch: model.ch });
    if (model.fused) copy.fuse();
    copy.loadStateDict(model.stateDict());
    copy.detect.resetGrids();
    copy.double().eval();
    const c = copy;
    return tidy(() => inferenceMode(() => (c.forward(input.double()) as Tensor).float()));
  } finally {
    copy?.dispose();
    setRngState(rng);
    rng.dispose();
  }
}

/**
 * Runs the ONNX file with ONNX Runtime and the model with tsyolo (eval mode, as it is: pass the fused
 * model the file was exported from) on the same letterboxed images and compares outputs and
 * detections. The model's training flag is restored afterwards.
 */
export async function verifyOnnx(model: Model, bytes: Uint8Array, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const plan = verifyPlan(model, fileInput(bytes), opts);
  const { batch, half, atol, rtol } = plan;
  const images = opts.images ?? sampleImages();
  const input = await verifyInput(model, images, plan);
  const session = await createSession(bytes, plan.threads);
  const wasTraining = model.training;
  model.eval();
  try {
    const onnxOut = await runSession(session, input, half);
    const nativeOut = inferenceMode(() => model.forward(input) as Tensor);
    try {
      if (onnxOut.shape.join() !== nativeOut.shape.join())
        throw new Error(`verifyOnnx: ONNX output [${onnxOut.shape}] but tsyolo's [${nativeOut.shape}]`);
      const { diffs, effAtol, effRtol, float64 } = measureAgreement(
        model,
        input,
        onnxOut,
        nativeOut,
        plan,
        opts.float64Reference ?? 'auto',
      );
      const detections = compareDetections(onnxOut, nativeOut, effRtol, effAtol, opts);
      const errors: string[] = [];
      if (diffs.scores > effAtol)
        errors.push(`scores differ by up to ${diffs.scores.toExponential(2)} (> ${effAtol.toExponential(2)})`);
      if (diffs.rel > effRtol)
        errors.push(`boxes differ by up to ${diffs.rel.toExponential(2)} relative (> ${effRtol.toExponential(2)})`);
      const timing =
        opts.benchRuns && opts.benchRuns > 0
          ? await benchmark(model, session, input, half, opts.benchRuns, plan.threads)
          : undefined;
      return {
        ok: errors.length === 0,
        source: images.length ? Array.from({ length: batch }, (_, k) => images[k % images.length]) : 'random',
        inputShape: [...input.shape],
        outputShape: [...onnxOut.shape],
        half,
        maxAbsDiff: diffs.all,
        maxAbsDiffBoxes: diffs.boxes,
        maxRelDiffBoxes: diffs.rel,
        maxAbsDiffScores: diffs.scores,
        atol,
        rtol,
        effectiveAtol: effAtol,
        effectiveRtol: effRtol,
        float64,
        detections,
        timing,
        errors,
      };
    } finally {
      onnxOut.dispose();
      nativeOut.dispose();
    }
  } finally {
    model.train(wasTraining);
    input.dispose();
    await session.release();
  }
}

/** What verifyOnnx runs: the input size and batch, precision, tolerances, threads and letterbox stride. */
interface VerifyPlan {
  h: number;
  w: number;
  batch: number;
  half: boolean;
  atol: number;
  rtol: number;
  threads: number;
  stride: number;
}

/**
 * The check's settings for a file whose input is `io`: a fixed height, width or batch of the file wins
 * (an imgsz that contradicts a fixed size is an error); the defaults for the rest come from `opts`.
 */
function verifyPlan(model: Model, io: FileIo, opts: VerifyOptions): VerifyPlan {
  const [, , fh, fw] = io.dims;
  const want =
    opts.imgsz === undefined ? undefined : typeof opts.imgsz === 'number' ? [opts.imgsz, opts.imgsz] : opts.imgsz;
  const h = typeof fh === 'number' ? fh : (want?.[0] ?? 640);
  const w = typeof fw === 'number' ? fw : (want?.[1] ?? 640);
  if (want && (want[0] !== h || want[1] !== w))
    throw new Error(`verifyOnnx: the file's input is ${fh}x${fw}, not ${want[0]}x${want[1]}`);
  const batch = typeof io.dims[0] === 'number' ? io.dims[0] : (opts.batch ?? 1);
  const half = io.half;
  const atol = opts.atol ?? (half ? 1e-2 : 1e-4);
  const rtol = opts.rtol ?? (half ? 1e-2 : 1e-4);
  return { h, w, batch, half, atol, rtol, threads: opts.threads ?? 2, stride: Math.max(...model.stride) };
}

/**
 * The batch both runtimes see: the images letterboxed to h × w as detect does (cycled to fill the
 * batch), or, without images, a uniform random input drawn after manualSeed(0).
 */
async function verifyInput(model: Model, images: string[], plan: VerifyPlan): Promise<Tensor> {
  const { h, w, batch, stride } = plan;
  if (images.length) {
    const decoded = await Promise.all(images.map((f) => readImage(f)));
    return tidy(() =>
      cat(
        Array.from({ length: batch }, (_, k) => prepare(decoded[k % decoded.length], [h, w], stride, false).input),
        0,
      ),
    );
  }
  manualSeed(0);
  return rand([batch, model.ch, h, w]);
}

/** The two outputs' differences and the tolerances they are held to (see measureAgreement). */
interface Agreement {
  diffs: ReturnType<typeof compare>;
  effAtol: number;
  effRtol: number;
  float64: VerifyReport['float64'];
}

/**
 * Compares the ONNX output with tsyolo's. With a float64 reference (always, or with 'auto' only for a
 * float32 file whose plain tolerances fail), both are also measured against the model run in float64,
 * and the tolerances widen to twice tsyolo's own float32 noise when that is larger.
 */
function measureAgreement(
  model: Model,
  input: Tensor,
  onnxOut: Tensor,
  nativeOut: Tensor,
  plan: VerifyPlan,
  f64: boolean | 'auto',
): Agreement {
  const { atol, rtol, half } = plan;
  const diffs = compare(onnxOut, nativeOut);
  if (!(f64 === true || (f64 === 'auto' && !half && (diffs.scores > atol || diffs.rel > rtol)))) {
    return { diffs, effAtol: atol, effRtol: rtol, float64: undefined };
  }
  const ref = float64Forward(model, input);
  const n = compare(nativeOut, ref);
  const o = compare(onnxOut, ref);
  ref.dispose();
  const float64 = { nativeScores: n.scores, nativeBoxesRel: n.rel, onnxScores: o.scores, onnxBoxesRel: o.rel };
  return { diffs, effAtol: Math.max(atol, 2 * n.scores), effRtol: Math.max(rtol, 2 * n.rel), float64 };
}

/** Runs NMS on both outputs (detect.py's settings unless `opts` says otherwise) and matches the detections per image. */
function compareDetections(
  onnxOut: Tensor,
  nativeOut: Tensor,
  effRtol: number,
  effAtol: number,
  opts: VerifyOptions,
): VerifyReport['detections'] {
  const nmsOpts = { confThres: opts.confThres ?? 0.25, iouThres: opts.iouThres ?? 0.45, maxDet: opts.maxDet ?? 1000 };
  const detsO = inferenceMode(() => nonMaxSuppression(onnxOut, nmsOpts));
  const detsN = inferenceMode(() => nonMaxSuppression(nativeOut, nmsOpts));
  const match = detsO.map((a, k) =>
    matchDetections(a.tolist() as number[][], detsN[k].tolist() as number[][], effRtol, effAtol),
  );
  const sum = (f: (m: DetectionMatch) => number): number => match.reduce((n, m) => n + f(m), 0);
  const detections = {
    matched: sum((m) => m.matched),
    onnxOnly: sum((m) => m.onlyA),
    nativeOnly: sum((m) => m.onlyB),
    identical: match.every((m) => m.onlyA === 0 && m.onlyB === 0),
    exact: match.every((m) => m.exact),
    maxBoxDiff: Math.max(0, ...match.map((m) => m.maxBoxDiff)),
    maxConfDiff: Math.max(0, ...match.map((m) => m.maxConfDiff)),
  };
  const counts = { onnx: detsO.map((t) => t.shape[0]), native: detsN.map((t) => t.shape[0]) };
  for (const t of [...detsO, ...detsN]) t.dispose();
  return { ...counts, ...detections };
}

/** Median latencies of `runs` ONNX Runtime runs, then `runs` tsyolo forwards, after one warm-up of each. */
async function benchmark(
  model: Model,
  session: import('onnxruntime-node').InferenceSession,
  input: Tensor,
  half: boolean,
  runs: number,
  threads: number,
): Promise<NonNullable<VerifyReport['timing']>> {
  const to: number[] = [];
  const tn: number[] = [];
  tidy(() => inferenceMode(() => model.forward(input)));
  (await runSession(session, input, half)).dispose();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    (await runSession(session, input, half)).dispose();
    to.push(performance.now() - t0);
  }
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    tidy(() => inferenceMode(() => model.forward(input)));
    tn.push(performance.now() - t0);
  }
  return { onnxMs: median(to), nativeMs: median(tn), runs, threads };
}

function detectionsVerdict(d: VerifyReport['detections']): string {
  if (d.exact) return 'bit-identical';
  if (d.identical) return 'the same within tolerance';
  return `${d.matched} matched, ${d.onnxOnly} only from ONNX, ${d.nativeOnly} only from tsyolo (on the edge of the confidence threshold or an NMS overlap; the raw outputs decide)`;
}

/** A few lines for the CLI. */
export function formatVerify(r: VerifyReport): string {
  const lines = [
    `ONNX Runtime check: ${r.ok ? 'passed' : 'FAILED'} on ${r.source === 'random' ? 'a random input' : r.source.map((s) => s.split('/').pop()).join(', ')} [${r.inputShape.join(',')}] → [${r.outputShape.join(',')}]`,
    `  max |Δ| ${r.maxAbsDiff.toExponential(2)}; scores ${r.maxAbsDiffScores.toExponential(2)} (tol ${r.atol}); boxes ${r.maxAbsDiffBoxes.toExponential(2)} px, ${r.maxRelDiffBoxes.toExponential(2)} relative (tol ${r.rtol})`,
    `  detections: ONNX ${r.detections.onnx.join('/')}, tsyolo ${r.detections.native.join('/')}, ${detectionsVerdict(r.detections)}`,
  ];
  if (r.float64) {
    lines.push(
      `  float64 reference: tsyolo float32 is off by ${r.float64.nativeScores.toExponential(2)} (scores), ${r.float64.nativeBoxesRel.toExponential(2)} (boxes, rel); ONNX Runtime by ${r.float64.onnxScores.toExponential(2)}, ${r.float64.onnxBoxesRel.toExponential(2)} → tolerances ${r.effectiveAtol.toExponential(2)}, ${r.effectiveRtol.toExponential(2)}`,
    );
  }
  if (r.timing)
    lines.push(
      `  latency (median of ${r.timing.runs}, ${r.timing.threads} threads): ONNX Runtime ${r.timing.onnxMs.toFixed(1)} ms, tsyolo ${r.timing.nativeMs.toFixed(1)} ms`,
    );
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}
