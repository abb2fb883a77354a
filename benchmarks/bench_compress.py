"""Language models as lossless compressors on Tiny Shakespeare's validation split, beside gzip, bzip2
and xz computed the fair way (given the training text: size(train + val) - size(train)).

Prints ONE JSON line. The order-7 modified Kneser-Ney n-gram is fitted on the first 90 % of the text
(characters of train as the vocabulary) and codes the remaining 111,540 characters; the figures are
the file's bits per character (header included), the model's exact cross-entropy over the same
characters (``NGramLM.score`` plus the first character's unigram probability, independent of the
coder's path), the excess bytes against the target ``0.5 % + 64 bytes``, and the encode and decode
times (wall clock and CPU). Each ``--checkpoint`` (a neural model trained by ``python -m zoo train``
on Shakespeare) is coded the same way (its cross-entropy is that of the same step-by-step
distributions before quantisation), on the first ``--neural-chars`` characters (default: all).
``--val-chars N`` codes only the split's first N characters (for a quick check).

    python benchmarks/bench_compress.py
    python benchmarks/bench_compress.py --checkpoint runs/gru/checkpoint.npz runs/gpt/checkpoint.npz
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, environment

from zoo.checkpoints import load_checkpoint
from zoo.compressed_file import model_identity
from zoo.compression import compress_measured, decompress
from zoo.compression_figures import fair_bits_per_char
from zoo.models import NGramLM
from zoo.tokenizers import CharTokenizer

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


def code(model, tokenizer, identity: bytes, text: str) -> dict:
    """Compress and decompress ``text``; sizes, times and the round trip."""
    original = text.encode("utf-8")
    started, started_cpu = time.perf_counter(), time.process_time()
    packed, encoded = compress_measured(model, tokenizer, identity, original)
    encoded_at, encoded_cpu = time.perf_counter(), time.process_time()
    restored = decompress(model, tokenizer, identity, packed)
    decoded_at, decoded_cpu = time.perf_counter(), time.process_time()
    return {
        "characters": len(text),
        "file_bytes": len(packed),
        "payload_bytes": len(encoded.payload),
        "bits_per_char": round(8 * len(packed) / len(text), 4),
        "payload_bits_per_char": round(8 * len(encoded.payload) / len(text), 5),
        "coded_cross_entropy_bits": encoded.ideal_bits,
        "encode_s": round(encoded_at - started, 2),
        "decode_s": round(decoded_at - encoded_at, 2),
        "encode_cpu_s": round(encoded_cpu - started_cpu, 2),  # wall time suffers from shared cores
        "decode_cpu_s": round(decoded_cpu - encoded_cpu, 2),
        "round_trip": restored == original,
    }


def within_target(payload_bytes: int, cross_entropy_bits: float) -> bool:
    """The coded stream is within 0.5 % + 64 bytes of the cross-entropy."""
    exact = cross_entropy_bits / 8
    return abs(payload_bytes - exact) <= 0.005 * exact + 64


def ngram_record(train: str, val: str, order: int) -> tuple[dict, CharTokenizer]:
    tokenizer = CharTokenizer.fit(train)
    model = NGramLM(order, "mkn").fit(tokenizer.encode(train), tokenizer.vocab_size)
    ids = tokenizer.encode(val)
    exact_nats = -float(model.score(ids).sum()) - math.log(model.next_token_probs([])[ids[0]])
    record = {"order": order, **code(model, tokenizer, model_identity({}, model.state_dict()), val)}
    record["cross_entropy_bits_per_char"] = round(exact_nats / math.log(2) / len(val), 5)
    record["excess_bytes"] = round(record["payload_bytes"] - exact_nats / math.log(2) / 8, 2)
    record["within_0.5%+64B"] = within_target(record["payload_bytes"], exact_nats / math.log(2))
    return record, tokenizer


def neural_record(path: str, val: str) -> dict:
    model, tokenizer, info, _ = load_checkpoint(path)
    record = {"model": info["model"], "checkpoint": path}
    record.update(code(model, tokenizer, model_identity(info, model.state_dict()), val))
    record["cross_entropy_bits_per_char"] = round(record["coded_cross_entropy_bits"] / len(val), 5)
    record["within_0.5%+64B"] = within_target(record["payload_bytes"], record["coded_cross_entropy_bits"])
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--order", type=int, default=7)
    parser.add_argument("--checkpoint", nargs="*", default=[], help="neural checkpoints to code too")
    parser.add_argument("--val-chars", type=int, help="use only this prefix of the validation split")
    parser.add_argument("--neural-chars", type=int, help="code only this prefix of val with them")
    args = parser.parse_args()
    if not args.data_path.is_file():
        raise SystemExit(f"bench_compress.py: no Tiny Shakespeare at {args.data_path} (--data-path)")
    text = args.data_path.read_text(encoding="utf-8")
    train, val = text[: int(len(text) * 0.9)], text[int(len(text) * 0.9) :][: args.val_chars]
    ngram, _ = ngram_record(train, val, args.order)
    baselines = {name: round(bpc, 4) for name, bpc in fair_bits_per_char(train, val).items()}
    record = {
        "benchmark": "compress",
        "ngram": ngram,
        "baselines_given_train": baselines,
        "ngram_beats": sorted(name for name, bpc in baselines.items() if ngram["bits_per_char"] < bpc),
        "neural": [neural_record(path, val[: args.neural_chars]) for path in args.checkpoint],
        "environment": environment(),
    }
    emit(record)


if __name__ == "__main__":
    main()
