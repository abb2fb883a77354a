"""Train a tiny GPT briefly and draw its attention maps: which earlier characters each position reads.

The mathematics: in each head, query position t attends to key positions s <= t with weights

    a_{t,s} = softmax_s( q_t . k_s / sqrt(d_head) ),   masked to s <= t (causal),

and reads sum_s a_{t,s} v_s. One picture per (layer, head): row t is the distribution a_{t,.}.
The default source copies the symbol D steps back with probability p (``longrange``). Position t
predicts x_{t+1}, a copy of x_{t+1-D}, so a head that solves the task puts its weight on the
diagonal s = t - (D - 1); the script prints, per head, the mean weight on that diagonal (about
1/(t+1) if attention were uniform).

    python examples/attention_maps.py [--dataset longrange:vocab=4,distance=8] [--steps 400]
                                      [--out attention_maps.png] [--smoke]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_lm as tg
from zoo.data import load_corpus
from zoo.models import GPT, GPTConfig
from zoo.pictures import plot_attention
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, Trainer


def diagonal_weight(weights: np.ndarray, offset: int) -> float:
    """Mean attention weight a_{t, t-offset} over the queries t >= offset of one head (T, T)."""
    return float(np.mean(np.diagonal(weights, offset=-offset))) if offset < len(weights) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="longrange:vocab=4,distance=8,p=0.9,n_train=50000,n_val=2000")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--snippet", type=int, default=24, help="characters shown (at most the context)")
    parser.add_argument("--out", default="attention_maps.png", help="where to save the picture")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="30 steps: checks that it runs")
    args = parser.parse_args()

    corpus = load_corpus(args.dataset)
    tokenizer = CharTokenizer.fit(corpus.train, extra_chars=corpus.val)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    tg.manual_seed(args.seed)
    model = GPT(
        GPTConfig(vocab_size=tokenizer.vocab_size, context_length=32, n_layers=2, n_heads=2, d_model=32)
    )
    steps = 30 if args.smoke else args.steps
    settings = TrainConfig(
        batch_size=16,
        learning_rate=3e-3,
        min_lr=3e-4,
        warmup_steps=min(40, steps // 10),
        max_steps=steps,
        eval_points=1,
        eval_tokens=2000,
        seed=args.seed,
    )
    state = Trainer(model, train_ids, val_ids, settings).run()
    print(f"{corpus.name}: {state.step} steps, validation {state.curve[-1]['val']:.4f} nats/char")

    text = corpus.val[: min(args.snippet, model.context_length)]
    maps = [layer[0] for layer in model.attention_maps(tokenizer.encode(text)[None, :])]
    distance = corpus.metadata.get("distance")
    if distance is not None:
        for layer, heads in enumerate(maps, start=1):
            weights = ", ".join(
                f"head {h}: {diagonal_weight(w, distance):.2f}" for h, w in enumerate(heads, 1)
            )
            print(f"layer {layer}: mean weight on the key {distance} back -> {weights}")
    plot_attention(maps, text, args.out)
    print(f"wrote {args.out} ({len(maps)} layers x {len(maps[0])} heads, snippet {text!r})")


if __name__ == "__main__":
    main()
