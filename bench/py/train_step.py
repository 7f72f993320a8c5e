#!/usr/bin/python3
"""Same-run PyTorch reference for tsyolo's training-step benchmark (bench/src/train.ts).

An independent reimplementation, written for benchmarking from the published YOLOv5 v7.0
architecture and loss description and from tsyolo's own sources (not derived from the
ultralytics code). It builds the model from tsyolo's config YAML, and times the same step
as train.ts: forward, loss, backward, clip_grad_norm_(10), SGD (nesterov) step,
zero_grad (set to None) and an EMA update, on a fixed random batch with fixed targets.

  /usr/bin/python3 bench/py/train_step.py --model yolov5n --imgsz 320 --batch 16 --threads 1 --steps 5
  ... --rounds R    R rounds of --steps on the same model, one JSON line per round
  ... --serve       stdin lines "THREADS STEPS" -> one JSON line each; exits at EOF
                    (after the model is built it first prints {"ready": true, ...})

Each result line: bench, impl, model, imgsz, batch, threads, unit, value (median ms/step, first
step of the call dropped when it has several), images_per_s, loss0 (the process's first step)
and loss (the call's last step). With manual_seed(0) and the same construction order, the
weights, input and loss0 equal tsyolo's (both draw from libtorch's CPU generator).
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIGS = os.path.join(ROOT, 'packages', 'yolo', 'configs')


# ----------------------------------------------------------------------------- layers

class Conv(nn.Module):
    """Conv2d (no bias, 'same' padding) + BatchNorm2d + SiLU."""

    def __init__(self, c1, c2, k=1, s=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=1.0):
        super().__init__()
        c = int(c2 * e)
        self.cv1 = Conv(c1, c, 1, 1)
        self.cv2 = Conv(c, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """CSP block: two 1x1 branches, n bottlenecks on one, joined by a 1x1 conv."""

    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        c = int(c2 * 0.5)
        self.cv1 = Conv(c1, c, 1, 1)
        self.cv2 = Conv(c1, c, 1, 1)
        self.cv3 = Conv(2 * c, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c, c, shortcut) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    """One max-pool applied three times in a row, the four stages concatenated."""

    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1 = Conv(c1, c, 1, 1)
        self.cv2 = Conv(c * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        a = self.cv1(x)
        b = self.m(a)
        c = self.m(b)
        return self.cv2(torch.cat((a, b, c, self.m(c)), 1))


class Concat(nn.Module):
    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, xs):
        return torch.cat(xs, self.dim)


class Detect(nn.Module):
    """One 1x1 conv per level; training output per level is (bs, na, ny, nx, 5+nc)."""

    def __init__(self, nc, anchors, ch):
        super().__init__()
        self.nc, self.no, self.nl, self.na = nc, nc + 5, len(anchors), len(anchors[0]) // 2
        self.register_buffer('anchors', torch.tensor(anchors, dtype=torch.float32).view(self.nl, -1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        self.stride = []

    def forward(self, xs):
        out = []
        for conv, x in zip(self.m, xs):
            y = conv(x)
            bs, _, ny, nx = y.shape
            out.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        return out

    @torch.no_grad()
    def init_biases(self):
        for conv, s in zip(self.m, self.stride):
            b = conv.bias.view(self.na, -1)
            b[:, 4] += math.log(8 / (640 / s) ** 2)  # about 8 objects per 640 image
            b[:, 5:] += math.log(0.6 / (self.nc - 0.99999))


# ----------------------------------------------------------------------------- model

CHANNEL_MODULES = {'Conv': Conv, 'C3': C3, 'SPPF': SPPF}


def make_divisible(x, d=8):
    return int(math.ceil(x / d) * d)


def build_layers(cfg, ch=3):
    """Parses [from, number, module, args] rows with depth/width scaling (tsyolo's build.ts rules)."""
    nc, anchors, gd, gw = cfg['nc'], cfg['anchors'], cfg['depth_multiple'], cfg['width_multiple']
    no = len(anchors[0]) // 2 * (nc + 5)
    names = {'nc': nc, 'anchors': anchors, 'None': None, 'True': True, 'False': False}
    chs, layers, froms = [], [], []
    for i, (f, n, mod, args) in enumerate(cfg['backbone'] + cfg['head']):
        args = [names.get(a, a) if isinstance(a, str) else a for a in args]
        fl = f if isinstance(f, list) else [f]
        c_in = [ch if (x == -1 and i == 0) else chs[x] if x >= 0 else chs[i + x] for x in fl]
        n = max(math.floor(n * gd + 0.5), 1) if n > 1 else n  # JS Math.round
        if mod in CHANNEL_MODULES:
            c2 = args[0] if args[0] == no else make_divisible(args[0] * gw, 8)
            if mod == 'C3':  # C3 repeats inside: its bottleneck count is n
                args, n = [n, *args[1:]], 1
            else:
                args = args[1:]
            make = lambda m=CHANNEL_MODULES[mod], c1=c_in[0], c2=c2, a=args: m(c1, c2, *a)
        elif mod == 'Concat':
            c2, make = sum(c_in), lambda a=args: Concat(*a)
        elif mod == 'Detect':
            c2, make = None, lambda a=args, c=c_in: Detect(a[0], a[1], c)
        elif mod == 'nn.Upsample':
            c2, make = c_in[0], lambda a=args: nn.Upsample(*a)
        else:
            raise ValueError(f'layer {i}: module {mod} is not supported here')
        layer = make() if n == 1 else nn.Sequential(*(make() for _ in range(n)))
        layers.append(layer)
        froms.append(f)
        chs.append(c2)
    return layers, froms


class DetectionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        layers, self.froms = build_layers(cfg)
        self.model = nn.ModuleList(layers)
        self.save = {(x % i) for i, f in enumerate(self.froms)
                     for x in (f if isinstance(f, list) else [f]) if x != -1}
        det = self.model[-1]
        s = 256  # strides from a dummy training-mode forward, as tsyolo does (moves BN stats once)
        det.stride = [s / o.shape[2] for o in self.forward(torch.zeros(1, 3, s, s))]
        det.anchors /= torch.tensor(det.stride).view(-1, 1, 1)  # pixels -> grid units
        det.init_biases()
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps, m.momentum = 1e-3, 0.03

    def forward(self, x):
        outs = []
        for i, (layer, f) in enumerate(zip(self.model, self.froms)):
            if f != -1:
                x = outs[f] if isinstance(f, int) else [x if j == -1 else outs[j] for j in f]
            x = layer(x)
            outs.append(x if i in self.save else None)
        return x


# ----------------------------------------------------------------------------- loss

def ciou(b1, b2, eps=1e-7):
    """Complete IoU of paired xywh boxes (n, 4) -> (n, 1); the aspect term's alpha has no gradient."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = b1.chunk(4, -1), b2.chunk(4, -1)
    l1, r1, t1, d1 = x1 - w1 / 2, x1 + w1 / 2, y1 - h1 / 2, y1 + h1 / 2
    l2, r2, t2, d2 = x2 - w2 / 2, x2 + w2 / 2, y2 - h2 / 2, y2 + h2 / 2
    inter = (torch.min(r1, r2) - torch.max(l1, l2)).clamp(0) * (torch.min(d1, d2) - torch.max(t1, t2)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(r1, r2) - torch.min(l1, l2)
    chh = torch.max(d1, d2) - torch.min(t1, t2)
    c2 = cw ** 2 + chh ** 2 + eps  # enclosing box diagonal squared
    rho2 = ((l2 + r2 - l1 - r1) ** 2 + (t2 + d2 - t1 - d1) ** 2) / 4  # centre distance squared
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


NEIGHBOURS = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float32) * 0.5


class ComputeLoss:
    """Same semantics as tsyolo's loss/compute-loss.ts (fl_gamma 0, no autobalance, gr 1)."""

    def __init__(self, model, hyp):
        det = model.model[-1]
        self.det, self.hyp = det, hyp
        self.na, self.nl, self.nc = det.na, det.nl, det.nc
        self.bce_cls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([hyp['cls_pw']]))
        self.bce_obj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([hyp['obj_pw']]))
        eps = hyp.get('label_smoothing', 0.0)
        self.cp, self.cn = 1.0 - 0.5 * eps, 0.5 * eps
        self.balance = [4.0, 1.0, 0.4] if self.nl == 3 else [4.0, 1.0, 0.25, 0.06, 0.02]

    def __call__(self, p, targets):
        lbox, lobj, lcls = torch.zeros(1), torch.zeros(1), torch.zeros(1)
        tcls, tbox, indices, anch = self.build_targets(p, targets)
        for i, pi in enumerate(p):
            b, a, gj, gi = indices[i]
            tobj = torch.zeros(pi.shape[:4], dtype=pi.dtype)
            if b.shape[0]:
                pxy, pwh, _, pcls = pi[b, a, gj, gi].split((2, 2, 1, self.nc), 1)
                pbox = torch.cat((pxy.sigmoid() * 2 - 0.5, (pwh.sigmoid() * 2) ** 2 * anch[i]), 1)
                iou = ciou(pbox, tbox[i]).squeeze()
                lbox = lbox + (1.0 - iou).mean()
                tobj[b, a, gj, gi] = iou.detach().clamp(0).to(tobj.dtype)  # last write wins
                if self.nc > 1:
                    t = torch.full_like(pcls, self.cn).scatter_(1, tcls[i].view(-1, 1), self.cp)
                    lcls = lcls + self.bce_cls(pcls, t)
            lobj = lobj + self.bce_obj(pi[..., 4], tobj) * self.balance[i]
        lbox, lobj, lcls = lbox * self.hyp['box'], lobj * self.hyp['obj'], lcls * self.hyp['cls']
        return (lbox + lobj + lcls) * p[0].shape[0], torch.cat((lbox, lobj, lcls)).detach()

    @torch.no_grad()
    def build_targets(self, p, targets):
        """Each target against every anchor of each level; kept within anchor_t; centre cell + 2 neighbours."""
        na, nt = self.na, targets.shape[0]
        ai = torch.arange(na, dtype=torch.float32).view(na, 1).repeat(1, nt)
        all_t = torch.cat((targets.float().repeat(na, 1, 1), ai[..., None]), 2)  # (na, nt, 7)
        tcls, tbox, indices, anch = [], [], [], []
        for i in range(self.nl):
            anchors = self.det.anchors[i]
            ny, nx = p[i].shape[2], p[i].shape[3]
            t = all_t * torch.tensor([1, 1, nx, ny, nx, ny, 1], dtype=torch.float32)
            offsets = None
            if nt:
                r = t[..., 4:6] / anchors[:, None]
                t = t[torch.max(r, 1 / r).amax(2) < self.hyp['anchor_t']]
                gxy = t[:, 2:4]
                gxi = torch.tensor([nx, ny], dtype=torch.float32) - gxy
                near = ((gxy % 1 < 0.5) & (gxy > 1)).T  # left, up
                far = ((gxi % 1 < 0.5) & (gxi > 1)).T  # right, down
                sel = torch.cat((torch.ones(1, gxy.shape[0], dtype=torch.bool), near, far), 0)
                t = t.repeat(5, 1, 1)[sel]
                offsets = (torch.zeros_like(gxy)[None] + NEIGHBOURS[:, None])[sel]
            else:
                t = all_t[0]
            bc, gxy, gwh, a = t.chunk(4, 1)
            a, (b, c) = a.long().view(-1), bc.long().T
            gij = (gxy - offsets if offsets is not None else gxy).long()
            gi, gj = gij[:, 0], gij[:, 1]  # views: the clamps below change gij too
            gj.clamp_(0, ny - 1)
            gi.clamp_(0, nx - 1)
            indices.append((b, a, gj, gi))
            tbox.append(torch.cat((gxy - gij, gwh), 1))
            anch.append(anchors[a])
            tcls.append(c)
        return tcls, tbox, indices, anch


# ----------------------------------------------------------------------------- optimizer, EMA

def smart_optimizer(model, lr=0.01, momentum=0.937, decay=0.0005):
    """tsyolo's smartOptimizer('SGD'): biases (no decay), weights (decay), BN weights (no decay)."""
    biases, weights, norms = [], [], []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if name == 'bias':
                biases.append(p)
            elif name == 'weight' and isinstance(m, nn.BatchNorm2d):
                norms.append(p)
            else:
                weights.append(p)
    opt = torch.optim.SGD(biases, lr=lr, momentum=momentum, nesterov=True)
    opt.add_param_group({'params': weights, 'weight_decay': decay})
    opt.add_param_group({'params': norms, 'weight_decay': 0.0})
    return opt


class ModelEMA:
    """EMA of every float state_dict entry; decay ramps as decay * (1 - exp(-updates / tau))."""

    def __init__(self, model, decay=0.9999, tau=2000):
        self.ema = copy.deepcopy(model).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.ema.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)


# ----------------------------------------------------------------------------- benchmark

def fixed_targets(bs):
    """Six fixed boxes per image, [image, class, x, y, w, h] (train.ts's targets())."""
    rows = [[i, k % 80, 0.1 + 0.13 * k, 0.2 + 0.1 * k, 0.05 + 0.04 * k, 0.06 + 0.05 * k]
            for i in range(bs) for k in range(6)]
    return torch.tensor(rows, dtype=torch.float32)


def median(xs):
    return sorted(xs)[len(xs) // 2]  # the upper median, as bench/src/measure.ts


class Bench:
    def __init__(self, name, imgsz, bs):
        with open(os.path.join(CONFIGS, 'hyps', 'hyp.scratch-low.yaml')) as fh:
            hyp = yaml.safe_load(fh)
        with open(os.path.join(CONFIGS, 'models', f'{name}.yaml')) as fh:
            cfg = yaml.safe_load(fh)
        torch.manual_seed(0)  # then the same draws in the same order as train.ts
        self.model = DetectionModel(cfg).train()
        hyp['obj'] = hyp['obj'] * (imgsz / 640) ** 2
        self.opt = smart_optimizer(self.model, 0.01, 0.937, 0.0005)
        self.ema = ModelEMA(self.model)
        self.loss = ComputeLoss(self.model, hyp)
        self.x = torch.rand(bs, 3, imgsz, imgsz)
        self.t = fixed_targets(bs)
        self.name, self.imgsz, self.bs, self.loss0 = name, imgsz, bs, None

    def step(self):
        loss, _ = self.loss(self.model(self.x), self.t)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)  # tsyolo's zeroGrad() default
        self.ema.update(self.model)
        return loss

    def run(self, threads, steps):
        """Times `steps` steps; drops the first when there are several; one JSON line."""
        torch.set_num_threads(threads)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            loss = self.step()
            times.append((time.perf_counter() - t0) * 1000)
            if self.loss0 is None:
                self.loss0 = loss.item()
        ms = median(times[1:] if len(times) > 1 else times)
        return {'bench': 'train_step', 'impl': 'pytorch', 'model': self.name, 'imgsz': self.imgsz,
                'batch': self.bs, 'threads': torch.get_num_threads(), 'unit': 'ms/step',
                'value': round(ms, 1), 'images_per_s': round(self.bs * 1000 / ms, 2),
                'loss0': self.loss0, 'loss': loss.item()}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def serve(bench):
    """stdin lines 'THREADS STEPS' -> one JSON line each; blank lines skipped; exits at EOF."""
    emit({'ready': True, 'impl': 'pytorch', 'torch': torch.__version__})
    for line in iter(sys.stdin.readline, ""):  # line by line, no read-ahead
        parts = line.split()
        if not parts:
            continue
        try:
            threads, steps = int(parts[0]), int(parts[1])
            emit(bench.run(threads, steps))
        except (ValueError, IndexError) as e:
            emit({'error': f'bad request {line.strip()!r}: {e}'})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='yolov5n')
    ap.add_argument('--imgsz', type=int, default=320)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--serve', action='store_true', help='read "THREADS STEPS" lines from stdin')
    ap.add_argument('--params', action='store_true', help='print the parameter count and exit')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    bench = Bench(a.model, a.imgsz, a.batch)
    if a.params:
        emit({'model': a.model, 'params': sum(p.numel() for p in bench.model.parameters())})
    elif a.serve:
        serve(bench)
    else:
        for r in range(a.rounds):
            emit({**bench.run(a.threads, a.steps), **({'round': r} if a.rounds > 1 else {})})


if __name__ == '__main__':
    main()
