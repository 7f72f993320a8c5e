// CLI output: human lines on stdout, and with --json a final JSON summary line.
export interface OutputOptions {
  json?: boolean;
}

/** One JSON line on stdout (any JSON-serializable object: a summary, one image's detections, ...). */
export function emitJson(summary: object): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
