// Stage 4 of the COCO evaluation, pycocotools' summarize(): the 12 standard statistics as means of the
// accumulated precision and recall entries (absent ones, −1, left out) and the text it prints.
import { npMean } from '../numpy.js';
import type { Accumulated } from './accumulate.js';
import { AREA_LBL, type CocoEvalResult, type EvalParams, precisionIndex, recallIndex } from './types.js';

/** One statistic: AP or AR, at one IoU threshold (null: all), an area range label and a maxDets value. */
type StatSpec = [ap: boolean, iouThr: number | null, area: string, maxDets: number];

/** The 12 statistics in pycocotools' order (the first always at maxDets 100, as pycocotools has it). */
function statSpecs(maxDets: readonly number[]): StatSpec[] {
  const md2 = maxDets[2];
  return [
    [true, null, 'all', 100],
    [true, 0.5, 'all', md2],
    [true, 0.75, 'all', md2],
    [true, null, 'small', md2],
    [true, null, 'medium', md2],
    [true, null, 'large', md2],
    [false, null, 'all', maxDets[0]],
    [false, null, 'all', maxDets[1]],
    [false, null, 'all', md2],
    [false, null, 'small', md2],
    [false, null, 'medium', md2],
    [false, null, 'large', md2],
  ];
}

/** The mean of the present (> −1) precision or recall entries a statistic covers; −1 when none. */
function statValue([ap, iouThr, area, md]: StatSpec, acc: Accumulated, p: EvalParams): number {
  const a = AREA_LBL.indexOf(area);
  const m = p.maxDets.indexOf(md);
  const vals: number[] = [];
  if (a >= 0 && m >= 0) {
    const all = [...p.iouThrs.keys()];
    const ts = iouThr === null ? all : all.filter((t) => p.iouThrs[t] === iouThr);
    for (const t of ts) {
      if (ap) {
        for (let r = 0; r < p.R; r++)
          for (let k = 0; k < p.K; k++) {
            const v = acc.precision[precisionIndex(p, t, r, k, a, m)];
            if (v > -1) vals.push(v);
          }
      } else {
        for (let k = 0; k < p.K; k++) {
          const v = acc.recall[recallIndex(p, t, k, a, m)];
          if (v > -1) vals.push(v);
        }
      }
    }
  }
  return vals.length ? npMean(vals) : -1;
}

/** One line of pycocotools' printout for a statistic and its value. */
function summaryLine([ap, iouThr, area, md]: StatSpec, value: number, iouThrs: Float64Array): string {
  const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = ap ? '(AP)' : '(AR)';
  const iouStr = (
    iouThr === null ? `${iouThrs[0].toFixed(2)}:${iouThrs[iouThrs.length - 1].toFixed(2)}` : iouThr.toFixed(2)
  ).padEnd(9);
  return ` ${title} ${type} @[ IoU=${iouStr} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${value.toFixed(3)}`;
}

/** summarize(): the 12 statistics and the 12 lines of text. */
export function summarize(acc: Accumulated, p: EvalParams): { stats: number[]; summary: string } {
  const specs = statSpecs(p.maxDets);
  const stats = specs.map((spec) => statValue(spec, acc, p));
  const summary = specs.map((spec, j) => summaryLine(spec, stats[j], p.iouThrs)).join('\n');
  return { stats, summary };
}

/** Per-category AP@[.5:.95] and AP@.5 (area all, the largest maxDets) from a result, −1 where absent. */
export function cocoPerCategoryAp(res: CocoEvalResult): { catId: number; ap: number; ap50: number }[] {
  const [T, R, K, A, M] = res.precisionDims;
  const m = M - 1;
  return res.params.catIds.map((catId, k) => {
    const all: number[] = [];
    const at50: number[] = [];
    for (let t = 0; t < T; t++)
      for (let r = 0; r < R; r++) {
        const v = res.precision[(((t * R + r) * K + k) * A + 0) * M + m];
        if (v > -1) {
          all.push(v);
          if (res.params.iouThrs[t] === 0.5) at50.push(v);
        }
      }
    return { catId, ap: all.length ? npMean(all) : -1, ap50: at50.length ? npMean(at50) : -1 };
  });
}
