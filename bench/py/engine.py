"""The calls of bench/src/tensor.ts in PyTorch, for same-run ratios: `engine.py THREADS` prints one JSON
line with µs per 1-element add and ms per conv2d forward+backward (16x32x80x80, 64 3x3 filters, pad 1),
measured the same way (add: median of 5 runs of 200k after 2; conv: median of 8 after 2)."""
import json
import sys
import time

import torch


def median(xs):  # the upper median, as bench/src/measure.ts
    return sorted(xs)[len(xs) // 2]


def add_us(n=200_000):
    a, b = torch.tensor([1.0]), torch.tensor([2.0])
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            torch.add(a, b)
        runs.append((time.perf_counter() - t) / n * 1e6)
    return median(runs[2:])


def conv_ms(reps=8, warmup=2):
    x = torch.randn(16, 32, 80, 80, requires_grad=True)
    w = (torch.randn(64, 32, 3, 3) * 0.05).requires_grad_()
    runs = []
    for i in range(reps + warmup):
        t = time.perf_counter()
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()
        x.grad = w.grad = None
        if i >= warmup:
            runs.append((time.perf_counter() - t) * 1e3)
    return median(runs)


if __name__ == '__main__':
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    print(json.dumps({'impl': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'add_us': add_us(), 'conv_ms': conv_ms()}), flush=True)
