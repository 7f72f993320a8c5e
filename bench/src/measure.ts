// Timing helpers shared by the benchmarks: warm up, repeat, report the median.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median milliseconds of `reps` runs of fn after `warmup` runs. */
export function timeMs(fn: () => void, reps = 10, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

/** Prints one measurement as a JSON line. */
export function report(m: Record<string, unknown>): void {
  console.log(JSON.stringify(m));
}

/** Median milliseconds of `reps` runs of an async fn after `warmup` runs (one at a time). */
export async function timeMsAsync(fn: () => Promise<unknown>, reps = 10, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}
