#!/usr/bin/env node
// tsyolo: the command line, with yolov5's flags (train.py → tsyolo train, …).
import { Command } from 'commander';
import { dataCommand } from './data.js';
import { detectCommand } from './detect.js';
import { describeError } from './errors.js';
import { exportCommand } from './export.js';
import { infoCommand } from './info.js';
import { pruneCommand } from './prune.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { valCommand } from './val.js';

const program = new Command('tsyolo').description('YOLOv5 in TypeScript on libtorch').showHelpAfterError();

// info as `program.command('info')` declared it: with the program's settings (help after an error)
program.addCommand(infoCommand().copyInheritedSettings(program));

program.addCommand(trainCommand());
program.addCommand(dataCommand());
program.addCommand(valCommand());
program.addCommand(detectCommand());
program.addCommand(pruneCommand());
program.addCommand(exportCommand());
program.addCommand(serveCommand());

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`tsyolo: ${describeError(e)}`);
  process.exit(1);
});
