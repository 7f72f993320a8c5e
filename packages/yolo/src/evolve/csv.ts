// evolve.csv: yolov5's layout — a header of the 7 result columns and the hyp keys, then one row per
// generation; every cell right-aligned in 20 characters ('%20s' / '%20.5g'), cells joined by commas.
import { g5 } from '../util/python.js';
import { mutationLimit, RESULT_COLUMNS } from './meta.js';

/** The parsed file: `header` = RESULT_COLUMNS then `hypKeys`; each row has header.length values. */
export interface Population {
  header: string[];
  hypKeys: string[];
  rows: number[][];
}

/** A new, empty population whose hyp columns are `hypKeys`. */
export function emptyPopulation(hypKeys: readonly string[]): Population {
  return { header: [...RESULT_COLUMNS, ...hypKeys], hypKeys: [...hypKeys], rows: [] };
}

/** One line: each cell padded to 20 characters, joined by commas (yolov5 strips the trailing comma). */
export function formatLine(cells: readonly string[]): string {
  return cells.map((c) => c.padStart(20)).join(',');
}

export function formatRow(values: readonly number[]): string {
  return formatLine(values.map((v) => g5(v)));
}

/** The whole file. */
export function formatPopulation(p: Population): string {
  return [formatLine(p.header), ...p.rows.map(formatRow)].map((l) => `${l}\n`).join('');
}

/** Cells of a line, trimmed; a trailing comma (older yolov5 files) adds no cell. */
function cells(line: string): string[] {
  const c = line.split(',').map((s) => s.trim());
  if (c.length > 1 && c[c.length - 1] === '') c.pop();
  return c;
}

/** A '%g' cell: also Python's nan / inf spellings. */
export function parseNumber(s: string): number {
  const l = s.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return s === '' ? NaN : Number(s);
}

/** Parses evolve.csv text; `where` (the file) names the source in errors. Blank lines are skipped. */
export function parsePopulation(text: string, where: string): Population {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ l, n: i + 1 }))
    .filter(({ l }) => l.trim() !== '');
  if (!lines.length)
    throw new Error(
      `${where}: empty file (expected a header line of ${RESULT_COLUMNS.length} result columns and the hyperparameters)`,
    );
  const header = cells(lines[0].l);
  RESULT_COLUMNS.forEach((c, i) => {
    if (header[i] !== c)
      throw new Error(
        `${where}: header column ${i + 1} is '${header[i] ?? ''}', expected '${c}' (columns: ${RESULT_COLUMNS.join(', ')}, then hyperparameters)`,
      );
  });
  const hypKeys = header.slice(RESULT_COLUMNS.length);
  const seen = new Set<string>();
  for (const k of hypKeys) {
    if (!mutationLimit(k)) throw new Error(`${where}: unknown hyperparameter column '${k}'`);
    if (seen.has(k)) throw new Error(`${where}: hyperparameter column '${k}' appears twice`);
    seen.add(k);
  }
  const rows = lines.slice(1).map(({ l, n }) => {
    const c = cells(l);
    if (c.length !== header.length)
      throw new Error(`${where}:${n}: expected ${header.length} values, found ${c.length}`);
    return c.map((s, j) => {
      const v = parseNumber(s);
      if (Number.isNaN(v) && s.toLowerCase() !== 'nan')
        throw new Error(`${where}:${n}: column '${header[j]}' holds '${s}', not a number`);
      return v;
    });
  });
  return { header, hypKeys, rows };
}

/** The hyp part of a row as a mapping. */
export function rowHyp(p: Population, row: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  p.hypKeys.forEach((k, i) => (out[k] = row[RESULT_COLUMNS.length + i]));
  return out;
}

/** A row for this population's columns: the 7 results, then each hyp column's value from `hyp`. */
export function makeRow(
  p: Population,
  results: readonly number[],
  hyp: Readonly<Record<string, number>>,
  where: string,
): number[] {
  if (results.length !== RESULT_COLUMNS.length)
    throw new Error(`${where}: expected ${RESULT_COLUMNS.length} results, got ${results.length}`);
  return [
    ...results,
    ...p.hypKeys.map((k) => {
      const v = hyp[k];
      if (typeof v !== 'number') throw new Error(`${where}: the trained hyp has no '${k}', a column of this file`);
      return v;
    }),
  ];
}
