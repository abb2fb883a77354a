"""Tokenizers: characters, byte-level byte-pair encoding trained from scratch, and words
(``zoo.word_tokenizer.WordTokenizer``, re-exported here).

All map ``str -> np.ndarray[int64]`` (``encode``) and back (``decode``), give the UTF-8 bytes of each
token (``token_bytes``, what bits per byte and per character are counted from), and save to / load
from JSON (``save``/``load``, ``to_dict``/``from_dict``; ``load_tokenizer`` and
``tokenizer_from_dict`` read any kind).

Unknown characters (``CharTokenizer``): ``encode`` raises a ``ValueError`` that counts the distinct
unseen characters and their occurrences and shows the most frequent, unless the tokenizer has an
``unk`` character, to which unseen characters then map. To cover a validation split, opt in with
``CharTokenizer.fit(train, extra_chars=val)`` (adds val's characters to the vocabulary) or
``unk=...``. ``ByteBPETokenizer`` has no unknowns: every valid Unicode string is bytes; a string
with a lone surrogate is refused before any work (``check_utf8_encodable``).
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from .tokenizer_io import check_utf8_encodable, ids_array, write_json_atomic
from .word_tokenizer import WordTokenizer

__all__ = [
    "CHUNK_PATTERN",
    "ByteBPETokenizer",
    "CharTokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "tokenizer_from_dict",
]

# GPT-2's pre-tokenisation without contractions, in stdlib ``re``: a word with its leading space,
# a number, a run of punctuation (``_`` included), trailing whitespace runs. Every character matches.
CHUNK_PATTERN = r" ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"


def _code_points(text: str) -> np.ndarray:
    """The Unicode code points of ``text`` as a uint32 array (lone surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype="<u4")


class CharTokenizer:
    """One token per Unicode character; the vocabulary is the sorted set of characters.

    ``boundary`` (optional) is a character given id 0 whatever its code point, for line datasets
    (one item per line): ``zoo.data`` writes line corpora as ``"\\n" + "".join(item + "\\n")``, so with
    ``boundary="\\n"`` each item reads ``<b> c1 .. cn <b>`` exactly like makemore's ``.name.`` with
    ``.`` = id 0; ``encode_items`` encodes a list of items that way. ``unk`` (optional) is a character
    that unseen characters map to instead of raising.
    """

    def __init__(self, chars: Sequence[str], *, unk: str | None = None, boundary: str | None = None) -> None:
        chars = list(chars)
        if not chars or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be a non-empty list of distinct single characters")
        for special in (unk, boundary):
            if special is not None and special not in chars:
                raise ValueError(f"special character {special!r} is not in the vocabulary")
        self.chars, self.unk, self.boundary = chars, unk, boundary
        self._code_points = _code_points("".join(chars)).astype(np.int64)
        self._order = np.argsort(self._code_points)  # ids sorted by code point, for searchsorted
        self._sorted_points = self._code_points[self._order]
        self.token_bytes = [c.encode("utf-8", errors="surrogatepass") for c in chars]  # id -> its UTF-8

    @classmethod
    def fit(
        cls,
        text: str,
        *,
        extra_chars: Iterable[str] = "",
        unk: str | None = None,
        boundary: str | None = None,
    ) -> CharTokenizer:
        """Vocabulary = sorted characters of ``text``, ``extra_chars``, ``unk`` and ``boundary``;
        ``boundary`` (if any) first."""
        chars = set(text) | set(extra_chars) | {c for c in (unk, boundary) if c is not None}
        if not chars:
            raise ValueError("cannot fit a CharTokenizer on empty text")
        ordered = sorted(chars - {boundary})
        return cls(([boundary] if boundary is not None else []) + ordered, unk=unk, boundary=boundary)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def boundary_id(self) -> int | None:
        return None if self.boundary is None else 0

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64, shape ``(len(text),)``); unseen characters raise or map to ``unk``."""
        points = _code_points(text).astype(np.int64)
        where = np.minimum(np.searchsorted(self._sorted_points, points), len(self._sorted_points) - 1)
        known = self._sorted_points[where] == points
        ids = self._order[where]
        if not known.all():
            if self.unk is None:
                raise ValueError(self._unseen_message(text, known))
            ids[~known] = self.chars.index(self.unk)
        return ids.astype(np.int64)

    def _unseen_message(self, text: str, known: np.ndarray) -> str:
        counts = Counter(text[i] for i in np.flatnonzero(~known))
        shown = ", ".join(f"{c!r} (U+{ord(c):04X}) x{n}" for c, n in counts.most_common(5))
        return (
            f"{len(counts)} distinct characters never seen when fitting the tokenizer "
            f"({sum(counts.values())} occurrences), e.g. {shown}. Fit on them too "
            "(CharTokenizer.fit(train, extra_chars=val)) or map them to a placeholder (unk='?')"
        )

    def encode_items(self, items: Iterable[str]) -> list[np.ndarray]:
        """Each item as ``[boundary, *chars, boundary]`` (needs a ``boundary``)."""
        if self.boundary is None:
            raise ValueError("encode_items needs a tokenizer built with boundary=...")
        return [self.encode(self.boundary + item + self.boundary) for item in items]

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        ids = ids_array(ids, self.vocab_size)
        return self._code_points[ids].astype("<u4").tobytes().decode("utf-32-le", errors="surrogatepass")

    def to_dict(self) -> dict:
        return {"type": "CharTokenizer", "chars": self.chars, "unk": self.unk, "boundary": self.boundary}

    @classmethod
    def from_dict(cls, state: dict) -> CharTokenizer:
        return cls(state["chars"], unk=state.get("unk"), boundary=state.get("boundary"))

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


class ByteBPETokenizer:
    """Byte-level BPE: ids 0..255 are bytes, id ``256 + i`` is merge ``i`` (the pair ``merges[i]``).

    Training: split the text into chunks (``CHUNK_PATTERN``; merges never cross chunks), count unique
    chunks, and repeatedly merge the most frequent adjacent pair, weighted by chunk frequency, ties
    going to the smallest pair ``(a, b)``. Pair counts are kept incrementally: a merge re-counts only
    the chunks that contain the pair. Encoding applies merges in training order (lowest rank first,
    left to right), which reproduces training's segmentation; results are cached per chunk.

    ``decode(encode(s)) == s`` for every string ``s`` encodable as UTF-8; ``decode`` of an arbitrary id
    sequence never raises on invalid UTF-8 (``errors="replace"``).
    """

    def __init__(self, merges: Sequence[tuple[int, int]], pattern: str = CHUNK_PATTERN) -> None:
        self.merges = [(int(a), int(b)) for a, b in merges]
        self.pattern = pattern
        self._regex = re.compile(pattern)
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.token_bytes = [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str = CHUNK_PATTERN) -> ByteBPETokenizer:
        """Learn ``vocab_size - 256`` merges (fewer if the text runs out of pairs)."""
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (the byte tokens), got {vocab_size}")
        check_utf8_encodable(text, "ByteBPETokenizer.train")
        chunk_counts = Counter(re.findall(pattern, text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        return cls(_learn_merges(words, list(chunk_counts.values()), vocab_size - 256), pattern)

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64, 1-D); a text with a lone surrogate is refused before any work."""
        check_utf8_encodable(text, "ByteBPETokenizer.encode")
        ids: list[int] = []
        for chunk in self._regex.findall(text):
            cached = self._cache.get(chunk)
            if cached is None:
                cached = self._cache[chunk] = tuple(self._encode_chunk(chunk.encode("utf-8")))
                if len(self._cache) > 200_000:
                    self._cache.clear()
            ids.extend(cached)
        return np.array(ids, dtype=np.int64)

    def _encode_chunk(self, data: bytes) -> list[int]:
        tokens = list(data)
        while len(tokens) > 1:
            pair = min(pairwise(tokens), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break
            tokens = _merge(tokens, pair, 256 + self.ranks[pair])
        return tokens

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        ids = ids_array(ids, self.vocab_size)
        return b"".join(self.token_bytes[i] for i in ids.tolist()).decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        return {"type": "ByteBPETokenizer", "pattern": self.pattern, "merges": [list(m) for m in self.merges]}

    @classmethod
    def from_dict(cls, state: dict) -> ByteBPETokenizer:
        return cls([tuple(m) for m in state["merges"]], state["pattern"])

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> ByteBPETokenizer:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return f"ByteBPETokenizer(vocab_size={self.vocab_size})"


def _merge(tokens: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``tokens``, scanning left to right."""
    out, i, n = [], 0, len(tokens)
    while i < n:
        if i + 1 < n and tokens[i] == pair[0] and tokens[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


def _pairs(word: list[int]) -> Counter:
    return Counter(pairwise(word))


def _learn_merges(words: list[list[int]], freqs: list[int], n_merges: int) -> list[tuple[int, int]]:
    """BPE over unique words weighted by ``freqs``, with incremental pair counts.

    ``counts[pair]`` = sum over words of freq * occurrences; ``where[pair]`` = indices of words that
    contain it. A merge updates only the pairs whose count it changes, in the words that held the pair.
    A heap of ``(-count, pair)`` entries finds the best pair; stale entries (whose count changed since
    they were pushed) are skipped when popped.
    """
    counts: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for index, (word, freq) in enumerate(zip(words, freqs, strict=True)):
        for pair, n in _pairs(word).items():
            counts[pair] += n * freq
            where.setdefault(pair, set()).add(index)
    heap = [(-n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        negative_count, pair = heapq.heappop(heap)
        if counts.get(pair, 0) != -negative_count or negative_count == 0:
            continue
        new_id = 256 + len(merges)
        merges.append(pair)
        changed = set()
        for index in where.pop(pair):
            old, new = words[index], _merge(words[index], pair, new_id)
            delta: dict[tuple[int, int], int] = {}  # per pair: occurrences after - before
            for p in pairwise(old):
                delta[p] = delta.get(p, 0) - 1
            new_pairs = set(pairwise(new))
            for p in pairwise(new):
                delta[p] = delta.get(p, 0) + 1
            freq = freqs[index]
            for p, d in delta.items():
                if d == 0:
                    continue
                counts[p] += d * freq
                changed.add(p)
                if p in new_pairs:
                    where.setdefault(p, set()).add(index)
                elif p in where:
                    where[p].discard(index)
            words[index] = new
        counts.pop(pair, None)
        for p in changed - {pair}:
            if counts[p] > 0:
                heapq.heappush(heap, (-counts[p], p))
    return merges


TOKENIZER_CLASSES = {
    "CharTokenizer": CharTokenizer,
    "ByteBPETokenizer": ByteBPETokenizer,
    "WordTokenizer": WordTokenizer,
}


def tokenizer_from_dict(
    state: dict, where: str = "tokenizer"
) -> CharTokenizer | ByteBPETokenizer | WordTokenizer:
    """The tokenizer ``to_dict`` described (dispatch on ``type``; a dict without one is a CharTokenizer,
    as the checkpoints written before the other kinds existed)."""
    kind = state.get("type", "CharTokenizer")
    if kind not in TOKENIZER_CLASSES:
        raise ValueError(
            f"{where}: unknown tokenizer type {kind!r}, expected one of {sorted(TOKENIZER_CLASSES)}"
        )
    return TOKENIZER_CLASSES[kind].from_dict(state)


def load_tokenizer(path: str | Path) -> CharTokenizer | ByteBPETokenizer | WordTokenizer:
    """Load a tokenizer saved by any of the classes (dispatch on the JSON ``type``)."""
    state = json.loads(Path(path).read_text(encoding="utf-8"))
    if "type" not in state:
        raise ValueError(f"{path}: unknown tokenizer type None")
    return tokenizer_from_dict(state, str(path))
