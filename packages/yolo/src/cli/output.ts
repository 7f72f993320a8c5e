// CLI output: human lines on stdout, and with --json a final JSON summary line.
export interface OutputOptions {
  json?: boolean;
}

export function emitJson(summary: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
