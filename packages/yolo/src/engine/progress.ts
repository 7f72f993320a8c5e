// The per-epoch progress bar (cli-progress): epoch, losses, instances, image size.
import cliProgress from 'cli-progress';

export class EpochProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private last = '';
  constructor(
    readonly epoch: number,
    readonly epochs: number,
    readonly total: number,
    verbose: boolean,
    /** print nothing at all (ranks other than 0) */
    private readonly silent = false,
  ) {
    const tty = verbose && !silent && process.stdout.isTTY;
    this.bar = tty
      ? new cliProgress.SingleBar(
          {
            format:
              '{epoch} {box} {obj} {cls} {inst} {size}: {bar} {value}/{total} [{duration_formatted}<{eta_formatted}]',
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    if (verbose && !silent)
      console.log(
        `${'Epoch'.padStart(10)}${'box_loss'.padStart(11)}${'obj_loss'.padStart(11)}${'cls_loss'.padStart(11)}${'Instances'.padStart(11)}${'Size'.padStart(11)}`,
      );
    this.bar?.start(total, 0, this.fields([0, 0, 0], 0, 0));
  }
  private fields(m: number[], inst: number, size: number): Record<string, string> {
    return {
      epoch: `${this.epoch}/${this.epochs - 1}`.padStart(10),
      box: m[0].toFixed(4).padStart(10),
      obj: m[1].toFixed(4).padStart(10),
      cls: m[2].toFixed(4).padStart(10),
      inst: String(inst).padStart(10),
      size: String(size).padStart(10),
    };
  }
  update(i: number, mloss: number[], instances: number, size: number): void {
    const f = this.fields(mloss, instances, size);
    this.last = Object.values(f).join(' ');
    this.bar?.update(i + 1, f);
  }
  done(): void {
    if (this.bar) this.bar.stop();
    else if (this.last && !this.silent) console.log(this.last);
  }
}
