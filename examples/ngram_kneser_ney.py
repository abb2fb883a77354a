"""Character n-grams from counts to modified Kneser-Ney: why smoothing, and which smoothing.

The mathematics, for a history h of n-1 characters and the next character w:

* maximum likelihood, P(w | h) = c(h w) / c(h): every n-gram of the validation text that training
  never saw gets probability 0, so the validation perplexity exp(-(1/N) sum log P) is infinite;
* add-k (Lidstone), P = (c(h w) + k) / (c(h) + k V): no zeros, but the same k for every history
  takes far too much mass from frequent histories at high orders;
* interpolated Kneser-Ney: subtract a discount D from every seen count and give the freed mass
  D N_1+(h .) / c(h) to a lower-order model built on *continuation* counts N_1+(. w) (in how many
  contexts w appears, not how often);
* modified Kneser-Ney (Chen & Goodman): three discounts D_1, D_2, D_3+ for counts 1, 2 and 3+,
  estimated from the counts of counts n_1..n_4 of each order.

Printed: per order, the share of validation n-grams unseen in training (where MLE gives 0), and the
validation nats per character and perplexity of add-k (best k of a few), KN and modified KN.

    python examples/ngram_kneser_ney.py [--dataset python-docs] [--max-order 8] [--smoke]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from zoo.data import load_corpus
from zoo.evaluate import evaluate
from zoo.models.ngram import NGramLM, counts_of_counts, modified_kn_discounts, ngram_codes
from zoo.tokenizers import CharTokenizer

ADD_K = (1.0, 0.1, 0.01, 0.001)


def unseen_share(train_ids: np.ndarray, val_ids: np.ndarray, order: int, vocab_size: int) -> float:
    """The fraction of validation n-grams that never occur in training: where MLE says P = 0."""
    seen = np.unique(ngram_codes(train_ids, order, vocab_size))
    return float(np.mean(~np.isin(ngram_codes(val_ids, order, vocab_size), seen)))


def nats(model: NGramLM, train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    return evaluate(model.fit(train_ids, vocab_size), val_ids)["nats_per_token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="python-docs", help="any corpus of zoo.data (default python-docs)"
    )
    parser.add_argument("--max-order", type=int, default=8)
    parser.add_argument(
        "--smoke", action="store_true", help="orders 1..4 on the first 100k training characters"
    )
    args = parser.parse_args()

    corpus = load_corpus(args.dataset)
    tokenizer = CharTokenizer.fit(corpus.train, extra_chars=corpus.val)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    max_order = args.max_order
    if args.smoke:
        train_ids, val_ids, max_order = train_ids[:100_000], val_ids[:10_000], 4
    vocab = tokenizer.vocab_size
    print(
        f"{corpus.name}: {len(train_ids):,} training and {len(val_ids):,} validation characters, V = {vocab}"
    )
    print(f"uniform baseline: log V = {math.log(vocab):.4f} nats/char\n")
    print(f"{'order':>5}  {'unseen':>7}  {'MLE':>6}  {'add-k (best k)':>18}  {'KN':>15}  {'modified KN':>15}")
    for order in range(1, max_order + 1):
        share = unseen_share(train_ids, val_ids, order, vocab)
        mle = "inf" if share > 0 else "finite"
        add_k = min((nats(NGramLM(order, "addk", k), train_ids, val_ids, vocab), k) for k in ADD_K)
        kn = nats(NGramLM(order, "kn"), train_ids, val_ids, vocab)
        mkn = nats(NGramLM(order, "mkn"), train_ids, val_ids, vocab)
        print(
            f"{order:>5}  {share:>6.1%}  {mle:>6}  {add_k[0]:>7.4f} (k={add_k[1]:<5g})  "
            f"{kn:.4f} ({math.exp(kn):5.2f})  {mkn:.4f} ({math.exp(mkn):5.2f})"
        )
    print("\n(nats per character; perplexity in parentheses)")

    counts = NGramLM(max_order, "mkn").fit(train_ids, vocab).tables[-1].counts
    n1, n2, n3, n4 = counts_of_counts(counts)
    d1, d2, d3 = modified_kn_discounts(n1, n2, n3, n4)
    print(
        f"\norder {max_order}: counts of counts n1..n4 = {n1}, {n2}, {n3}, {n4} -> "
        f"Y = n1/(n1+2 n2) = {n1 / (n1 + 2 * n2):.4f}, D1 = {d1:.3f}, D2 = {d2:.3f}, D3+ = {d3:.3f}"
    )


if __name__ == "__main__":
    main()
