// evolve.png for an evolve.csv: the population read here, drawn by plots/evolve.ts.
import { dirname, join } from 'node:path';
import { plotEvolution } from '../plots/evolve.js';
import { RESULT_COLUMNS } from './meta.js';
import { bestRowIndex, rowFitness } from './select.js';
import { readPopulation } from './store.js';

/** Draws evolve.png (yolov5's plot_evolve) from an evolve.csv (default: next to it). */
export async function plotEvolve(csvPath: string, outPng = join(dirname(csvPath), 'evolve.png')): Promise<void> {
  const p = readPopulation(csvPath);
  if (!p?.rows.length) throw new Error(`${csvPath}: no generations to plot`);
  const values = p.hypKeys.map((_, j) => p.rows.map((r) => r[RESULT_COLUMNS.length + j]));
  await plotEvolution(
    { hypKeys: p.hypKeys, values, fitness: p.rows.map(rowFitness), best: bestRowIndex(p.rows) },
    outPng,
  );
}
