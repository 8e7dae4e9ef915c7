#!/usr/bin/env python3
"""The PyTorch side of `bin/bench --vs-pytorch` (experiments/.../bench/TorchComparison.java): training steps of
the same workloads, with the same shapes, on the CPU.

PyTorch is never a dependency of the build or the tests: this script runs only when a python3 that can
`import torch` is found (OPTLAB_TORCH_PYTHON, or the places TorchComparison searches).

The models are the reference definitions of nn/src/test/resources/golden/reference_models.py (the ones the
golden files and the checkpoint tests use, mirroring the Java models layer for layer); the character LSTM is
written out here because DeepOBS's model has four dropouts (keep 0.8 on each cell's input and output, the first
layer's output dropped twice) that the reference omits, and OptLab's CharLstm runs them.

One step is what OptLab's ModelStepBenchmark.step does: forward in training mode, mean softmax cross-entropy,
the loss read back (loss.item()), zero the gradients, backward, the optimizer's step. Batches are synthetic and
made once: N(0, 1) pixels and labels i mod classes; tokens (7i + 3) mod 83 and targets (5i + 1) mod 83.

Two modes:
  torch_steps.py --workloads resnet20,charlstm --rounds 3 [--threads T] [--warmup W] [--steps S]
      runs each workload's rounds and prints one line per round;
  torch_steps.py --serve [--threads T]
      reads `run WORKLOAD WARMUP STEPS ROUND` lines (and `warm WORKLOAD STEPS`: untimed steps, then a fresh model)
      on stdin and answers each with one line (the Java side
      alternates its own rounds with these); `quit` or end of input stops it.
Every measurement line is space-separated key=value pairs, beginning with engine=pytorch:
  engine=pytorch workload=resnet20 round=1 items=128 unit=images/s steps=5 median_ms=... mean_ms=... min_ms=...
  throughput=... loss=...
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'nn', 'src', 'test', 'resources', 'golden'))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from reference_models import CifarResNet, DenseNetBC, SimpleCnn  # noqa: E402


class DeepObsCharLstm(nn.Module):
    """DeepOBS tolstoi_char_rnn: embedding 128 -> 2 x LSTM(128), dropout (p 0.2) on each cell's input and output
    -> linear to the vocabulary at every position (as OptLab's CharLstm; one bias pair per layer here, the cost
    of which is one vector add per step)."""

    def __init__(self, vocab, embed=128, hidden=128, p=0.2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm1 = nn.LSTM(embed, hidden)  # time-major (t, n, .)
        self.lstm2 = nn.LSTM(hidden, hidden)
        self.fc = nn.Linear(hidden, vocab)
        self.p = p

    def forward(self, tokens):  # (n, t) -> logits (n, t, vocab)
        x = F.dropout(self.embedding(tokens.t()), self.p, self.training)
        out, _ = self.lstm1(x)
        out = F.dropout(F.dropout(out, self.p, self.training), self.p, self.training)
        out, _ = self.lstm2(out)
        out = F.dropout(out, self.p, self.training)
        return self.fc(out).transpose(0, 1)


# name -> (model factory, kind, batch, per-item shape or sequence length, classes, optimizer); the Java side's
# TorchComparison.WORKLOADS holds the same table
WORKLOADS = {
    'fmnist_2c2d': (SimpleCnn, 'image', 256, (1, 28, 28), 10, 'adam'),
    'resnet20': (lambda: CifarResNet(20, bn=True, num_classes=10), 'image', 128, (3, 32, 32), 10, 'momentum'),
    'resnet56': (lambda: CifarResNet(56, bn=True, num_classes=10), 'image', 128, (3, 32, 32), 10, 'momentum'),
    'resnet20_nobn': (lambda: CifarResNet(20, bn=False, num_classes=10), 'image', 128, (3, 32, 32), 10, 'momentum'),
    'densenet_bc40': (lambda: DenseNetBC(40, growth=12, bn=True, num_classes=100), 'image', 64, (3, 32, 32), 100, 'momentum'),
    'charlstm': (lambda: DeepObsCharLstm(83), 'tokens', 50, 50, 83, 'adam'),
    'charlstm_32x64': (lambda: DeepObsCharLstm(83), 'tokens', 32, 64, 83, 'adam'),
}


class Workload:
    def __init__(self, name, seed=0):
        factory, kind, batch, shape, classes, opt = WORKLOADS[name]
        torch.manual_seed(seed)
        self.name = name
        self.model = factory()
        self.model.train()
        if opt == 'adam':  # OptLab's choi.adam preset
            self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        else:  # choi.momentum: v <- 0.9 v + g, x <- x - 0.01 v
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        if kind == 'image':
            g = torch.Generator().manual_seed(seed + 1)
            self.x = torch.randn((batch,) + shape, generator=g)
            self.y = torch.arange(batch) % classes
            self.items, self.unit = batch, 'images/s'
        else:
            n = batch * shape
            self.x = ((7 * torch.arange(n) + 3) % classes).reshape(batch, shape)
            self.y = ((5 * torch.arange(n) + 1) % classes).reshape(batch, shape)
            self.items, self.unit = n, 'tokens/s'
        self.classes = classes

    def step(self):
        out = self.model(self.x)
        loss = F.cross_entropy(out.reshape(-1, self.classes), self.y.reshape(-1))
        value = loss.item()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return value

    def round(self, number, warmup, steps):
        for _ in range(warmup):
            self.step()
        ms, loss = [], float('nan')
        for _ in range(steps):
            t0 = time.perf_counter()
            loss = self.step()
            ms.append((time.perf_counter() - t0) * 1e3)
        median = statistics.median(ms)
        return ('engine=pytorch workload=%s round=%d items=%d unit=%s steps=%d median_ms=%.3f mean_ms=%.3f min_ms=%.3f '
                'throughput=%.2f loss=%.4f' % (self.name, number, self.items, self.unit, steps, median,
                                               statistics.fmean(ms), min(ms), self.items / (median / 1e3), loss))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--workloads', default=','.join(WORKLOADS), help='comma-separated: ' + ', '.join(WORKLOADS))
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--warmup', type=int, default=2, help='untimed steps before each round')
    p.add_argument('--steps', type=int, default=5, help='timed steps per round')
    p.add_argument('--threads', type=int, default=0, help='torch.set_num_threads (default: PyTorch\'s own)')
    p.add_argument('--serve', action='store_true', help='answer "run WORKLOAD WARMUP STEPS ROUND" lines on stdin')
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    print('ready torch=%s threads=%d interop_threads=%d' % (torch.__version__, torch.get_num_threads(),
                                                             torch.get_num_interop_threads()), flush=True)
    if a.serve:
        current = None
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == 'quit':
                break
            try:
                if words[0] == 'warm' and len(words) == 3 and words[1] in WORKLOADS:
                    # the Java side's JIT warm-up (TorchComparison.JIT_WARMUP): as many steps, then a fresh model
                    current = None
                    current = Workload(words[1])
                    for _ in range(int(words[2])):
                        current.step()
                    current = None  # frees the warmed model before the fresh one is built
                    current = Workload(words[1])
                    print('warmed %s %d' % (words[1], int(words[2])), flush=True)
                    continue
                if words[0] != 'run' or len(words) != 5 or words[1] not in WORKLOADS:
                    raise ValueError('expected "run WORKLOAD WARMUP STEPS ROUND" or "warm WORKLOAD STEPS" with WORKLOAD one of '
                                     + ', '.join(WORKLOADS) + ', got: ' + line.strip())
                if current is None or current.name != words[1]:
                    current = None  # frees the previous model before the next is built
                    current = Workload(words[1])
                print(current.round(int(words[4]), int(words[2]), int(words[3])), flush=True)
            except Exception as e:  # noqa: BLE001 - reported to the Java side, which stops
                print('error ' + str(e).replace('\n', ' '), flush=True)
        return 0
    names = [w.strip() for w in a.workloads.split(',') if w.strip()]
    for n in names:
        if n not in WORKLOADS:
            p.error('unknown workload %r; known: %s' % (n, ', '.join(WORKLOADS)))
    for n in names:
        w = Workload(n)
        for r in range(1, a.rounds + 1):
            print(w.round(r, a.warmup, a.steps), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
