"""The first training steps of nanoGPT's CPU configuration, as one JSON line of losses.

    python benchmarks/gpt_curve.py --path input.txt [--steps 50] [--float64]
    python benchmarks/gpt_curve.py --path input.txt --against /path/to/an/older/checkout

Seed 1337, batches of 12 random windows of 64 characters from the first 200,000 characters, AdamW
(lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on matrices), gradient clipping at 1.0, biases on (the
one configuration every version of the model supports). With ``--against``, the same script also runs
in a subprocess on that checkout's library (``PYTHONPATH``) and the line reports the largest relative
difference between the two curves: a speed-up that changes only rounding leaves float64 curves equal
to about 1e-13 and float32 ones to float32 noise, amplified by the training dynamics.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy


def losses(path: str, steps: int, float64: bool) -> list[float]:
    import tinygrad_lm as tg
    from tinygrad_lm import optim
    from zoo.models import GPT, GPTConfig

    tg.manual_seed(1337)
    model = GPT(GPTConfig(vocab_size=65, context_length=64, n_layers=4, n_heads=4, d_model=128, bias=True))
    model = model.double() if float64 else model
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    vectors = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": matrices, "weight_decay": 0.1}, {"params": vectors, "weight_decay": 0.0}]
    optimizer = optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    with open(path, encoding="utf-8") as file:
        text = file.read()
    alphabet = {c: k for k, c in enumerate(sorted(set(text)))}
    ids = numpy.array([alphabet[c] for c in text[:200_000]])
    rng = numpy.random.default_rng(0)
    curve = []
    for _ in range(steps):
        windows = numpy.stack([ids[s : s + 65] for s in rng.integers(0, len(ids) - 65, 12)])
        _, loss = model(tg.tensor(windows[:, :-1]), tg.tensor(windows[:, 1:]))
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append(float(loss.item()))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="tinyshakespeare.txt")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--float64", action="store_true")
    parser.add_argument("--against", metavar="CHECKOUT", help="an older checkout to compare with")
    args = parser.parse_args()
    ours = losses(args.path, args.steps, args.float64)
    record = {"benchmark": "gpt_curve", "dtype": "float64" if args.float64 else "float32", "losses": ours}
    if args.against:
        command = [sys.executable, __file__, "--path", args.path, "--steps", str(args.steps)]
        command += ["--float64"] if args.float64 else []
        environment = {**os.environ, "PYTHONPATH": os.path.abspath(args.against)}
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
        theirs = json.loads(done.stdout)["losses"]
        record["against"] = args.against
        record["max_relative_difference"] = max(
            abs(a - b) / abs(b) for a, b in zip(ours, theirs, strict=True)
        )
    print(json.dumps(record))


if __name__ == "__main__":
    main()
