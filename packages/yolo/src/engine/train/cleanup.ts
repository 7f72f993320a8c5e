// Releasing what a stage acquired, whichever way the stage ends (return, early stop, an
// exception during setup or in the middle of an epoch).

type Release = () => void | Promise<void>;

/**
 * A stack of release actions. `defer` one right after acquiring a resource; `release()` (from a
 * finally) runs them last-in first-out, each exactly once, every one even when an earlier one
 * throws; the first error is rethrown after all have run.
 */
export class Cleanup {
  private readonly actions: Release[] = [];

  defer(action: Release): void {
    this.actions.push(action);
  }

  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (let action = this.actions.pop(); action; action = this.actions.pop()) {
      try {
        await action();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}
