"""nanoGPT's CPU configuration trained in PyTorch exactly as ``python -m zoo train`` trains the zoo GPT.

    python benchmarks/train_gpt_torch.py --path tinyshakespeare.txt [--seed 1337] [--gelu tanh|none]

A reference for the zoo GPT's figure (PyTorch is never a dependency of the library): nanoGPT's model
(4 layers, 4 heads, 128 dims, context 64, no biases, tied weights, ``F.scaled_dot_product_attention``),
2,000 steps of batch 12 at uniform random windows, AdamW (lr 1e-3, betas (0.9, 0.99), weight decay 0.1
on matrices only), clipping at 1.0, nanoGPT's warmup (100 steps) and cosine to 1e-4. The validation
figure comes from ``zoo.evaluate`` (exact, the whole split, windows at stride 32), through a small
adapter, so both implementations are scored by the same code. Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

import tinygrad_lm as tg
from zoo.data import load_corpus
from zoo.evaluate import evaluate
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, learning_rate

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from torch_gpt import nanogpt_model, nanogpt_optimizer

CONTEXT, BATCH, STEPS = 64, 12, 2000


class Scored:
    """What ``zoo.evaluate`` asks of an attention model, around a PyTorch module."""

    recurrent = False
    context_length = CONTEXT

    def __init__(self, torch, module) -> None:
        self.torch, self.module = torch, module
        self.training = False

    def eval(self) -> None:
        self.module.eval()

    def train(self, mode: bool = True) -> None:
        self.module.train(mode)

    def __call__(self, idx: tg.Tensor) -> tuple[tg.Tensor, None]:
        with self.torch.no_grad():
            logits = self.module(self.torch.from_numpy(idx.numpy()))
        return tg.tensor(logits.numpy()), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="Tiny Shakespeare text file")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--gelu", choices=("tanh", "none"), default="tanh")
    args = parser.parse_args()
    import torch

    corpus = load_corpus("shakespeare", path=args.path)
    tokenizer = CharTokenizer.fit(corpus.train)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    torch.manual_seed(args.seed)
    model = nanogpt_model(torch, tokenizer.vocab_size, CONTEXT, gelu=args.gelu)
    params = list(model.parameters())
    optimizer = nanogpt_optimizer(torch, model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))
    schedule = TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=STEPS)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    for step in range(STEPS):
        starts = rng.integers(0, len(train_ids) - CONTEXT, BATCH)
        window = torch.from_numpy(np.stack([train_ids[s : s + CONTEXT + 1] for s in starts]))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(schedule, step, step / STEPS, 100 / STEPS)
        logits = model(window[:, :-1])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
    seconds = time.perf_counter() - started
    result = evaluate(Scored(torch, model), val_ids)
    print(
        json.dumps(
            {
                "model": "gpt (PyTorch reference)",
                "seed": args.seed,
                "gelu": args.gelu,
                "steps": STEPS,
                "train_seconds": round(seconds, 1),
                "val_nats_per_char": round(result["nats_per_token"], 4),
                "torch": torch.__version__,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
