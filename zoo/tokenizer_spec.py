"""``--tokenizer char | bpe:N | word[:min_count]``: parse the option, fit the tokenizer it names.

* ``char``: one token per character of the corpus (train and validation, as the zoo always did);
* ``bpe:N``: byte-level BPE with ``N`` merges learnt on the training text (``256 + N`` tokens);
* ``word[:M]``: words, punctuation and whitespace runs seen at least ``M`` times in training
  (default ``DEFAULT_MIN_COUNT``), anything else escaped to characters or bytes.

Only ``char`` looks at the validation text; the others are fitted on the training split alone and
reach every validation character through their escapes.
"""

from __future__ import annotations

import re
from typing import Any

from zoo.tokenizers import ByteBPETokenizer, CharTokenizer, WordTokenizer

DEFAULT_MIN_COUNT = 2
_SPEC = re.compile(r"(char)|(bpe):(\d+)|(word)(?::(\d+))?")
EXPECTED = "expected char, bpe:N (N >= 1 merges) or word[:M] (M >= 1, the minimum count)"


def parse_tokenizer_spec(spec: str, option: str = "--tokenizer") -> tuple[str, int | None]:
    """``("char", None)``, ``("bpe", N)`` or ``("word", M)``; a ValueError names the option otherwise."""
    match = _SPEC.fullmatch(spec.strip())
    number = match and (match.group(3) or match.group(5))
    if not match or (number is not None and int(number) < 1):
        raise ValueError(f"{option}: {spec!r} is not a tokenizer; {EXPECTED}")
    if match.group(1):
        return "char", None
    if match.group(2):
        return "bpe", int(number)
    return "word", int(number) if number else DEFAULT_MIN_COUNT


def parse_tokenizer_list(text: str, option: str = "--tokenizer") -> tuple[str, ...]:
    """A comma list of specs, each checked, duplicates refused (before any work starts)."""
    specs = tuple(part.strip() for part in text.split(",") if part.strip())
    if not specs:
        raise ValueError(f"{option} is empty; {EXPECTED}")
    for spec in specs:
        parse_tokenizer_spec(spec, option)
    if len(set(specs)) != len(specs):
        raise ValueError(f"{option}: {text!r} names a tokenizer twice")
    return specs


def fit_tokenizer(spec: str, train_text: str, val_text: str) -> Any:
    """The tokenizer ``spec`` names, fitted as the module docstring says."""
    kind, number = parse_tokenizer_spec(spec)
    if kind == "char":
        return CharTokenizer.fit(train_text, extra_chars=val_text)
    if kind == "bpe":
        return ByteBPETokenizer.train(train_text, vocab_size=256 + number)
    return WordTokenizer.fit(train_text, min_count=number)


def tokenizer_name(tokenizer: Any) -> str:
    """The spec that would fit ``tokenizer`` again: ``char``, ``bpe:N`` or ``word:M``."""
    if isinstance(tokenizer, ByteBPETokenizer):
        return f"bpe:{len(tokenizer.merges)}"
    if isinstance(tokenizer, WordTokenizer):
        return f"word:{tokenizer.min_count}"
    return "char"


def unknown_characters(tokenizer: Any, text: str) -> list[str]:
    """The characters of ``text`` that ``tokenizer`` cannot encode (only a CharTokenizer without
    ``unk`` has any; the BPE's refusal of lone surrogates is its own error)."""
    if not isinstance(tokenizer, CharTokenizer) or tokenizer.unk is not None:
        return []
    return sorted(set(text) - set(tokenizer.chars))
