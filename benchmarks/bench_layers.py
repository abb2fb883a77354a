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
import pathlib
import sys
from collections.abc import Callable

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import alternate, emit, environment

import tinygrad_lm as tg
from tinygrad_lm import nn

LSTM_SHAPE = {"batch": 32, "steps": 64, "input": 64, "hidden": 256}
BLOCK_SHAPE = {"batch": 12, "steps": 64, "d_model": 128, "n_heads": 4}


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
    reference = (torch_lstm(torch), torch_block(torch)) if torch else (None, None)
    emit(
        {
            "benchmark": "layers",
            "dtype": "float32",
            "lstm": {
                **LSTM_SHAPE,
                "target_ratio": 2.0,
                **alternate(ours_lstm(), reference[0], args.repeats, args.warmup),
            },
            "block": {
                **BLOCK_SHAPE,
                "target_ratio": 1.2,
                **alternate(ours_block(), reference[1], args.repeats, args.warmup),
            },
            **environment(torch),
        }
    )


if __name__ == "__main__":
    main()
