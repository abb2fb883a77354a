"""Benchmark the count-based n-gram models on Tiny Shakespeare (character level, nanoGPT split).

Prints ONE JSON line: the median fit and score times of an order-8 modified Kneser-Ney model
(train = first 90 % of the text, 1,003,854 characters; score = the remaining 111,540), and the
validation nats per character of the chosen smoothing at each order. For ``addk`` every ``--k`` of a
comma-separated list is tried per order and the best reported (tuned on validation).

    python benchmarks/bench_ngram.py                          # mkn, orders 1-10
    python benchmarks/bench_ngram.py --smoothing kn
    python benchmarks/bench_ngram.py --smoothing addk --k 0.005,0.01,0.02,0.03,0.05,0.1,0.2,0.5,1
    python benchmarks/bench_ngram.py --tokenizer word --orders 3-5   # 7,143 word tokens: wide keys

With ``--tokenizer bpe:N | word[:M]`` (``zoo.tokenizer_spec``, fitted on the training split) the timed
model has order ``--timed-order`` (default 8) and the figures are validation bits per character
(total nats over the 111,540 validation characters, every one scored once).
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
from zoo.tokenizer_spec import fit_tokenizer

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


def tokenized_split(path: Path, spec: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Ids of train and of (last train token + val) under ``spec``, the vocabulary, val characters."""
    text = path.read_text(encoding="utf-8")
    split = int(len(text) * 0.9)
    tokenizer = fit_tokenizer(spec, text[:split], text[split:])
    train = tokenizer.encode(text[:split])
    return (
        train,
        np.concatenate([train[-1:], tokenizer.encode(text[split:])]),
        tokenizer.vocab_size,
        len(text) - split,
    )


def median_times(
    train: np.ndarray, val: np.ndarray, vocab: int, repeats: int, order: int = 8
) -> tuple[float, float]:
    fit_s, score_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        lm = NGramLM(order, "mkn").fit(train, vocab)
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
    parser.add_argument("--tokenizer", default="char", help="char (default), bpe:N or word[:M]")
    parser.add_argument("--timed-order", type=int, default=8, help="order of the timed model (default 8)")
    args = parser.parse_args()

    path = args.path or DEFAULT_PATH
    if not path.exists():
        raise SystemExit(f"Tiny Shakespeare not found at {path}: pass --path /path/to/tinyshakespeare.txt")
    if args.tokenizer == "char":
        train, val, vocab = load_split(path)
    else:
        train, val, vocab, val_chars = tokenized_split(path, args.tokenizer)
    ks = [float(k) for k in args.k.split(",")] if args.smoothing == "addk" else [1.0]

    fit_s, score_s = median_times(train, val, vocab, args.repeats, args.timed_order)
    nats, best_k = {}, {}
    for order in parse_orders(args.orders):
        nats[order], best_k[order] = val_nats(train, val, vocab, args.smoothing, order, ks)
    extra = {}
    if args.tokenizer != "char":  # bits per character of the same validation text
        per_token = len(val) - 1
        bits = {order: float(v) * per_token / val_chars / np.log(2) for order, v in nats.items()}
        extra = {"tokenizer": args.tokenizer, "timed_order": args.timed_order, "val_tokens": per_token}
        extra["val_bits_per_char"] = {order: round(v, 5) for order, v in bits.items()}
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
        **extra,
        **environment(),
    }
    if extra:  # the character-level names would mislead: tokens, the timed order, nats per token
        for key in ("train_chars", "val_chars", "fit_s_mkn8", "score_s_mkn8", "fit_plus_score_s_mkn8"):
            report.pop(key)
        report.update(train_tokens=len(train), val_chars=val_chars, fit_s=round(fit_s, 4))
        report.update(score_s=round(score_s, 4), val_nats_per_token=report.pop("val_nats_per_char"))
    emit(report)


if __name__ == "__main__":
    main()
