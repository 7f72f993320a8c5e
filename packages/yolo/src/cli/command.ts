// Commands are declared with @commander-js/extra-typings, so that each action's options are typed from
// the .option() declarations and their parsers (parse.ts). The command tree (main.ts) and the tests
// take commander's own Command type: at run time both are the same class.

import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { Command } from 'commander';

/** A typed command as commander's Command (checked at run time, not cast). */
export function asCommand(cmd: CommandUnknownOpts): Command {
  if (!(cmd instanceof Command)) throw new Error(`${cmd.name()}: not a commander Command`);
  return cmd;
}
