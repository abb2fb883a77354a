"""Wide (ranked) n-gram keys: the same probabilities as the int64 codes, for any vocabulary."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.models.ngram import NGramLM
from zoo.models.ngram_keys import codes_fit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@settings(max_examples=80, deadline=None)
@given(
    vocab=st.integers(1, 9),
    order=st.integers(1, 5),
    smoothing=st.sampled_from(["addk", "kn", "mkn"]),
    data=st.data(),
)
def test_wide_keys_give_the_probabilities_of_the_int64_codes(vocab, order, smoothing, data):
    train = data.draw(st.lists(st.integers(0, vocab - 1), max_size=120))
    probe = data.draw(st.lists(st.integers(0, vocab - 1), min_size=2, max_size=30))
    codes = NGramLM(order, smoothing, k=0.5, keys="codes").fit(train, vocab)
    wide = NGramLM(order, smoothing, k=0.5, keys="wide").fit(train, vocab)
    assert wide.wide and not codes.wide
    np.testing.assert_array_equal(wide.score(probe), codes.score(probe))
    for end in range(len(probe) + 1):  # every context length, seen and unseen contexts alike
        np.testing.assert_array_equal(wide.next_token_probs(probe[:end]), codes.next_token_probs(probe[:end]))


def zipf_text(n: int, vocab: int, seed: int) -> np.ndarray:
    """A word-like stream: Zipf-distributed ids with some repeated phrases, all below ``vocab``."""
    rng = np.random.default_rng(seed)
    ids = np.minimum(rng.zipf(1.2, n) - 1, vocab - 1)
    phrase = ids[:7].copy()
    for start in rng.integers(0, n - 7, n // 50):
        ids[start : start + 7] = phrase
    return ids.astype(np.int64)


@pytest.mark.parametrize("smoothing", ["addk", "kn", "mkn"])
def test_probabilities_sum_to_one_for_random_contexts_over_a_large_vocabulary(smoothing):
    vocab, order = 20_000, 6
    assert not codes_fit(vocab, order)  # the codes could not hold this model
    ids = zipf_text(60_000, vocab, seed=1)
    lm = NGramLM(order, smoothing, k=0.1).fit(ids, vocab)
    assert lm.wide
    rng = np.random.default_rng(2)
    starts = rng.integers(0, len(ids) - order, 12)
    contexts = [ids[s : s + order - 1] for s in starts]  # seen contexts ...
    contexts += [rng.integers(0, vocab, order - 1) for _ in range(6)]  # ... and unseen ones
    for context in contexts:
        probs = lm.next_token_probs(context)
        assert probs.shape == (vocab,) and probs.min() > 0
        assert abs(probs.sum() - 1.0) < 1e-12


def test_wide_model_saves_and_loads_to_the_same_probabilities(tmp_path):
    ids = zipf_text(5000, 12_000, seed=3)
    lm = NGramLM(5, "mkn").fit(ids, 12_000)
    lm.save(tmp_path / "wide.npz")
    again = NGramLM.load(tmp_path / "wide.npz")
    assert again.wide
    np.testing.assert_array_equal(again.score(ids[:500]), lm.score(ids[:500]))


def test_auto_keeps_the_int64_codes_where_they_fit():
    assert not NGramLM(8).fit(np.arange(50) % 65, 65).wide
    assert NGramLM(11).fit(np.arange(50) % 65, 65).wide


def test_word_level_order_5_fits_and_scores_tiny_shakespeare_in_seconds():
    path = DATA / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"{path} not present")
    from zoo.tokenizers import WordTokenizer

    text = path.read_text(encoding="utf-8")
    split = int(len(text) * 0.9)
    tok = WordTokenizer.fit(text[:split], min_count=2)
    train, val = tok.encode(text[:split]), tok.encode(text[split:])
    start = time.perf_counter()
    lm = NGramLM(5, "mkn").fit(train, tok.vocab_size)
    nats = -lm.score(val).sum()
    elapsed = time.perf_counter() - start
    assert lm.wide and tok.vocab_size > 7000
    assert elapsed < 5.0, f"fit + score took {elapsed:.2f}s"
    assert 1.0 < nats / len(text[split:]) / np.log(2) < 3.5  # bits per character, a sane range
