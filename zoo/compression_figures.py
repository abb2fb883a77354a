"""The compression figures of a run: each model's coded size beside the standard compressors.

* ``compressed_figures(model, tokenizer, ids)``: code the validation text (the characters of ``ids``)
  with the model (``zoo.compression``) and report ``8 * bytes / characters`` of the coded stream
  (the file's fixed-size header aside), and the cross-entropy of the same distributions;
* ``fair_bits_per_char(train, val)``: gzip -9, bzip2 -9 and xz -9e (Python's ``gzip``, ``bz2``,
  ``lzma``) *given the training text*, ``8 (size(train + val) - size(train)) / characters(val)``, so
  they too may learn from train before coding val, as the models do.

The coded size exceeds the cross-entropy only by the quantisation (under 6e-6 bits per character),
the coder's truncation (under 1e-9) and at most 2 bytes of termination; escaped characters cost 8
bits per UTF-8 byte. The leaderboard's bits/char and the coded bits/char differ also because the
coder codes the first character too (without context) while ``zoo.evaluate`` scores from the
second, and a neural model's coder restarts its window on the last half when full, while
``evaluate`` uses overlapping windows of the same model.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import Any

import numpy as np

from zoo.compression import encode_symbols, to_symbols

COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, 9, mtime=0),
    "bzip2": lambda data: bz2.compress(data, 9),
    "xz": lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME),
}


def fair_bits_per_char(train: str, val: str) -> dict[str, float]:
    """8 (size(train + val) - size(train)) / characters(val) for gzip, bzip2 and xz."""
    if not val:
        raise ValueError("fair_bits_per_char: the validation text is empty")
    before, both = train.encode("utf-8"), (train + val).encode("utf-8")
    return {
        name: 8 * (len(squeeze(both)) - len(squeeze(before))) / len(val)
        for name, squeeze in COMPRESSORS.items()
    }


def compressed_figures(model: Any, tokenizer: Any, ids: np.ndarray) -> dict[str, float]:
    """``{"compressed_bits_per_char", "coded_cross_entropy_bits_per_char"}`` of the text of ``ids``."""
    text = tokenizer.decode(ids)
    if not text:
        raise ValueError("compressed_figures: the validation text is empty")
    encoded = encode_symbols(model, to_symbols(text, tokenizer))
    return {
        "compressed_bits_per_char": 8 * len(encoded.payload) / len(text),
        "coded_cross_entropy_bits_per_char": encoded.ideal_bits / len(text),
    }
