"""A dataset: a corpus of ``zoo.data`` encoded by a character tokenizer, as train and validation ids.

``load_dataset(name)`` is what every command trains and scores on: the corpus ``name`` (from a local
copy ``data_path`` when given), a ``CharTokenizer`` fitted on all of its characters (or a checkpoint's
tokenizer), and the ids of both splits, the validation ids optionally cut to a prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.data import Corpus, load_corpus
from zoo.tokenizers import CharTokenizer


@dataclass
class Dataset:
    """A corpus as token ids; ``val_ids`` may be a prefix of the validation split (``val_note`` says)."""

    corpus: Corpus
    tokenizer: CharTokenizer
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_note: str = ""

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def describe(self) -> dict:
        corpus = self.corpus
        return {
            "name": corpus.name,
            "source": corpus.source,
            "train_characters": len(corpus.train),
            "val_characters": len(corpus.val),
            "val_tokens_scored": len(self.val_ids) - 1,
            "val_note": self.val_note,
            "vocab_size": self.vocab_size,
            "entropy_rate": corpus.entropy_rate,
        }


def open_corpus(name: str, data_path: str | None = None) -> Corpus:
    """``load_corpus(name)``, from the local copy ``data_path`` when given (shakespeare, names)."""
    return load_corpus(name) if data_path is None else load_corpus(name, path=data_path)


def load_dataset(
    name: str,
    data_path: str | None = None,
    val_tokens: int | None = None,
    tokenizer: CharTokenizer | None = None,
) -> Dataset:
    """Load corpus ``name`` and encode it at the character level.

    The vocabulary is every character of train and validation (so any corpus works) unless a
    ``tokenizer`` is given (a checkpoint's); ``val_tokens`` keeps only a prefix of the validation ids.
    """
    corpus = open_corpus(name, data_path)
    tokenizer = tokenizer or CharTokenizer.fit(corpus.train, extra_chars=corpus.val)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    note = ""
    if val_tokens is not None and len(val_ids) > val_tokens + 1:
        val_ids, note = val_ids[: val_tokens + 1], f"first {val_tokens:,} of {len(corpus.val) - 1:,} targets"
    return Dataset(corpus, tokenizer, train_ids, val_ids, note)
