// tsyolo data synth: a deterministic synthetic dataset of shapes in YOLO format.
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { SYNTH_CLASSES, synthesizeDataset } from '../data/synth.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { intIn, MAX_IMGSZ, nonNegativeInt, seed } from './parse.js';

export function dataCommand(): CommanderCommand {
  const data = new Command('data').description('datasets');
  data
    .command('synth')
    .description('write a synthetic dataset of shapes (images, labels, data.yaml)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--train <n>', 'training images', nonNegativeInt, 800)
    .option('--val <n>', 'validation images', nonNegativeInt, 200)
    .option('--img <px>', 'image size', intIn(32, MAX_IMGSZ), 320)
    .option('--classes <k>', 'number of shape classes', intIn(1, SYNTH_CLASSES.length), 6)
    .option('--seed <n>', 'seed', seed, 0)
    .option('--json', 'print a JSON summary as the last line')
    .action(async (o) => {
      const t0 = performance.now();
      const r = await synthesizeDataset({
        out: o.out,
        train: o.train,
        val: o.val,
        img: o.img,
        classes: o.classes,
        seed: o.seed,
      });
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `wrote ${o.train} train and ${o.val} val images (${o.classes} classes) to ${o.out} in ${seconds.toFixed(1)} s`,
      );
      if (o.json) emitJson({ command: 'data synth', ...r, seconds });
    });
  return asCommand(data);
}
