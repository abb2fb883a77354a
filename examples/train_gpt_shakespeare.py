"""Train a character-level GPT on Tiny Shakespeare with nanoGPT's CPU configuration.

The mathematics: next-character prediction by minimising the cross-entropy
    L = -(1/BT) sum_{b,t} log softmax(GPT(x_{b,<=t}))[x_{b,t+1}]
with AdamW, a linear warmup then cosine learning-rate decay, and gradient clipping. The validation
loss is reported in nats per character, exactly, over the whole validation split; nanoGPT reports
1.88 for this configuration (4 layers, 4 heads, 128 dims, context 64, batch 12, 2,000 iterations,
lr 1e-3 -> 1e-4, dropout 0, no biases).

    python examples/train_gpt_shakespeare.py [--path input.txt] [--steps 2000] [--layers 4 ...]
    python examples/train_gpt_shakespeare.py --smoke      # a few steps, to check that it runs

Prints one JSON line: configuration, steps, wall time, tokens/s and the validation figures.
"""

from __future__ import annotations

import argparse
import json
import time

import tinygrad_lm as tg
from zoo.data import load_corpus
from zoo.evaluate import evaluate
from zoo.models import GPT, GPTConfig
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="a local copy of Tiny Shakespeare (otherwise downloaded and cached)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=1e-4)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--bias", action="store_true", help="biases in linears and norms (nanoGPT: none)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--eval-points", type=int, default=8, help="points on the validation curve")
    parser.add_argument("--smoke", action="store_true", help="10 steps on a small slice: checks that it runs")
    args = parser.parse_args()

    corpus = load_corpus("shakespeare", path=args.path)
    tokenizer = CharTokenizer.fit(corpus.train)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    if args.smoke:
        args.steps, val_ids = 10, val_ids[:2000]
    tg.manual_seed(args.seed)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        context_length=args.context,
        n_layers=args.layers,
        n_heads=args.heads,
        d_model=args.d_model,
        dropout=args.dropout,
        bias=args.bias,
    )
    model = GPT(config)
    train_config = TrainConfig(
        batch_size=args.batch,
        learning_rate=args.lr,
        min_lr=args.min_lr,
        warmup_steps=min(100, args.steps // 10),
        max_steps=args.steps,
        eval_points=args.eval_points,
        seed=args.seed,
    )
    trainer = Trainer(model, train_ids, val_ids, train_config)
    started = time.perf_counter()
    state = trainer.run()
    wall = time.perf_counter() - started
    result = evaluate(model, val_ids)
    sample = tokenizer.decode(model.generate([[0]], 200, top_k=10, generator=tg.Generator(args.seed))[0])
    print(
        json.dumps(
            {
                "model": "gpt",
                "config": vars(config),
                "parameters": model.num_parameters(),
                "steps": state.step,
                "train_seconds": round(state.seconds, 2),
                "wall_seconds": round(wall, 2),
                "tokens_per_second": round(state.tokens / state.seconds),
                "val": result,
                "curve": state.curve,
                "sample": sample,
            }
        )
    )


if __name__ == "__main__":
    main()
