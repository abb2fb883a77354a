"""Forward + backward time of an LSTM layer and of a pre-LN transformer block, against PyTorch.

    python benchmarks/bench_layers.py [--repeats 15] [--warmup 3]

Prints ONE JSON line. For each workload: the median seconds per forward+backward of tinygrad_lm (and
of PyTorch eager CPU when torch is installed), the two implementations alternated within each
repeat, and the median of the per-repeat ratios ours / torch. float32 throughout.

* lstm: ``nn.LSTM(64, 256)`` (1 layer, fused scan) on x (32, 64, 64) vs ``torch.nn.LSTM``; loss = sum
  of the outputs.
* block: x + attn(ln1(x)); x + mlp(ln2(x)) with ``CausalSelfAttention(128, 4)`` and an MLP
  128 -> 512 -> 128 with tanh-GELU, on x (12, 64, 128), vs the same block written in torch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import nn

LSTM_SHAPE = {"batch": 32, "steps": 64, "input": 64, "hidden": 256}
BLOCK_SHAPE = {"batch": 12, "steps": 64, "d_model": 128, "n_heads": 4}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.CausalSelfAttention(d_model, n_heads)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU("tanh"), nn.Linear(4 * d_model, d_model)
        )

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def ours_lstm() -> Callable[[], None]:
    s = LSTM_SHAPE
    layer = nn.LSTM(s["input"], s["hidden"])
    x = tg.randn(s["batch"], s["steps"], s["input"], requires_grad=True)

    def step() -> None:
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()

    return step


def ours_block() -> Callable[[], None]:
    s = BLOCK_SHAPE
    block = Block(s["d_model"], s["n_heads"])
    x = tg.randn(s["batch"], s["steps"], s["d_model"], requires_grad=True)

    def step() -> None:
        block.zero_grad()
        block(x).sum().backward()

    return step


def torch_lstm(torch) -> Callable[[], None]:
    s = LSTM_SHAPE
    layer = torch.nn.LSTM(s["input"], s["hidden"], batch_first=True)
    x = torch.randn(s["batch"], s["steps"], s["input"], requires_grad=True)

    def step() -> None:
        layer.zero_grad(set_to_none=True)
        out, _ = layer(x)
        out.sum().backward()

    return step


def torch_block(torch) -> Callable[[], None]:
    s = BLOCK_SHAPE
    d, heads = s["d_model"], s["n_heads"]
    tnn, functional = torch.nn, torch.nn.functional

    class TorchBlock(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
            self.qkv, self.proj = tnn.Linear(d, 3 * d), tnn.Linear(d, d)
            self.mlp = tnn.Sequential(tnn.Linear(d, 4 * d), tnn.GELU("tanh"), tnn.Linear(4 * d, d))

        def attn(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-1, -2) / (c // heads) ** 0.5
            mask = torch.ones(t, t, dtype=torch.bool).tril()
            weights = functional.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            return self.proj((weights @ v).transpose(1, 2).reshape(b, t, c))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    block = TorchBlock()
    x = torch.randn(s["batch"], s["steps"], d, requires_grad=True)

    def step() -> None:
        block.zero_grad(set_to_none=True)
        block(x).sum().backward()

    return step


def seconds(step: Callable[[], None]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def compare(ours: Callable[[], None], theirs: Callable[[], None] | None, repeats: int, warmup: int) -> dict:
    """Median times, alternating the implementations, and the median of per-repeat ratios."""
    for _ in range(warmup):
        ours()
        if theirs is not None:
            theirs()
    ours_times, torch_times = [], []
    for _ in range(repeats):
        ours_times.append(seconds(ours))
        if theirs is not None:
            torch_times.append(seconds(theirs))
    result = {"tinygrad_lm_s": statistics.median(ours_times)}
    if theirs is not None:
        result["torch_s"] = statistics.median(torch_times)
        result["ratio_median"] = statistics.median(
            a / b for a, b in zip(ours_times, torch_times, strict=True)
        )
    return result


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(
            f"{i['internal_api']} {i['version']} threads={i['num_threads']}" for i in threadpool_info()
        )
    except ImportError:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')} (threadpoolctl not installed: thread count unknown)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    tg.manual_seed(0)
    try:
        import torch

        torch.manual_seed(0)
    except ImportError:
        torch = None
    report = {
        "command": "python benchmarks/bench_layers.py " + " ".join(sys.argv[1:]),
        "dtype": "float32",
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "thread_env": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "numpy_blas": blas_info(),
        "torch_threads": torch.get_num_threads() if torch else None,
        "torch_version": torch.__version__ if torch else None,
        "lstm": {"shape": LSTM_SHAPE, "target_ratio": 2.0},
        "block": {"shape": BLOCK_SHAPE, "target_ratio": 1.2},
    }
    report["lstm"] |= compare(ours_lstm(), torch_lstm(torch) if torch else None, args.repeats, args.warmup)
    report["block"] |= compare(ours_block(), torch_block(torch) if torch else None, args.repeats, args.warmup)
    report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
