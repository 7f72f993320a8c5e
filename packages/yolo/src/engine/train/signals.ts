// Ctrl-C and SIGTERM during training. yolov5 dies where it stands; here the loop stops at the next
// batch boundary and the run ends as a finished one would (stripped weights, resumable state).

/**
 * Listens to SIGINT and SIGTERM while the epoch loop runs and records that one came. In a
 * multi-process run the ranks agree on stopping through the step's all-reduce (step.ts), so all of
 * them stop after the same batch. `dispose()` gives the signals back to Node's default handling.
 */
export class StopSignals {
  /** a signal arrived: stop after the current batch */
  requested = false;
  private readonly onSignal = (): void => {
    this.requested = true;
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
