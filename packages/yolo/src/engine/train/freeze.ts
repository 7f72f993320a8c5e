// --freeze (yolov5's "Freeze" section of train()): the listed layers get no gradients; with
// --unfreeze-at (tsyolo's two-stage freezing) they train again from that epoch.
import type { DetectionModel } from '../../models/model.js';
import type { Log, Run } from './context.js';

/** Parameter name prefixes of the frozen layers: --freeze 10 is layers 0–9, --freeze 0 3 5 those three. */
export function freezePrefixes(freeze: number[]): string[] {
  const layers = freeze.length > 1 ? freeze : Array.from({ length: freeze[0] ?? 0 }, (_, i) => i);
  return layers.map((i) => `model.${i}.`);
}

/** Turns gradients off (frozen) or back on for every parameter under the prefixes. */
export function setFrozen(model: DetectionModel, prefixes: string[], frozen: boolean, log?: Log): void {
  for (const [name, param] of model.namedParameters()) {
    if (prefixes.some((prefix) => name.startsWith(prefix))) {
      param.requiresGrad_(!frozen);
      if (frozen) log?.(`freezing ${name}`);
    }
  }
}

/** At the --unfreeze-at epoch, the frozen layers train again. */
export function unfreezeIfDue(run: Run, epoch: number): void {
  const { opts, frozenLayers } = run;
  if (opts.unfreezeAt >= 0 && epoch === opts.unfreezeAt && frozenLayers.length) {
    setFrozen(run.model, frozenLayers, false);
    run.log(`epoch ${epoch}: unfreezing ${frozenLayers.length} layers`);
  }
}
