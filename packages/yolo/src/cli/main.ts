#!/usr/bin/env node
// tsyolo: the command line, with yolov5's flags (train.py → tsyolo train, …).
import { Command } from 'commander';
import { runInfo } from './info.js';
import { imgSize, positiveInt } from './parse.js';
import { describeError } from './errors.js';
import { trainCommand } from './train.js';
import { dataCommand } from './data.js';
import { detectCommand } from './detect.js';
import { valCommand } from './val.js';
import { pruneCommand } from './prune.js';
import { exportCommand } from './export.js';

const program = new Command('tsyolo').description('YOLOv5 in TypeScript on libtorch').showHelpAfterError();

program
  .command('info')
  .description('model summary from a config (layers, parameters, GFLOPs), or what a weights file holds')
  .option('--cfg <yaml>', 'model config: a shipped name (yolov5s.yaml) or a path')
  .option('--weights <file>', 'weights file (.pt, .safetensors, tsyolo checkpoint)')
  .option('--nc <n>', 'number of classes (overrides the config)', positiveInt)
  .option('--img, --imgsz <px>', 'image size for GFLOPs', imgSize, 640)
  .option('--json', 'print a JSON summary as the last line')
  .action((o: { cfg?: string; weights?: string; nc?: number; imgsz: number; json?: boolean }) => runInfo(o));

program.addCommand(trainCommand());
program.addCommand(dataCommand());
program.addCommand(valCommand());
program.addCommand(detectCommand());
program.addCommand(pruneCommand());
program.addCommand(exportCommand());

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`tsyolo: ${describeError(e)}`);
  process.exit(1);
});
