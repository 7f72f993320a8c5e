// Shutdown on signals: the first SIGTERM (or SIGINT) drains the server (no new connections, every
// admitted request answered) and hands over its summary; a second one while draining exits at once.
import type { ServeHandle, ServeSummary } from './server.js';

export interface ShutdownOptions {
  signals?: NodeJS.Signals[];
  /** called once the server has drained (the CLI prints the summary and exits 0) */
  onDrained: (summary: ServeSummary, signal: NodeJS.Signals) => void;
  /** called when draining fails or a second signal arrives (default: exit 1) */
  onAbort?: (reason: string) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function onShutdownSignals(handle: ServeHandle, o: ShutdownOptions): () => void {
  const signals = o.signals ?? ['SIGTERM', 'SIGINT'];
  const abort =
    o.onAbort ??
    ((reason: string) => {
      console.error(`tsyolo serve: ${reason}`);
      process.exit(1);
    });
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (draining) {
      abort(`${signal} while draining: exiting without waiting`);
      return;
    }
    draining = true;
    handle.close().then(
      (summary) => o.onDrained(summary, signal),
      (e: unknown) => abort(`draining failed: ${(e as Error).message}`),
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
