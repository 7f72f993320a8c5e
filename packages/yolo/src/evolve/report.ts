// The best generation of a population and hyp_evolved.yaml (yolov5's hyp_evolve.yaml): the best
// row's hyperparameters as a YAML mapping under a comment header.
import { stringify } from 'yaml';
import { g5 } from '../util/python.js';
import { type Population, rowHyp } from './csv.js';
import { RESULT_COLUMNS } from './meta.js';
import { bestRowIndex, rowFitness } from './select.js';

/** Results of a generation by name; box/obj/cls are the validation losses. */
export interface EvolveMetrics {
  precision: number;
  recall: number;
  mAP50: number;
  mAP50_95: number;
  box: number;
  obj: number;
  cls: number;
}

export interface EvolveBest {
  /** 0-based row of evolve.csv (yolov5's "Best generation") */
  generation: number;
  fitness: number;
  /** the base hyp with the best row's evolved values */
  hyp: Record<string, number>;
  metrics: EvolveMetrics;
}

export function rowMetrics(row: readonly number[]): EvolveMetrics {
  const [precision, recall, mAP50, mAP50_95, box, obj, cls] = row;
  return { precision, recall, mAP50, mAP50_95, box, obj, cls };
}

/** The fittest row; `base` supplies the hyp keys the file does not evolve. Null without rows. */
export function bestOf(p: Population, base: Readonly<Record<string, number>> = {}): EvolveBest | null {
  const i = bestRowIndex(p.rows);
  if (i < 0) return null;
  const row = p.rows[i];
  return { generation: i, fitness: rowFitness(row), hyp: { ...base, ...rowHyp(p, row) }, metrics: rowMetrics(row) };
}

/** hyp_evolved.yaml's text for the best row of `p`. */
export function evolvedYaml(p: Population, best: EvolveBest): string {
  const r = p.rows[best.generation];
  const head = [
    '# tsyolo hyperparameter evolution results (yolov5 train.py --evolve)',
    `# Best generation: ${best.generation} (fitness ${g5(best.fitness).trim()} = 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95)`,
    `# Last generation: ${p.rows.length - 1} (${p.rows.length} generations)`,
    `# ${RESULT_COLUMNS.map((c) => c.padStart(20)).join(', ')}`,
    `# ${r
      .slice(0, RESULT_COLUMNS.length)
      .map((v) => g5(v))
      .join(', ')}`,
    '',
  ];
  return `${head.join('\n')}\n${stringify(best.hyp)}`;
}
