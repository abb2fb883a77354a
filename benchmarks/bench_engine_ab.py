"""This checkout's autograd engine against another checkout's, in one process, alternating.

    git archive <commit> | tar -x -C /tmp/before      # the other version, e.g. before an engine change
    python benchmarks/bench_engine_ab.py --against /tmp/before [--rounds 80]

Machine load drifts by tens of percent on a shared machine, so two separate runs of bench_engine.py
cannot show a change of a few percent. Here the other checkout's library is copied under another
package name (``tinygrad_against``: the library's own imports are relative) and imported beside this
one; each round times 5 calls of each version back to back, and the figure is the median of the
per-round ratios (this / other). Workloads: a chain of 300 element-wise ops on 4 elements, forward +
backward (the engine's per-op Python cost), and a 3-layer ReLU MLP (batch 64, width 256) forward +
backward. Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import emit, environment


def chain(lib, n: int = 300) -> None:
    x = lib.ones(4, requires_grad=True)
    y = x
    for _ in range(n // 3):
        y = (y * 1.0001 + 0.5).tanh()
    y.sum().backward()


def mlp(lib, weights: list, x: numpy.ndarray) -> None:
    params = [lib.tensor(w, requires_grad=True) for w in weights]
    h = lib.tensor(x)
    for w in params:
        h = (h @ w).relu()
    h.sum().backward()


def compare(ours, other, work, rounds: int) -> dict:
    ratios, our_times, other_times = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(5):
            work(other)
        theirs = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(5):
            work(ours)
        mine = time.perf_counter() - started
        ratios.append(mine / theirs)
        our_times.append(mine / 5)
        other_times.append(theirs / 5)
    return {
        "ours_ms": statistics.median(our_times) * 1e3,
        "against_ms": statistics.median(other_times) * 1e3,
        "ratio": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, metavar="CHECKOUT", help="the other checkout")
    parser.add_argument("--rounds", type=int, default=80)
    args = parser.parse_args()
    source = pathlib.Path(args.against) / "tinygrad_lm"
    if not source.is_dir():
        raise SystemExit(f"bench_engine_ab: no tinygrad_lm/ in {args.against}")
    import tinygrad_lm as ours

    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(source, pathlib.Path(folder) / "tinygrad_against")
        sys.path.insert(0, folder)
        import tinygrad_against as other

        rng = numpy.random.default_rng(0)
        weights = [rng.standard_normal((256, 256)).astype(numpy.float32) / 16 for _ in range(3)]
        x = rng.standard_normal((64, 256)).astype(numpy.float32)
        for lib in (ours, other):  # warm both
            chain(lib)
            mlp(lib, weights, x)
        record = {
            "benchmark": "engine_ab",
            "against": args.against,
            "chain_300_ops": compare(ours, other, chain, args.rounds),
            "mlp_step": compare(ours, other, lambda lib: mlp(lib, weights, x), args.rounds),
            "rounds": args.rounds,
            **environment(None),
        }
    emit(record)


if __name__ == "__main__":
    main()
