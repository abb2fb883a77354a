"""A dataset: a corpus of ``zoo.data`` encoded by a tokenizer, as train and validation ids.

``load_dataset(name)`` is what every command trains and scores on: the corpus ``name`` (from a local
copy ``data_path`` when given), the tokenizer of ``tokenizer_spec`` (``zoo.tokenizer_spec``; a
character tokenizer by default) or a checkpoint's, and the ids of both splits, the validation text
optionally cut to a prefix of its characters.

``val_ids[0]`` is the last token of the training text and ``val_ids[1:]`` the validation text: the
evaluation scores ``val_ids[1:]`` (``zoo.evaluate``), so every validation character is scored exactly
once and the first is conditioned on the end of the training text, as it is in the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.data import Corpus, load_corpus
from zoo.tokenizer_spec import fit_tokenizer, tokenizer_name
from zoo.units import text_units


@dataclass
class Dataset:
    """A corpus as token ids; ``val_ids`` may be a prefix of the validation split (``val_note`` says)."""

    corpus: Corpus
    tokenizer: Any
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_note: str = ""

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def tokenizer_name(self) -> str:
        return tokenizer_name(self.tokenizer)

    def describe(self) -> dict:
        corpus = self.corpus
        characters, utf8_bytes = text_units(self.tokenizer, self.val_ids[1:])
        return {
            "name": corpus.name,
            "source": corpus.source,
            "train_characters": len(corpus.train),
            "val_characters": len(corpus.val),
            "val_tokens_scored": len(self.val_ids) - 1,
            "val_note": self.val_note,
            "tokenizer": self.tokenizer_name,
            "vocab_size": self.vocab_size,
            "val_characters_scored": characters,
            "val_bytes_scored": utf8_bytes,
            "tokens_per_char": (len(self.val_ids) - 1) / max(1, characters),
            "entropy_rate": corpus.entropy_rate,
        }


def open_corpus(name: str, data_path: str | None = None) -> Corpus:
    """``load_corpus(name)``, from the local copy ``data_path`` when given (shakespeare, names)."""
    return load_corpus(name) if data_path is None else load_corpus(name, path=data_path)


def load_dataset(
    name: str,
    data_path: str | None = None,
    val_tokens: int | None = None,
    tokenizer: Any = None,
    tokenizer_spec: str = "char",
) -> Dataset:
    """Load corpus ``name`` and encode it with ``tokenizer`` (a checkpoint's) or the one
    ``tokenizer_spec`` names, fitted here; ``val_tokens`` keeps only the first ``val_tokens``
    characters of the validation text (characters, so that every tokenizer scores the same text)."""
    corpus = open_corpus(name, data_path)
    tokenizer = tokenizer or fit_tokenizer(tokenizer_spec, corpus.train, corpus.val)
    train_ids = tokenizer.encode(corpus.train)
    if len(train_ids) == 0:
        raise ValueError(f"{name}: the training split is empty; nothing to train on or to condition on")
    val_text, note = corpus.val, ""
    if val_tokens is not None and len(corpus.val) > val_tokens:  # the same text under every tokenizer
        val_text = corpus.val[:val_tokens]
        note = f"first {val_tokens:,} of {len(corpus.val):,} validation characters"
    val_ids = np.concatenate([train_ids[-1:], tokenizer.encode(val_text)])
    return Dataset(corpus, tokenizer, train_ids, val_ids, note)
