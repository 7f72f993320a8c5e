// A numeric table saved as comma-separated text with a header line and space-padded cells, as yolov5
// writes results.csv and evolve.csv.
import { readFileSync } from 'node:fs';

/** The header names (trimmed) and the rows as numbers. */
export function readCsvTable(file: string): { header: string[]; rows: number[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return {
    header: lines[0].split(',').map((s) => s.trim()),
    rows: lines.slice(1).map((l) => l.split(',').map(Number)),
  };
}
