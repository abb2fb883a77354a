"""Character and byte-level BPE tokenizers: round trips, determinism, persistence, errors."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.tokenizers import CHUNK_PATTERN, ByteBPETokenizer, CharTokenizer, load_tokenizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = (
    "the quick brown fox jumps over the lazy dog; the dog sleeps. "
    "Über naïve café — 東京 2024!\n\tthe end_of_line   then  thee the\n"
) * 5

BPE = ByteBPETokenizer.train(SAMPLE, vocab_size=300)


def naive_bpe_merges(text: str, n_merges: int) -> list[tuple[int, int]]:
    """Reference BPE: recount every pair after every merge (slow, obviously correct)."""
    chunks = Counter(re.findall(CHUNK_PATTERN, text))
    words = {chunk: list(chunk.encode("utf-8")) for chunk in chunks}
    merges = []
    for new_id in range(256, 256 + n_merges):
        counts = Counter()
        for chunk, word in words.items():
            for pair in pairwise(word):
                counts[pair] += chunks[chunk]
        if not counts:
            break
        best = max(counts.values())
        pair = min(p for p, n in counts.items() if n == best)
        merges.append(pair)
        for chunk, word in words.items():
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            words[chunk] = merged
    return merges


# --- CharTokenizer ---------------------------------------------------------------------------------


def test_char_vocabulary_is_sorted_characters():
    tok = CharTokenizer.fit("hello world")
    assert tok.chars == sorted(set("hello world"))
    assert tok.vocab_size == 8
    ids = tok.encode("hello")
    assert ids.dtype == np.int64
    assert ids.tolist() == [tok.chars.index(c) for c in "hello"]


@given(st.text(min_size=1, max_size=40), st.data())
def test_char_round_trip_over_its_vocabulary(vocabulary, data):
    tok = CharTokenizer.fit(vocabulary)
    s = data.draw(st.text(alphabet=sorted(set(vocabulary)), max_size=100))
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(list(tok.encode(s))) == s
    np.testing.assert_array_equal(tok.encode(s), tok.encode(s))


def test_char_unseen_characters_raise_with_counts():
    tok = CharTokenizer.fit("abc")
    with pytest.raises(ValueError, match=r"2 distinct characters .* \(5 occurrences\)") as error:
        tok.encode("abxxxcyy")
    assert "'x'" in str(error.value) and "extra_chars" in str(error.value)


def test_char_extra_chars_and_unk_opt_in():
    train, val = "abc", "abd"
    assert CharTokenizer.fit(train, extra_chars=val).encode(val).tolist() == [0, 1, 3]
    tok = CharTokenizer.fit(train, unk="?")
    assert tok.decode(tok.encode("abz")) == "ab?"


def test_char_boundary_gets_id_zero_and_wraps_items():
    tok = CharTokenizer.fit("emma\nava\n", boundary="\n")
    assert tok.boundary_id == 0 and tok.chars[0] == "\n"
    items = tok.encode_items(["ava"])
    assert tok.decode(items[0]) == "\nava\n"
    dot = CharTokenizer.fit("emma", boundary=".")
    assert dot.chars[0] == "." and dot.encode(".emma.").tolist()[0] == 0
    with pytest.raises(ValueError, match="boundary"):
        CharTokenizer.fit("abc").encode_items(["a"])


def test_char_decode_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match="out of range"):
        CharTokenizer.fit("ab").decode([0, 2])


def test_char_save_load(tmp_path):
    tok = CharTokenizer.fit("zyx\u00e9\U0001f600\n", unk="x", boundary="\n")
    tok.save(tmp_path / "char.json")
    loaded = load_tokenizer(tmp_path / "char.json")
    assert isinstance(loaded, CharTokenizer)
    assert loaded.chars == tok.chars and loaded.unk == "x" and loaded.boundary == "\n"
    np.testing.assert_array_equal(loaded.encode("\U0001f600zq"), tok.encode("\U0001f600zq"))
    assert [p.name for p in tmp_path.iterdir()] == ["char.json"]  # no temp file left


# --- ByteBPETokenizer ------------------------------------------------------------------------------


def test_bpe_matches_naive_reference():
    assert BPE.merges == naive_bpe_merges(SAMPLE, 300 - 256)
    assert BPE.vocab_size == 300


def test_bpe_first_merge_is_most_frequent_pair_and_merges_compress():
    pair_counts = Counter()
    for chunk in re.findall(CHUNK_PATTERN, SAMPLE):
        pair_counts.update(pairwise(chunk.encode("utf-8")))
    best = max(pair_counts.values())
    assert BPE.merges[0] == min(p for p, n in pair_counts.items() if n == best)
    assert len(BPE.encode(SAMPLE)) < 0.6 * len(SAMPLE.encode("utf-8"))


def test_bpe_encode_reproduces_training_segmentation():
    text = "the the then thee"
    tok = ByteBPETokenizer.train(text * 10, vocab_size=270)
    assert [tok.token_bytes[i] for i in tok.encode("the")] == [b"the"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_bpe_round_trips_arbitrary_unicode(s):
    ids = BPE.encode(s)
    assert ids.dtype == np.int64
    assert BPE.decode(ids) == s
    np.testing.assert_array_equal(BPE.encode(s), ids)


@given(st.text())
def test_chunk_pattern_covers_every_character(s):
    assert "".join(re.findall(CHUNK_PATTERN, s)) == s


@given(st.lists(st.integers(0, 299), max_size=50))
def test_bpe_decode_of_any_ids_never_raises(ids):
    assert isinstance(BPE.decode(ids), str)


def test_bpe_save_load_encodes_identically(tmp_path):
    BPE.save(tmp_path / "bpe.json")
    loaded = load_tokenizer(tmp_path / "bpe.json")
    assert isinstance(loaded, ByteBPETokenizer) and loaded.merges == BPE.merges
    text = SAMPLE + "unseen words: xylophone ß ø"
    np.testing.assert_array_equal(loaded.encode(text), BPE.encode(text))
    assert json.loads((tmp_path / "bpe.json").read_text())["type"] == "ByteBPETokenizer"


def test_bpe_training_is_deterministic():
    again = ByteBPETokenizer.train(SAMPLE, vocab_size=300)
    assert again.merges == BPE.merges


def test_bpe_stops_when_text_runs_out_of_pairs_and_rejects_small_vocab():
    assert ByteBPETokenizer.train("ab", vocab_size=1000).vocab_size == 257
    with pytest.raises(ValueError, match="at least 256"):
        ByteBPETokenizer.train("ab", vocab_size=100)


def test_load_tokenizer_rejects_unknown_type(tmp_path):
    (tmp_path / "t.json").write_text('{"type": "Nope"}')
    with pytest.raises(ValueError, match="unknown tokenizer"):
        load_tokenizer(tmp_path / "t.json")


def test_bpe_trains_on_shakespeare_in_seconds():
    path = DATA / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"{path} not present")
    text = path.read_text(encoding="utf-8")
    start = time.perf_counter()
    tok = ByteBPETokenizer.train(text, vocab_size=1024)
    elapsed = time.perf_counter() - start
    assert tok.vocab_size == 1024
    assert elapsed < 30, f"BPE training took {elapsed:.1f}s"
    val = text[int(len(text) * 0.9) :]
    ids = tok.encode(val)
    assert tok.decode(ids) == val
    assert len(val) / len(ids) > 2.0  # characters per token
