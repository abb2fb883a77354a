"""One unit across tokenizers: bits per character and per UTF-8 byte of the same text.

A model scores token ids ``ids[1:]`` (``ids[0]`` only conditions the first; ``zoo.datasets`` puts
the last token of the training text there, so every token of the validation text is scored once).
With ``L`` their summed negative log-likelihood in nats, and the text they spell out::

    nats per token   = L / tokens                 perplexity (per token) = exp(nats per token)
    bits per char    = L / characters / ln 2      bits per byte = L / UTF-8 bytes / ln 2

Characters and bytes are counted from each token's UTF-8 bytes (``tokenizer.token_bytes``): a token
accounts for its bytes and for the characters whose first byte it holds, so a character split
across byte-level tokens is counted once, and the counts over the tokens sum to the length of the
text. A tokenizer without ``token_bytes`` is measured on its decoded text instead. Only bits per
character and per byte compare models that use different tokenizers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def units_per_token(tokenizer: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(characters, bytes)`` (V,) int64: what each token id accounts for (see the module docstring)."""
    lengths = [len(b) for b in tokenizer.token_bytes]
    starts = [sum((byte & 0xC0) != 0x80 for byte in b) for b in tokenizer.token_bytes]
    return np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def text_units(tokenizer: Any, ids: np.ndarray) -> tuple[int, int]:
    """``(characters, bytes)`` of the text that ``ids`` (1-D) spell out."""
    if not hasattr(tokenizer, "token_bytes"):
        text = tokenizer.decode(ids)
        return len(text), len(text.encode("utf-8", errors="surrogatepass"))
    characters, lengths = units_per_token(tokenizer)
    ids = np.asarray(ids, dtype=np.int64)
    return int(characters[ids].sum()), int(lengths[ids].sum())


def figures(total_nats: float, tokens: int, characters: int, utf8_bytes: int) -> dict:
    """Every figure of one scored text from its summed NLL (nats) and its three lengths."""
    nats_per_token = total_nats / tokens
    return {
        "nats_per_token": nats_per_token,
        "bits_per_token": nats_per_token / math.log(2),
        # per token; exp overflows past 709.78
        "perplexity": math.exp(nats_per_token) if nats_per_token < 709 else math.inf,
        "bits_per_char": total_nats / characters / math.log(2),
        "bits_per_byte": total_nats / utf8_bytes / math.log(2),
        "tokens": tokens,
        "characters": characters,
        "bytes": utf8_bytes,
        "tokens_per_char": tokens / characters,
        "total_nats": total_nats,
    }
