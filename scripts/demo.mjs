// The demo: what tsyolo can do so far, end to end on this machine.
// (Training, validation, detection and export join as the yolo package grows.)
import { F, getNumThreads, libtorchVersion, loadPt, manualSeed, nn, optim, rand, randn, stateDictFromModule, tidy } from '@tsyolo/torch';
import { existsSync } from 'node:fs';

console.log(`libtorch ${libtorchVersion()}, ${getNumThreads()} threads`);
const ckpt = '../shared/fixtures/yolov5n/yolov5n.pt';
if (existsSync(ckpt)) {
  const pt = loadPt(ckpt);
  const sd = stateDictFromModule(pt.get('model'));
  const n = [...sd.values()].reduce((a, t) => a + t.numel, 0);
  console.log(`${ckpt}: epoch ${pt.get('epoch')}, ${sd.size} tensors, ${n.toLocaleString()} values`);
}
manualSeed(0);
const net = new nn.Sequential(new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.SiLU(), new nn.Conv2d(16, 1, 1));
const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
const x = randn([8, 3, 32, 32]);
const y = x.mean(1, true).gt(0).float();
for (let step = 0; step <= 100; step++) {
  tidy(() => {
    const loss = F.binaryCrossEntropyWithLogits(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (step % 25 === 0) console.log(`step ${step}: loss ${loss.item().toFixed(4)}`);
  });
}
