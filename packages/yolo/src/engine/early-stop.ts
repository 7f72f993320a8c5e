// Early stopping: stop after `patience` epochs without a fitness improvement.
export class EarlyStopping {
  bestFitness = 0;
  bestEpoch = 0;
  possibleStop = false;
  constructor(readonly patience = 30) {
    if (!(patience > 0)) this.patience = Infinity;
  }
  /** Records this epoch's fitness; true when training should stop. */
  step(epoch: number, fitness: number): boolean {
    if (fitness >= this.bestFitness) {
      this.bestEpoch = epoch;
      this.bestFitness = fitness;
    }
    const delta = epoch - this.bestEpoch;
    this.possibleStop = delta >= this.patience - 1;
    return delta >= this.patience;
  }
  message(): string {
    return `early stop: fitness has not improved for ${this.patience} epochs; the best epoch was ${this.bestEpoch} (kept as weights/best)`;
  }
}
