// tsyolo train: yolov5 train.py's flags.
import { Command, Option } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { distEnv } from '../distributed/ddp.js';
import { launch } from '../distributed/launch.js';
import { DEFAULT_HYP, latestRun, type TrainOptions, train, trainDefaults } from '../engine/trainer.js';
import { evolve } from '../evolve/evolve.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import {
  batchSizeOrAuto,
  floatIn,
  imgSize,
  intIn,
  intList,
  intsDefault,
  nonNegativeInt,
  port,
  positiveInt,
  seed,
} from './parse.js';

/** train's flags; the action receives them typed (TrainFlags). */
function declareTrain() {
  const d = trainDefaults;
  return new Command('train')
    .description('train a detector (yolov5 train.py)')
    .option('--weights <path>', 'initial weights (transfer learning)', d.weights)
    .option('--cfg <yaml>', 'model config, e.g. yolov5s.yaml', d.cfg)
    .option('--data <yaml>', 'dataset data.yaml')
    .option('--hyp <yaml>', 'hyperparameters', DEFAULT_HYP)
    .option('--epochs <n>', 'total training epochs', positiveInt, d.epochs)
    .option('--batch-size <n>', 'total batch size (-1: AutoBatch)', batchSizeOrAuto, d.batchSize)
    .option('--imgsz, --img <px>', 'train/val image size', imgSize, d.imgsz)
    .addOption(new Option('--img-size <px>', 'same as --imgsz').argParser(imgSize).hideHelp())
    .option('--rect', 'rectangular training')
    .option('--resume [path]', 'resume the newest run, or the given checkpoint (with --epochs N to extend)')
    .option('--nosave', 'only save the final checkpoint')
    .option('--noval', 'only validate the final epoch')
    .option('--noautoanchor', 'disable AutoAnchor')
    .option('--noplots', 'save no plot files')
    .addOption(new Option('--cache [type]', 'cache images in "ram"').choices(['ram', 'disk']).preset('ram'))
    .option('--image-weights', 'weighted image selection for training')
    .option('--device <d>', 'cpu, or cuda device ids (0 or 0,1,2,3)', d.device)
    .option('--multi-scale', 'vary img-size +/- 50%')
    .option('--single-cls', 'train multi-class data as single-class')
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['SGD', 'Adam', 'AdamW']).default(d.optimizer))
    .option('--workers <n>', 'max dataloader workers', nonNegativeInt, d.workers)
    .option('--project <dir>', 'save to project/name', d.project)
    .option('--name <name>', 'save to project/name', d.name)
    .option('--exist-ok', 'existing project/name ok, do not increment')
    .option('--cos-lr', 'cosine LR scheduler')
    .option('--label-smoothing <eps>', 'label smoothing epsilon', floatIn(0, 1), d.labelSmoothing)
    .option(
      '--patience <n>',
      'EarlyStopping patience (epochs without improvement; 0: never stop)',
      nonNegativeInt,
      d.patience,
    )
    .option(
      '--freeze <layers...>',
      'freeze layers: backbone=10, first3=0 1 2',
      intList(nonNegativeInt),
      intsDefault(d.freeze),
    )
    .option(
      '--unfreeze-at <epoch>',
      'train the frozen layers again from this epoch (-1: never)',
      intIn(-1),
      d.unfreezeAt,
    )
    .option('--save-period <n>', 'save a checkpoint every n epochs (-1: never)', intIn(-1), d.savePeriod)
    .option('--seed <n>', 'global training seed', seed, d.seed)
    .option('--sync-bn', 'SyncBatchNorm across processes (multi-process runs)')
    .option('--no-channels-last', 'train in NCHW layout (default: channels-last, faster with oneDNN)')
    .option(
      '--nproc, --nproc-per-node <n>',
      'start n worker processes on this machine (data-parallel training)',
      positiveInt,
    )
    .option('--nnodes <n>', 'machines taking part (with --node-rank, --master-addr, --master-port)', positiveInt, 1)
    .option('--node-rank <n>', "this machine's index among --nnodes", nonNegativeInt, 0)
    .option('--master-addr <host>', 'address of the node running rank 0 (default MASTER_ADDR or 127.0.0.1)')
    .option('--master-port <port>', 'its port (default MASTER_PORT, a free port on one node, 29500 on several)', port)
    .addOption(
      new Option('--local_rank, --local-rank <n>', 'set by torch.distributed.launch; tsyolo reads LOCAL_RANK')
        .argParser(intIn(-1))
        .hideHelp(),
    )
    .option('--evolve [generations]', 'evolve hyperparameters for n generations (default 300)', positiveInt)
    .option('--evolve-population <dir>', 'where evolve.csv lives (default project/name; share it between workers)')
    .option('--quiet', 'no progress bars')
    .option('--json', 'print a JSON summary as the last line');
}

/** train's options as parsed: every flag under its camelCase name, typed from its declaration. */
type TrainFlags = ReturnType<ReturnType<typeof declareTrain>['opts']>;

export function trainCommand(): CommanderCommand {
  return asCommand(declareTrain().action(trainAction));
}

async function trainAction(o: TrainFlags): Promise<void> {
  if (!o.data && !o.resume)
    throw new Error('--data is required (a data.yaml; try `tsyolo data synth --out datasets/synth`)');
  const nproc = o.nprocPerNode ?? 1;
  const batchSize = autoBatch(o.batchSize, nproc > 1 || o.nnodes > 1 || !!distEnv(), !!o.resume);
  if ((nproc > 1 || o.nnodes > 1) && !distEnv()) {
    // the launcher: start the workers with this command line minus the launcher's flags
    const argv = workerArgv(process.argv.slice(1));
    if (o.resume === true) argv.push('--resume', latestRun(o.project));
    const r = await launch({
      nproc,
      nnodes: o.nnodes,
      nodeRank: o.nodeRank,
      masterAddr: o.masterAddr,
      masterPort: o.masterPort,
      argv,
    });
    process.exitCode = r.code;
    return;
  }
  if (o.cache === 'disk') console.log('--cache disk: images are cached in RAM instead');
  let opts = trainOptions(o, batchSize);
  if (o.evolve !== undefined) {
    const r = await evolve(opts, { generations: o.evolve === true ? 300 : o.evolve, dir: o.evolvePopulation });
    if (o.json) emitJson({ command: 'train', evolve: r });
    return;
  }
  if (o.resume) {
    // on resume only the epochs (to extend) and workers are taken from the command line
    const explicit = (k: string): boolean => process.argv.some((a) => a === `--${k}` || a.startsWith(`--${k}=`));
    opts = { resume: opts.resume, verbose: opts.verbose };
    if (explicit('epochs')) opts.epochs = o.epochs;
    if (explicit('workers')) opts.workers = o.workers;
  }
  const r = await train(opts);
  const isMain = (distEnv()?.rank ?? 0) === 0;
  if (o.json && isMain) emitJson({ command: 'train', ...r });
  // interrupted: 130 as shells expect after Ctrl-C; a NaN/inf loss is an error
  if (r.stoppedBy === 'signal') process.exitCode = 130;
  if (r.stoppedBy === 'nan') process.exitCode = 1;
}

/** The flags as train() takes them (--img-size, --img and --imgsz are one size: the hidden --img-size first). */
function trainOptions(o: TrainFlags, batchSize: number): Partial<TrainOptions> {
  return {
    weights: o.weights,
    cfg: o.cfg || (o.weights ? '' : 'yolov5s.yaml'),
    data: o.data,
    hyp: o.hyp,
    epochs: o.epochs,
    batchSize,
    imgsz: o.imgSize ?? o.img,
    rect: !!o.rect,
    resume: o.resume ?? false,
    nosave: !!o.nosave,
    noval: !!o.noval,
    noautoanchor: !!o.noautoanchor,
    noplots: !!o.noplots,
    cache: o.cache ? 'ram' : null,
    imageWeights: !!o.imageWeights,
    device: o.device,
    multiScale: !!o.multiScale,
    singleCls: !!o.singleCls,
    optimizer: o.optimizer,
    workers: o.workers,
    project: o.project,
    name: o.name,
    existOk: !!o.existOk,
    cosLr: !!o.cosLr,
    labelSmoothing: o.labelSmoothing,
    patience: o.patience,
    freeze: o.freeze,
    unfreezeAt: o.unfreezeAt,
    savePeriod: o.savePeriod,
    seed: o.seed,
    syncBn: !!o.syncBn,
    channelsLast: o.channelsLast !== false,
    verbose: !o.quiet,
  };
}

/** AutoBatch sizes the batch to CUDA memory; on the CPU (tsyolo's device) yolov5 uses its default, 16. */
export const AUTOBATCH_CPU_DEFAULT = 16;

function autoBatch(batchSize: number, multiProcess: boolean, resume: boolean): number {
  if (batchSize !== -1 || resume) return batchSize;
  if (multiProcess)
    throw new Error(
      '--batch-size -1 (AutoBatch) works for single-process training only; give the total batch size (e.g. --batch-size 64)',
    );
  console.log(`AutoBatch: CUDA not detected, using default CPU batch-size ${AUTOBATCH_CPU_DEFAULT}`);
  return AUTOBATCH_CPU_DEFAULT;
}

const LAUNCHER_FLAGS = new Set([
  '--nproc',
  '--nproc-per-node',
  '--nnodes',
  '--node-rank',
  '--master-addr',
  '--master-port',
]);

/** The worker's command line: the launcher's flags (and a bare --resume, resolved by the caller) removed. */
export function workerArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.split('=')[0];
    if (LAUNCHER_FLAGS.has(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '--resume' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) continue;
    out.push(a);
  }
  return out;
}
