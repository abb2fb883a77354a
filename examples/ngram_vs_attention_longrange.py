"""An n-gram cannot see past its order; attention can: both on a source with a long-range dependency.

The source (``zoo.synthetic.LongRangeSource``) copies the symbol D steps back with probability p and
otherwise draws uniformly from V symbols, so given the whole past

    P(x_t | x_<t) = p 1[x_t = x_{t-D}] + (1 - p) / V,
    H = -[(p + (1-p)/V) log(p + (1-p)/V) + (V-1) ((1-p)/V) log((1-p)/V)]    (the entropy floor).

An n-gram with n <= D conditions only on x_{t-n+1..t-1}, which is independent of x_t (every
symbol's marginal is uniform), so the best it can do is log V, whatever its order and smoothing.
A Transformer whose context exceeds D can attend to position t - D and approach H.

    python examples/ngram_vs_attention_longrange.py [--distance 12] [--steps 600] [--smoke]
"""

from __future__ import annotations

import argparse
import math

import tinygrad_lm as tg
from zoo.data import load_corpus
from zoo.evaluate import evaluate
from zoo.models import GPT, GPTConfig
from zoo.models.ngram import NGramLM
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=4)
    parser.add_argument("--distance", type=int, default=12, help="D, larger than every n-gram order tried")
    parser.add_argument("--p", type=float, default=0.8, help="probability of copying x_{t-D}")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="20 steps: checks that it runs")
    args = parser.parse_args()
    steps = 20 if args.smoke else args.steps

    spec = f"longrange:vocab={args.vocab},distance={args.distance},p={args.p},n_train=100000,n_val=5000"
    corpus = load_corpus(spec)
    tokenizer = CharTokenizer.fit(corpus.train, extra_chars=corpus.val)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    floor, uniform = corpus.entropy_rate, math.log(args.vocab)
    print(f"{corpus.source}\nentropy floor H = {floor:.4f} nats/symbol, uniform log V = {uniform:.4f}")

    orders = range(1, min(8, args.distance) + 1)
    ngram = {
        n: evaluate(NGramLM(n).fit(train_ids, tokenizer.vocab_size), val_ids)["nats_per_token"]
        for n in orders
    }
    best = min(ngram, key=ngram.get)
    print("n-gram (modified KN) by order: " + ", ".join(f"{n}: {v:.4f}" for n, v in ngram.items()))

    tg.manual_seed(args.seed)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        context_length=2 * args.distance + 8,
        n_layers=2,
        n_heads=2,
        d_model=32,
    )
    settings = TrainConfig(
        batch_size=16,
        learning_rate=3e-3,
        min_lr=3e-4,
        warmup_steps=min(50, steps // 10),
        max_steps=steps,
        eval_points=4,
        eval_tokens=2000,
        seed=args.seed,
    )
    state = Trainer(GPT(config), train_ids, val_ids, settings).run(
        on_step=lambda s, loss: print(f"  step {s.step:4d}  train {loss:.4f}") if s.step % 100 == 0 else None
    )
    print(f"\n{'entropy floor':<24} {floor:.4f} nats/symbol")
    for label, loss in (
        (f"best n-gram (order {best})", ngram[best]),
        (f"GPT, {state.step} steps", state.curve[-1]["val"]),
    ):
        print(f"{label:<24} {loss:.4f}  ({loss - floor:+.4f} above the floor)")


if __name__ == "__main__":
    main()
