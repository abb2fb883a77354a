"""Training-curve parity between the CPU and a GPU: 20 steps of a small GPT and a small LSTM LM.

    python benchmarks/device_parity.py [--device cuda] [--steps 20] [--path tinyshakespeare.txt]
    python benchmarks/device_parity.py --device cpu     # the CPU against itself (differences 0)

Each model is trained twice through ``zoo.train.Trainer`` (forward, mean cross-entropy, backward,
clipping at 1.0, AdamW, warmup and cosine schedule), once on the CPU and once on ``--device``, from
the same seed: the same initial weights (drawn on the host and copied), the same batches (the
Trainer's generator runs on the host), the same dropout masks (drawn on the host too), float32. The
losses differ only by the devices' roundings (cuBLAS and OpenBLAS sum in different orders); the
record holds both curves per model and the largest relative difference of a loss, and the script
exits with status 1 when it exceeds ``--tolerance``. Without ``--path`` the data are seeded random
tokens of a 65-symbol vocabulary.

Without CuPy or a GPU, ``--device cuda`` prints a record saying so and exits with status 0 (status 2
with ``--require-device``, as the GPU suite runs it). Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Callable

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import emit, text_ids

import tinygrad_lm as tg

VOCAB = 65
GPT_SIZES = {"context_length": 32, "n_layers": 2, "n_heads": 2, "d_model": 64, "dropout": 0.1}
LSTM_SIZES = {"context_length": 32, "d_embed": 32, "d_hidden": 64}
BATCH = 8


def models(vocab_size: int) -> dict[str, Callable[[], object]]:
    """Builders of the two small models, each seeded the same way on every call."""
    from zoo.models import GPT, LSTMLM, GPTConfig, RecurrentConfig

    def gpt() -> object:
        tg.manual_seed(0)
        return GPT(GPTConfig(vocab_size=vocab_size, **GPT_SIZES))

    def lstm() -> object:
        tg.manual_seed(0)
        return LSTMLM(RecurrentConfig(vocab_size=vocab_size, **LSTM_SIZES))

    return {"gpt": gpt, "lstm": lstm}


def curve(build: Callable[[], object], ids: numpy.ndarray, device: str, steps: int) -> list[float]:
    """The training losses of ``steps`` Trainer steps of a freshly built model on ``device``."""
    from zoo.train import TrainConfig, Trainer

    config = TrainConfig(batch_size=BATCH, max_steps=steps, warmup_steps=5, seed=0, device=device)
    trainer = Trainer(build().to(device), ids, ids[: len(ids) // 10], config)
    trainer.model.train()
    return [trainer.train_step() for _ in range(steps)]


def relative_difference(a: list[float], b: list[float]) -> float:
    """max_i |a_i - b_i| / |a_i| (inf when either curve has a non-finite loss)."""
    x, y = numpy.array(a), numpy.array(b)
    if not (numpy.isfinite(x).all() and numpy.isfinite(y).all()):
        return float("inf")
    return float(numpy.max(numpy.abs(x - y) / numpy.abs(x)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="the device compared with the CPU (default cuda)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--path", help="a text file whose characters are the data (default random tokens)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest relative loss difference")
    parser.add_argument("--require-device", action="store_true", help="exit 2 when the device is missing")
    args = parser.parse_args()
    record: dict = {"benchmark": "device_parity", "device": args.device, "reference": "cpu"}
    if args.device != "cpu" and not tg.cuda.is_available():
        emit({**record, "skipped": f"no CUDA device (CuPy and a GPU are needed for --device {args.device})"})
        raise SystemExit(2 if args.require_device else 0)
    if args.path:
        ids, vocab_size = text_ids(args.path)
    else:
        ids, vocab_size = numpy.random.default_rng(0).integers(0, VOCAB, 20_000), VOCAB
    record.update(
        steps=args.steps, batch=BATCH, dtype="float32", data="text" if args.path else "random tokens"
    )
    worst = 0.0
    for name, build in models(vocab_size).items():
        reference = curve(build, ids, "cpu", args.steps)
        losses = curve(build, ids, args.device, args.steps)
        difference = relative_difference(reference, losses)
        worst = max(worst, difference)
        record[name] = {
            "cpu_losses": reference,
            "device_losses": losses,
            "max_relative_difference": difference,
        }
    record.update(max_relative_difference=worst, tolerance=args.tolerance, passed=worst <= args.tolerance)
    emit(record)
    if not record["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
