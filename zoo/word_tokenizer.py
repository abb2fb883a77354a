"""A word-level tokenizer that is exactly reversible: words, punctuation and whitespace runs.

The text is cut into chunks by ``WORD_PATTERN``: a run of letters, a run of whitespace, or any one
other character (a digit, a punctuation mark, NUL ...); the chunks concatenate back to the text.
The vocabulary, ``V = W + C + 256`` ids, is

* ids ``0 .. W-1``: the chunks seen at least ``min_count`` times in training, most frequent first;
* ids ``W .. W+C-1``: every character of the training text (sorted), the escape for a chunk that is
  not in the vocabulary: such a chunk is spelled out one character per token;
* ids ``W+C .. W+C+255``: the bytes, the escape for a character never seen in training: it is spelled
  out as its UTF-8 bytes (``surrogatepass``, so even a lone surrogate round-trips).

So ``decode(encode(s)) == s`` for every ``str`` ``s``, and every escape token is a token like any
other: a model predicts it, and is scored on it. Encoding is deterministic (one token sequence per
text), so the probability a model gives the token sequence is the probability it gives the text,
less what it spends on the non-canonical spellings it never sees.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .tokenizer_io import decode_utf8, ids_array, write_json_atomic

WORD_PATTERN = r"[^\W\d_]+|\s+|."
BYTE_TOKENS = 256


class WordTokenizer:
    """Words (``words``), then character escapes (``chars``), then the 256 byte escapes."""

    def __init__(self, words: Sequence[str], chars: Sequence[str], min_count: int = 1) -> None:
        words, chars = list(words), list(chars)
        if len(set(words)) != len(words) or any(not w for w in words):
            raise ValueError("words must be distinct non-empty strings")
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be distinct single characters")
        self.words, self.chars, self.min_count = words, chars, int(min_count)
        self._regex = re.compile(WORD_PATTERN, re.DOTALL)
        self._word_ids = {w: i for i, w in enumerate(words)}
        self._char_ids = {c: len(words) + i for i, c in enumerate(chars)}
        self._byte_base = len(words) + len(chars)
        self._strings = words + chars  # the text of every non-byte id
        self.token_bytes = [t.encode("utf-8", errors="surrogatepass") for t in self._strings]
        self.token_bytes += [bytes([b]) for b in range(BYTE_TOKENS)]  # id -> its UTF-8 bytes

    @classmethod
    def fit(cls, text: str, min_count: int = 2) -> WordTokenizer:
        """The chunks of ``text`` seen at least ``min_count`` times (ties by string) and its characters."""
        if isinstance(min_count, bool) or int(min_count) != min_count or min_count < 1:
            raise ValueError(f"word tokenizer: min_count must be an integer >= 1, got {min_count!r}")
        counts = Counter(re.findall(WORD_PATTERN, text, re.DOTALL))
        words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls(words, sorted(set(text)), min_count)

    @property
    def vocab_size(self) -> int:
        return self._byte_base + BYTE_TOKENS

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64, 1-D): a vocabulary chunk is one id, any other chunk is escaped."""
        ids: list[int] = []
        word_ids = self._word_ids
        for chunk in self._regex.findall(text):
            found = word_ids.get(chunk)
            if found is None:
                ids.extend(self._escape(chunk))
            else:
                ids.append(found)
        return np.array(ids, dtype=np.int64)

    def _escape(self, chunk: str) -> list[int]:
        """One id per character of ``chunk``, or its UTF-8 bytes where the character is unseen."""
        ids = []
        for char in chunk:
            found = self._char_ids.get(char)
            if found is None:
                ids.extend(self._byte_base + b for b in char.encode("utf-8", errors="surrogatepass"))
            else:
                ids.append(found)
        return ids

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of ``ids``; runs of byte ids are decoded together as UTF-8."""
        ids = ids_array(ids, self.vocab_size).tolist()
        pieces, pending = [], bytearray()
        for i in ids:
            if i >= self._byte_base:
                pending.append(i - self._byte_base)
                continue
            if pending:
                pieces.append(decode_utf8(bytes(pending)))
                pending.clear()
            pieces.append(self._strings[i])
        if pending:
            pieces.append(decode_utf8(bytes(pending)))
        return "".join(pieces)

    def to_dict(self) -> dict:
        return {
            "type": "WordTokenizer",
            "words": self.words,
            "chars": self.chars,
            "min_count": self.min_count,
        }

    @classmethod
    def from_dict(cls, state: dict) -> WordTokenizer:
        return cls(state["words"], state["chars"], state.get("min_count", 1))

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return (
            f"WordTokenizer(words={len(self.words)}, chars={len(self.chars)}, vocab_size={self.vocab_size})"
        )
