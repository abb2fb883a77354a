"""Bits per character and per byte: exact bookkeeping across tokenizers (hypothesis over split points)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.evaluate import evaluate
from zoo.models.ngram import NGramLM
from zoo.tokenizer_spec import fit_tokenizer
from zoo.units import text_units, units_per_token

WORDS = ["the", "cat", " ", "  ", "\n", "\r\n", ",", "é", "東京", "naïve", "!", "x"]
TEXT = st.lists(st.sampled_from(WORDS) | st.characters(blacklist_categories=("Cs",)), min_size=2).map("".join)


@pytest.mark.parametrize("spec", ["char", "bpe:40", "word:1", "word:2"])
@settings(max_examples=60, deadline=None)
@given(text=TEXT, data=st.data())
def test_every_validation_character_is_scored_once_and_bits_add_up(spec, text, data):
    split = data.draw(st.integers(1, len(text) - 1))  # where training ends and validation starts
    train, val = text[:split], text[split:]
    tokenizer = fit_tokenizer(spec, train, val)
    train_ids = tokenizer.encode(train)
    val_ids = np.concatenate([train_ids[-1:], tokenizer.encode(val)])  # as zoo.datasets builds it
    model = NGramLM(3, "mkn").fit(train_ids, tokenizer.vocab_size)
    result = evaluate(model, val_ids, tokenizer)

    per_token_nats = -model.score(val_ids)  # the cost of each validation token, in order
    assert len(per_token_nats) == result["tokens"] == len(val_ids) - 1
    assert result["characters"] == len(val) and result["bytes"] == len(val.encode("utf-8"))
    characters, utf8_bytes = units_per_token(tokenizer)
    assert characters[val_ids[1:]].sum() == len(val)  # each character belongs to exactly one token
    assert utf8_bytes[val_ids[1:]].sum() == len(val.encode("utf-8"))
    total_bits = result["bits_per_char"] * len(val)
    assert math.isclose(total_bits, per_token_nats.sum() / math.log(2), rel_tol=1e-12)
    assert math.isclose(result["bits_per_byte"] * result["bytes"], total_bits, rel_tol=1e-12)
    assert math.isclose(result["nats_per_token"] * result["tokens"], per_token_nats.sum(), rel_tol=1e-12)


def test_a_character_split_across_byte_tokens_is_counted_once():
    tokenizer = fit_tokenizer("bpe:1", "ab", "")  # no merge covers the bytes of 'é'
    ids = tokenizer.encode("é")
    assert len(ids) == 2 and text_units(tokenizer, ids) == (1, 2)
    assert text_units(tokenizer, ids[:1]) == (1, 1)  # the character belongs to its first byte's token
