// tsyolo prune: L1-unstructured pruning of every convolution (yolov5's torch_utils.prune), saved as a
// tsyolo checkpoint.

import { basename, dirname, extname, join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { saveCheckpoint } from '../models/checkpoint.js';
import { prune } from '../models/prune.js';
import { loadModel } from '../models/weights.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { floatIn } from './parse.js';

/** Default output: the weights' name with '-pruned' before the extension, as a .safetensors checkpoint. */
export function prunedPath(weights: string): string {
  const ext = extname(weights);
  return join(dirname(weights), `${basename(weights, ext)}-pruned.safetensors`);
}

export function pruneCommand(): CommanderCommand {
  const cmd = new Command('prune')
    .description('zero the smallest convolution weights (L1 unstructured, per layer) and save a tsyolo checkpoint')
    .requiredOption('--weights <file>', 'model weights')
    .option('--amount <fraction>', 'fraction of each convolution weight to zero', floatIn(0, 1), 0.3)
    .option(
      '--cfg <yaml>',
      'model config, for weights files that do not carry one (plain state dicts, bare safetensors)',
    )
    .option('--out <file>', 'output checkpoint (default: <weights>-pruned.safetensors)')
    .option('--json', 'print a JSON summary as the last line')
    .action((o) => {
      const model = loadModel(o.weights, { cfg: o.cfg });
      try {
        const r = prune(model, o.amount);
        const out = o.out ?? prunedPath(o.weights);
        saveCheckpoint(out, model, { extra: { pruned: { amount: o.amount, sparsity: r.sparsity, from: o.weights } } });
        console.log(`Pruning model... ${r.layers.length} convolutions, ${o.amount} of each`);
        console.log(
          `Model pruned to ${r.sparsity.toPrecision(3)} global sparsity (convolution weights; ${r.paramSparsity.toPrecision(3)} of all parameters)`,
        );
        console.log(`Saved ${out}`);
        if (o.json)
          emitJson({
            command: 'prune',
            weights: o.weights,
            out,
            amount: o.amount,
            sparsity: r.sparsity,
            paramSparsity: r.paramSparsity,
            layers: r.layers.length,
          });
      } finally {
        model.dispose();
      }
    });
  return asCommand(cmd);
}
