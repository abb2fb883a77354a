"""Benchmark the count-based n-gram models on Tiny Shakespeare (character level, nanoGPT split).

Prints ONE JSON line: the median fit and score times of an order-8 modified Kneser-Ney model
(train = first 90 % of the text, 1,003,854 characters; score = the remaining 111,540), and the
validation nats per character of the chosen smoothing at each order. For ``addk`` every ``--k`` of a
comma-separated list is tried per order and the best reported (tuned on validation).

    python benchmarks/bench_ngram.py                          # mkn, orders 1-10
    python benchmarks/bench_ngram.py --smoothing kn
    python benchmarks/bench_ngram.py --smoothing addk --k 0.005,0.01,0.02,0.03,0.05,0.1,0.2,0.5,1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, environment

from zoo.models.ngram import SMOOTHINGS, NGramLM

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


def load_split(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Character ids of train (first 90 %) and val; vocab = the sorted characters of train."""
    text = path.read_text(encoding="utf-8")
    split = int(len(text) * 0.9)
    chars = sorted(set(text[:split]))
    unseen = set(text[split:]) - set(chars)
    if unseen:
        raise SystemExit(f"validation characters missing from the training vocabulary: {sorted(unseen)}")
    lookup = np.zeros(max(map(ord, chars)) + 1, dtype=np.int64)
    lookup[[ord(c) for c in chars]] = np.arange(len(chars))
    ids = lookup[np.frombuffer(text.encode("utf-32-le"), dtype="<u4")]
    return ids[:split], ids[split:], len(chars)


def parse_orders(spec: str) -> list[int]:
    """``"1-10"`` or ``"3,5,7"``."""
    if "-" in spec:
        low, high = spec.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(order) for order in spec.split(",")]


def median_times(train: np.ndarray, val: np.ndarray, vocab: int, repeats: int) -> tuple[float, float]:
    fit_s, score_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        lm = NGramLM(8, "mkn").fit(train, vocab)
        fitted = time.perf_counter()
        lm.score(val)
        fit_s.append(fitted - start)
        score_s.append(time.perf_counter() - fitted)
    return statistics.median(fit_s), statistics.median(score_s)


def val_nats(train, val, vocab, smoothing: str, order: int, ks: list[float]) -> tuple[float, float]:
    """(best nats per character over ``ks``, its k)."""
    results = [(-NGramLM(order, smoothing, k=k).fit(train, vocab).score(val).mean(), k) for k in ks]
    return min(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None, help="Tiny Shakespeare text file")
    parser.add_argument("--orders", default="1-10", help='"1-10" or "3,5,7"')
    parser.add_argument("--smoothing", choices=SMOOTHINGS, default="mkn")
    parser.add_argument("--k", default="1", help="addk pseudo-count(s), comma-separated: best is kept")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median reported)")
    args = parser.parse_args()

    path = args.path or DEFAULT_PATH
    if not path.exists():
        raise SystemExit(f"Tiny Shakespeare not found at {path}: pass --path /path/to/tinyshakespeare.txt")
    train, val, vocab = load_split(path)
    ks = [float(k) for k in args.k.split(",")] if args.smoothing == "addk" else [1.0]

    fit_s, score_s = median_times(train, val, vocab, args.repeats)
    nats, best_k = {}, {}
    for order in parse_orders(args.orders):
        nats[order], best_k[order] = val_nats(train, val, vocab, args.smoothing, order, ks)
    report = {
        "benchmark": "ngram",
        "data": str(path.resolve()),
        "train_chars": len(train),
        "val_chars": len(val),
        "vocab_size": vocab,
        "fit_s_mkn8": round(fit_s, 4),
        "score_s_mkn8": round(score_s, 4),
        "fit_plus_score_s_mkn8": round(fit_s + score_s, 4),
        "target_s": 1.5,
        "repeats": args.repeats,
        "smoothing": args.smoothing,
        "val_nats_per_char": {order: round(float(v), 5) for order, v in nats.items()},
        **({"best_k": best_k} if args.smoothing == "addk" else {}),
        **environment(),
    }
    emit(report)


if __name__ == "__main__":
    main()
