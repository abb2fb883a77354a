"""Engine overhead and a matmul-bound step, against PyTorch eager in the same run when installed.

* per-op overhead: a chain of element-wise ops on a 4-element tensor, forward + backward, in
  microseconds per op (the array work is negligible: this is the Python cost of the engine);
* MLP step: a 3-layer perceptron (batch 256, width 1024, ReLU, mean-squared loss) forward + backward
  in float32 (dominated by six 256x1024x1024 matrix products).

Run: ``python benchmarks/bench_engine.py [--rounds 20]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import alternate, emit, environment, try_torch

import tinygrad_lm as tg

CHAIN = 300


def chain(lib):
    """A chain of element-wise ops on 4 elements, forward + backward; ``lib`` is tinygrad_lm or torch."""

    def run():
        x = lib.ones(4, requires_grad=True)
        y = x
        for _ in range(CHAIN // 3):
            y = (y * 1.0001 + 0.5).tanh()
        y.sum().backward()

    return run


def mlp_weights(width: int, layers: int = 3):
    rng = numpy.random.default_rng(0)
    scale = 1 / numpy.sqrt(width)
    ws = [rng.uniform(-scale, scale, (width, width)).astype(numpy.float32) for _ in range(layers)]
    bs = [numpy.zeros(width, dtype=numpy.float32) for _ in range(layers)]
    return ws, bs


def mlp(lib, x, target, ws, bs):
    """One forward + backward of the 3-layer MLP in ``lib`` (tinygrad_lm or torch: the same calls)."""
    params = [lib.tensor(a, requires_grad=True) for a in ws + bs]
    xt, tt = lib.tensor(x), lib.tensor(target)

    def step():
        h = xt
        for i in range(3):
            h = h @ params[i] + params[3 + i]
            if i < 2:
                h = h.relu()
        loss = ((h - tt) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--width", type=int, default=1024)
    args = parser.parse_args()
    torch = try_torch()

    overhead = alternate(chain(tg), chain(torch) if torch else None, args.rounds)
    per_op = {"ours_us": overhead["ours_ms"] * 1e3 / CHAIN}
    if torch:
        per_op.update(torch_us=overhead["torch_ms"] * 1e3 / CHAIN, ratio=overhead["ratio"])

    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((args.batch, args.width)).astype(numpy.float32)
    target = rng.standard_normal((args.batch, args.width)).astype(numpy.float32)
    ws, bs = mlp_weights(args.width)
    reference = mlp(torch, x, target, ws, bs) if torch else None
    step = alternate(mlp(tg, x, target, ws, bs), reference, args.rounds)
    emit(
        {
            "benchmark": "engine",
            "per_op_overhead": per_op,
            "mlp_step": {"batch": args.batch, "width": args.width, **step},
            "rounds": args.rounds,
            **environment(torch),
        }
    )


if __name__ == "__main__":
    main()
