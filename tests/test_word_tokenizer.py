"""The word tokenizer, and round trips of every tokenizer over hard strings (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.tokenizers import ByteBPETokenizer, CharTokenizer, WordTokenizer, load_tokenizer, tokenizer_from_dict

TRAIN = "the cat sat on the mat.\r\nThe cat, the hat!  \n\n" * 3 + "once 42 naïve\x00 東京\n"
WORD = WordTokenizer.fit(TRAIN, min_count=2)
WORD_ALL = WordTokenizer.fit(TRAIN, min_count=1)
CHAR = CharTokenizer.fit(TRAIN)
BPE = ByteBPETokenizer.train(TRAIN, vocab_size=300)

# Text that stresses a tokenizer: any code point except lone surrogates (tested apart), with CRLF,
# NUL, whitespace runs and words the training text never had.
HARD_TEXT = st.lists(
    st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(["\r\n", "\x00", " ", "\t", "\n\n", "the", "cat", "zebra", "東京", "é"]),
    )
).map("".join) | st.sampled_from(["", " ", "\r\n", "   \t\n", "\x00", "the the the", "unseen-word xyzzy"])


@pytest.mark.parametrize("tokenizer", [WORD, WORD_ALL, BPE], ids=["word2", "word1", "bpe"])
@settings(max_examples=300, deadline=None)
@given(text=HARD_TEXT)
def test_every_tokenizer_round_trips_hard_text(tokenizer, text):
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int64 and ids.ndim == 1
    assert tokenizer.decode(ids) == text
    assert b"".join(tokenizer.token_bytes[i] for i in ids.tolist()) == text.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from(sorted(set(TRAIN)))))
def test_char_tokenizer_round_trips_text_over_its_vocabulary(text):
    assert CHAR.decode(CHAR.encode(text)) == text


def test_word_tokens_are_words_punctuation_and_whitespace_runs_most_frequent_first():
    tok = WordTokenizer.fit("b a b, a  b\n", min_count=1)
    assert tok.words == [" ", "b", "a", "\n", "  ", ","]  # count 3, 3, 2, then 1s; ties by string
    assert tok.decode(tok.encode("a b")) == "a b" and len(tok.encode("a b")) == 3


def test_min_count_keeps_frequent_chunks_and_escapes_the_rest_to_characters():
    assert "once" in WORD_ALL.words and "once" not in WORD.words and "the" in WORD.words
    ids = WORD.encode("once")
    assert ids.tolist() == [WORD.vocab_size - 256 - len(WORD.chars) + WORD.chars.index(c) for c in "once"]
    assert WORD.encode("the").tolist() == [WORD.words.index("the")]


def test_unseen_characters_escape_to_their_utf8_bytes_each_a_token():
    ids = WORD.encode("Ω")  # not in the training text
    assert ids.tolist() == [WORD.vocab_size - 256 + b for b in "Ω".encode()]
    assert WORD.decode(ids) == "Ω"


def test_word_tokenizer_round_trips_lone_surrogates_and_nul():
    text = "the \ud800 cat\x00\udfff"
    assert WORD.decode(WORD.encode(text)) == text


def test_bpe_refuses_lone_surrogates_before_work_with_the_position():
    with pytest.raises(ValueError, match=r"lone surrogate U\+D800 at character 4"):
        BPE.encode("the \ud800 cat")
    with pytest.raises(ValueError, match="lone surrogate"):
        ByteBPETokenizer.train("ab\udc00", vocab_size=260)


def test_word_decode_of_any_ids_never_raises_and_rejects_out_of_range():
    assert isinstance(WORD.decode([WORD.vocab_size - 1, WORD.vocab_size - 2, 0]), str)
    with pytest.raises(ValueError, match="out of range"):
        WORD.decode([WORD.vocab_size])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_word_min_count_is_validated(bad):
    with pytest.raises(ValueError, match="min_count must be an integer >= 1"):
        WordTokenizer.fit("a b", min_count=bad)


@pytest.mark.parametrize("tokenizer", [WORD, CHAR, BPE], ids=["word", "char", "bpe"])
def test_save_load_and_from_dict_encode_identically(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "t.json")
    text = "the cat sat\r\n 東京"
    for again in (load_tokenizer(tmp_path / "t.json"), tokenizer_from_dict(tokenizer.to_dict())):
        assert type(again) is type(tokenizer) and again.vocab_size == tokenizer.vocab_size
        np.testing.assert_array_equal(again.encode(text), tokenizer.encode(text))


def test_a_tokenizer_dict_without_a_type_is_a_char_tokenizer():
    """Checkpoints written before the other kinds stored only the characters."""
    old = {"chars": ["\n", "a", "b"], "unk": None, "boundary": None}
    assert isinstance(tokenizer_from_dict(old), CharTokenizer)
    with pytest.raises(ValueError, match="unknown tokenizer type 'Nope'"):
        tokenizer_from_dict({"type": "Nope"})
