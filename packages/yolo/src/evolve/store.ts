// evolve.csv on disk: reading it, and adding a generation under the file lock — read the current
// file, append the row, write the whole file atomically (temp + fsync + rename), so no reader ever
// sees half a row and concurrent workers never lose one. hyp_evolved.yaml is refreshed alongside.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { g5 } from '../util/python.js';
import { emptyPopulation, formatPopulation, makeRow, type Population, parseNumber, parsePopulation } from './csv.js';
import { type LockOptions, withFileLock } from './lock.js';
import { bestOf, evolvedYaml } from './report.js';

export const EVOLVE_CSV = 'evolve.csv';
export const EVOLVED_YAML = 'hyp_evolved.yaml';

/** The population in `csv`, or null when the file does not exist yet. */
export function readPopulation(csv: string): Population | null {
  if (!existsSync(csv)) return null;
  return parsePopulation(readFileSync(csv, 'utf8'), csv);
}

export interface AddGenerationOptions {
  /** hyp columns of a new file */
  hypKeys: readonly string[];
  /** hyp keys the file does not evolve, for hyp_evolved.yaml */
  base?: Readonly<Record<string, number>>;
  lock?: LockOptions;
}

/** Appends one generation (7 results + the hyp) to `csv` under its lock; returns the population written. */
export async function addGeneration(
  csv: string,
  results: readonly number[],
  hyp: Readonly<Record<string, number>>,
  o: AddGenerationOptions,
): Promise<Population> {
  return withFileLock(
    csv,
    () => {
      const p = readPopulation(csv) ?? emptyPopulation(o.hypKeys);
      // as the file will hold it (5 significant digits), so the yaml and the result agree with it
      p.rows.push(makeRow(p, results, hyp, csv).map((v) => parseNumber(g5(v).trim())));
      writeFileAtomic(csv, new TextEncoder().encode(formatPopulation(p)));
      const best = bestOf(p, o.base);
      if (best) writeFileAtomic(join(dirname(csv), EVOLVED_YAML), new TextEncoder().encode(evolvedYaml(p, best)));
      return p;
    },
    o.lock,
  );
}
