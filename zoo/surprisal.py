"""Where a model is surprised: the surprisal ``-log2 p(c | text before c)`` of every character of a
snippet (``zoo.pictures.plot_surprisal`` draws ``surprisal.png``: the snippet once per model, each
character shaded by it).

The distributions are the coder's (``zoo.compression.step_rows``): what ``python -m zoo compress``
would pay for each character, so a row's shading sums to the snippet's coded size in bits. A
token of several characters (BPE) spreads its surprisal evenly over them; a character the tokenizer
does not know is marked NaN (the coder escapes it). The first character has no context (a neural
model's first distribution is uniform).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from zoo.compression import step_rows, to_symbols

SNIPPET_CHARACTERS = 96


def surprisal_snippet(text: str, length: int = SNIPPET_CHARACTERS) -> str:
    """The first ``length`` characters of ``text`` (the validation split)."""
    return text[:length]


def surprisal_bits(model: Any, tokenizer: Any, text: str) -> list[float]:
    """-log2 p of each character of ``text`` under ``model`` (NaN for characters it cannot see)."""
    symbols = to_symbols(text, tokenizer)
    rows = np.concatenate(list(step_rows(model, symbols.ids)))
    token_bits = (-np.log2(rows[np.arange(len(symbols.ids)), symbols.ids])).tolist()
    escapes = iter(symbols.escapes)
    pending = next(escapes, None)
    bits: list[float] = []
    for position in range(len(symbols.ids) + 1):
        while pending is not None and pending[0] == position:
            bits.append(math.nan)
            pending = next(escapes, None)
        if position < len(symbols.ids):
            size = max(1, len(tokenizer.decode(symbols.ids[position : position + 1])))
            bits += [token_bits[position] / size] * size
    return (bits + [math.nan] * len(text))[: len(text)]
