"""What every tokenizer shares: atomic JSON files, id validation, and refusing unencodable text.

A Python ``str`` may hold lone surrogates (U+D800..U+DFFF) that no UTF-8 text can contain; the
tokenizers that work on UTF-8 bytes refuse them up front (``check_utf8_encodable``) with the
position, instead of failing half-way through the work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from zoo.files import write_atomic

_SURROGATE = re.compile("[\ud800-\udfff]")


def write_json_atomic(path: str | Path, obj: dict) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``zoo.files.write_atomic``)."""
    write_atomic(path, json.dumps(obj, ensure_ascii=True))


def ids_array(ids: Iterable[int] | np.ndarray, vocab_size: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array; a ValueError names the first id outside ``[0, vocab_size)``."""
    ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).ravel()
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = ids[(ids < 0) | (ids >= vocab_size)][0]
        raise ValueError(f"token id {bad} out of range for a vocabulary of {vocab_size}")
    return ids


def check_utf8_encodable(text: str, who: str) -> None:
    """A ValueError naming the first lone surrogate of ``text`` (which UTF-8 cannot encode)."""
    found = _SURROGATE.search(text)
    if found:
        raise ValueError(
            f"{who}: the text has a lone surrogate U+{ord(found.group()):04X} at character "
            f"{found.start()}, which UTF-8 cannot encode; expected valid Unicode text "
            "(decode files with errors='replace', or use the char/word tokenizer)"
        )


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8, lone surrogates kept (``surrogatepass``); invalid bytes become U+FFFD."""
    try:
        return data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")
