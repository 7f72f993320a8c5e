// A worker for ddp.test.ts: 5 SGD steps of yolov5n on 16 images per step, either in one process
// (WORLD_SIZE unset) or data-parallel (each rank takes its share of the same order). Rank 0
// writes the final parameters to $OUT/params-<world>[-syncbn][-float64].safetensors. DTYPE=float64
// runs the same steps in float64 (one process): the reference both float32 runs are measured against.
import { join } from 'node:path';
import { manualSeed, nn, noGrad, optim, randn, saveSafetensors, stack, type Tensor, tidy } from '@tsyolo/torch';
import { epochOrder } from '../src/data/sampler.js';
import { DDP, distEnv } from '../src/distributed/ddp.js';
import { DetectionModel, loadConfig } from '../src/index.js';

const syncBn = process.argv[2] === 'syncbn';
const float64 = process.env.DTYPE === 'float64';
const e = distEnv();
const ddp = e ? DDP.fromEnv(e, 60_000) : null;
const world = ddp?.worldSize ?? 1;
const rank = ddp?.rank ?? 0;

manualSeed(0);
const model = new DetectionModel(loadConfig('yolov5n.yaml'), { nc: 3 });
// a different initialisation on ranks > 0: the broadcast from rank 0 must fix it
if (rank > 0) tidy(() => noGrad(() => model.parameters()[0].add_(1)));
manualSeed(1);
const images = tidy(() => randn([80, 3, 64, 64]).sigmoid());
if (float64) model.double();
const input = (x: Tensor): Tensor => (float64 ? x.double() : x);
if (ddp) ddp.broadcastModule(model);
model.train();
if (syncBn) {
  if (ddp) nn.convertSyncBatchNorm(model, ddp.pg);
} else {
  for (const [, m] of model.namedModules()) if (m instanceof nn.BatchNorm2d) m.eval();
}
const opt = new optim.SGD(model.parameters(), { lr: Number(process.env.LR ?? 0.001), momentum: 0.9 });
const order = epochOrder(80, 0, { shuffle: true, seed: 3, rank, worldSize: world });
const per = 16 / world;
for (let step = 0; step < Number(process.env.STEPS ?? 5); step++) {
  tidy(() => {
    const idx = order.slice(step * per, (step + 1) * per);
    const x = stack(idx.map((i) => images.index(i)));
    const out = model.forward(input(x)) as Tensor[];
    // a loss that is a mean over samples, so that averaging rank gradients is exact
    const perSample = out.map((p) => p.sigmoid().sub(0.5).square().sum([1, 2, 3, 4]));
    const loss = perSample.reduce((a, b) => a.add(b)).mean();
    loss.backward();
    if (ddp) ddp.averageGradients(model.parameters());
    opt.step();
    opt.zeroGrad();
  });
}
if (rank === 0) {
  const sd = new Map<string, Tensor>();
  for (const [k, v] of model.stateDict()) sd.set(k, v);
  saveSafetensors(
    join(process.env.OUT!, `params-${world}${syncBn ? '-syncbn' : ''}${float64 ? '-float64' : ''}.safetensors`),
    sd,
  );
}
ddp?.destroy();
