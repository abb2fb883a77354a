"""The LSTM language-model training step, against PyTorch's fused ``torch.nn.LSTM``.

    python benchmarks/bench_lstm.py [--rounds 30] [--warmup 5]

Configuration: vocabulary 65, embedding 64, one LSTM layer of 256, window T = 64, batch B = 32,
float32. A step: embed, LSTM over the window (from a zero state), the linear head to 65 logits, mean
cross-entropy, zero_grad, backward, AdamW (lr 1e-3). Ours is ``zoo.models.LSTMLM`` (the layer runs as
one fused scan); PyTorch's is ``Embedding`` + ``nn.LSTM`` (C++ kernels) + ``Linear``. The two
alternate within each round; the ratio is the median of the per-round ratios ours / torch. Target:
at most 1.5.

Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import sys
from collections.abc import Callable

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import alternate, emit, environment, token_batches, try_torch

CONFIG = {"vocab_size": 65, "d_embed": 64, "d_hidden": 256, "steps": 64, "batch": 32}


def batches(count: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    c = CONFIG
    return token_batches(count, c["batch"], c["steps"], c["vocab_size"])


def ours() -> Callable[[], None]:
    import tinygrad_lm as tg
    from tinygrad_lm import optim
    from zoo.models import LSTMLM, RecurrentConfig

    tg.manual_seed(0)
    c = CONFIG
    model = LSTMLM(
        RecurrentConfig(
            vocab_size=c["vocab_size"],
            context_length=c["steps"],
            d_embed=c["d_embed"],
            d_hidden=c["d_hidden"],
        )
    )
    optimizer = optim.AdamW(model.parameters(), lr=1e-3)
    data = itertools.cycle([(tg.tensor(x), tg.tensor(y)) for x, y in batches(8)])

    def step() -> None:
        x, y = next(data)
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def reference(torch) -> Callable[[], None]:
    tnn = torch.nn
    c = CONFIG

    class LSTMLM(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = tnn.Embedding(c["vocab_size"], c["d_embed"])
            self.lstm = tnn.LSTM(c["d_embed"], c["d_hidden"], batch_first=True)
            self.head = tnn.Linear(c["d_hidden"], c["vocab_size"])

        def forward(self, idx, targets):
            hidden, _ = self.lstm(self.embed(idx))
            logits = self.head(hidden)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, c["vocab_size"]), targets.reshape(-1))

    torch.manual_seed(0)
    model = LSTMLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(8)])

    def step() -> None:
        x, y = next(data)
        loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    torch = try_torch()
    step = alternate(ours(), reference(torch) if torch else None, args.rounds, args.warmup)
    step["ours_tokens_per_s"] = round(CONFIG["batch"] * CONFIG["steps"] / step["ours_ms"] * 1e3)
    emit(
        {
            "benchmark": "lstm_lm",
            "dtype": "float32",
            **CONFIG,
            "train_step": step,
            "target_ratio": 1.5,
            **environment(torch),
        }
    )


if __name__ == "__main__":
    main()
