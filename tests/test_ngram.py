"""zoo.models.ngram.NGramLM: hand-computed probabilities, a dict-counting reference, normalisation, sampling,
serialisation, a Markov source's entropy rate and the Tiny Shakespeare reference figures."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lm.backend import Generator, cuda
from zoo.models.ngram import FALLBACK_DISCOUNTS, NGramLM, kn_discounts, modified_kn_discounts

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
ABRACADABRA = [0, 1, 4, 0, 2, 0, 3, 0, 1, 4, 0]  # a b r a c a d a b r a with a=0 b=1 c=2 d=3 r=4


# ------------------------------------------------------------------------------- hand-computed values
def test_addk_by_hand():
    # after "a": ab x2, ac, ad -> c(a.) = 4; (c + 1) / (4 + 5)
    lm = NGramLM(order=2, smoothing="addk", k=1).fit(ABRACADABRA, vocab_size=5)
    np.testing.assert_allclose(lm.next_token_probs([2, 0]), np.array([1, 3, 2, 2, 1]) / 9, rtol=1e-14)
    # empty history: unigram counts a5 b2 c1 d1 r2 of 11 -> (c + 1/2) / (11 + 5/2)
    lm = NGramLM(order=3, smoothing="addk", k=0.5).fit(ABRACADABRA, vocab_size=5)
    np.testing.assert_allclose(lm.next_token_probs([]), np.array([5.5, 2.5, 1.5, 1.5, 2.5]) / 13.5)


def test_kneser_ney_by_hand():
    # Bigram counts: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1 -> n1 = 4, n2 = 3, D = 4 / (4 + 6) = 0.4.
    # Continuation counts N1+(. w), the text start counting as one left context:
    # a {r, c, d, start} = 4, b {a}, c {a}, d {a}, r {b} = 1 each; total 8; n1 = 4, n2 = 0 -> D = 1.
    # P1(w) = (max(N - 1, 0) + 1 * 5 / 5) / 8 = a 4/8, others 1/8.
    lm = NGramLM(order=2, smoothing="kn").fit(ABRACADABRA, vocab_size=5)
    np.testing.assert_allclose(lm.next_token_probs([]), [0.5, 0.125, 0.125, 0.125, 0.125], rtol=1e-14)
    # After "a": c(a.) = 4 over {b: 2, c: 1, d: 1}, gamma = 0.4 * 3 = 1.2.
    # P(b|a) = (2 - 0.4 + 1.2 * 0.125) / 4 = 0.4375, P(a|a) = 1.2 * 0.5 / 4 = 0.15, ...
    expected = [0.15, 0.4375, 0.1875, 0.1875, 0.0375]
    np.testing.assert_allclose(lm.next_token_probs([0]), expected, rtol=1e-14)


def test_modified_kneser_ney_by_hand_with_fallback_discounts():
    # Both orders lack n3 (bigrams) or n2 (unigrams): D = (0.5, 1, 1.5) at both.
    # Unigram: a has N = 4 -> 4 - 1.5 = 2.5, the others 1 - 0.5; gamma = 1.5 + 4 * 0.5 = 3.5.
    # P1(a) = (2.5 + 3.5 / 5) / 8 = 0.4, P1(other) = (0.5 + 0.7) / 8 = 0.15.
    lm = NGramLM(order=2, smoothing="mkn").fit(ABRACADABRA, vocab_size=5)
    np.testing.assert_allclose(lm.next_token_probs([]), [0.4, 0.15, 0.15, 0.15, 0.15], rtol=1e-14)
    # After "a": b count 2 -> 2 - 1, c and d count 1 -> 0.5; gamma = 1 + 0.5 + 0.5 = 2; c(a.) = 4.
    expected = [2 * 0.4 / 4, (1 + 2 * 0.15) / 4, (0.5 + 0.3) / 4, (0.5 + 0.3) / 4, 0.3 / 4]
    np.testing.assert_allclose(lm.next_token_probs([3, 0]), expected, rtol=1e-14)


def test_modified_kn_discounts_closed_form_and_fallback():
    # n = (10, 4, 2, 1): Y = 10/18, D1 = 1 - 8Y/10, D2 = 2 - 6Y/4, D3+ = 3 - 4Y/2
    np.testing.assert_allclose(modified_kn_discounts(10, 4, 2, 1), [5 / 9, 7 / 6, 17 / 9], rtol=1e-14)
    assert modified_kn_discounts(10, 4, 2, 0) == pytest.approx((5 / 9, 7 / 6, 3.0))  # D3+ = 3 is allowed
    assert modified_kn_discounts(3, 1, 2, 1) == FALLBACK_DISCOUNTS  # Tiny Shakespeare unigrams: D2 < 0
    assert modified_kn_discounts(0, 5, 5, 5) == FALLBACK_DISCOUNTS  # no singletons
    assert modified_kn_discounts(4, 3, 0, 1) == FALLBACK_DISCOUNTS  # division by n3 = 0
    assert FALLBACK_DISCOUNTS == (0.5, 1.0, 1.5)
    assert kn_discounts(4, 3) == pytest.approx((0.4,) * 3)
    assert kn_discounts(4, 0) == (1.0,) * 3
    assert kn_discounts(0, 7) == (0.5,) * 3


# ------------------------------------------------------------------ reference by plain dict counting
def reference_counts(seq: list[int], order: int, smoothing: str) -> dict[int, Counter]:
    """Counter of m-gram tuples per order: raw, or (KN below the top) distinct left neighbours."""
    grams = {m: [tuple(seq[i : i + m]) for i in range(len(seq) - m + 1)] for m in range(1, order + 1)}
    if smoothing == "addk":
        return {m: Counter(grams[m]) for m in grams}
    tables = {order: Counter(grams[order])}
    for m in range(1, order):
        left = defaultdict(set)
        for i, gram in enumerate(grams[m]):
            left[gram].add(seq[i - 1] if i > 0 else "start")
        tables[m] = Counter({gram: len(neighbours) for gram, neighbours in left.items()})
    return tables


def reference_discounts(counts: Counter, smoothing: str) -> list[float]:
    n = [sum(1 for c in counts.values() if c == r) for r in range(5)]
    if smoothing == "kn":
        return [0.5] * 3 if n[1] == 0 else [n[1] / (n[1] + 2 * n[2])] * 3
    if 0 in n[1:4]:
        return [0.5, 1.0, 1.5]
    y = n[1] / (n[1] + 2 * n[2])
    d = [1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]]
    return d if min(d) > 0 else [0.5, 1.0, 1.5]


class ReferenceModel:
    """The estimates of the module docstring, written out with dicts, one probability at a time."""

    def __init__(self, seq: list[int], order: int, smoothing: str, k: float, vocab: int) -> None:
        self.smoothing, self.k, self.vocab = smoothing, k, vocab
        self.tables = reference_counts(seq, order, smoothing)
        self.discounts = {m: reference_discounts(counts, smoothing) for m, counts in self.tables.items()}
        self.followers = {m: defaultdict(dict) for m in self.tables}  # followers[m][h][w] = c(h w)
        for m, counts in self.tables.items():
            for gram, c in counts.items():
                self.followers[m][gram[:-1]][gram[-1]] = c

    def prob(self, history: tuple, w: int) -> float:
        m = len(history) + 1
        counts = self.followers[m].get(history, {})
        total = sum(counts.values())
        if self.smoothing == "addk":
            return (counts.get(w, 0) + self.k) / (total + self.k * self.vocab)
        lower = self.prob(history[1:], w) if m > 1 else 1 / self.vocab
        if total == 0:
            return lower
        d = self.discounts[m]
        discount = lambda c: d[min(c, 3) - 1]
        gamma = sum(discount(c) for c in counts.values())
        c = counts.get(w, 0)
        return ((c - discount(c) if c else 0.0) + gamma * lower) / total


def markov_corpus(n: int, vocab: int, seed: int, concentration: float = 0.3) -> list[int]:
    rng = np.random.default_rng(seed)
    transition = rng.dirichlet(np.full(vocab, concentration), size=vocab)
    seq = [0]
    for _ in range(n - 1):
        seq.append(int(rng.choice(vocab, p=transition[seq[-1]])))
    return seq


@pytest.mark.parametrize("smoothing", ["addk", "kn", "mkn"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_dict_counting_reference(order, smoothing):
    seq = markov_corpus(3000, vocab=6, seed=order, concentration=0.2)
    vocab, k = 8, 0.3  # two symbols never occur
    lm = NGramLM(order, smoothing, k=k).fit(np.array(seq), vocab_size=vocab)
    reference = ReferenceModel(seq, order, smoothing, k, vocab)
    contexts = [seq[i - order + 1 : i] for i in range(order - 1, 60, 7)] + [[7, 4, 5][: order - 1], []]
    for context in contexts:
        history = tuple(context[len(context) - (order - 1) :]) if order > 1 else ()
        expected = [reference.prob(history, w) for w in range(vocab)]
        np.testing.assert_allclose(lm.next_token_probs(context), expected, rtol=1e-12, atol=0)
    if smoothing == "mkn" and order > 2:  # the closed form, not only the fallback, was exercised
        assert reference.discounts[order] != [0.5, 1.0, 1.5]
        assert reference.discounts[2] != [0.5, 1.0, 1.5]


def test_unseen_context_falls_through_to_the_lower_order():
    lm = NGramLM(order=3, smoothing="mkn").fit(ABRACADABRA, vocab_size=6)
    # "r b" never occurs: the trigram level contributes nothing; "b" occurs
    np.testing.assert_array_equal(lm.next_token_probs([4, 1]), lm.next_token_probs([1]))
    np.testing.assert_array_equal(lm.next_token_probs([5, 5]), lm.next_token_probs([]))


# ----------------------------------------------------------------------------------- normalisation
@settings(max_examples=80, deadline=None)
@given(
    corpus=st.lists(st.integers(0, 4), min_size=0, max_size=60),
    extra_vocab=st.integers(0, 3),
    order=st.integers(1, 5),
    smoothing=st.sampled_from(["addk", "kn", "mkn"]),
    k=st.floats(0.01, 3.0),
    context=st.lists(st.integers(0, 7), max_size=7),
)
def test_every_distribution_sums_to_one_and_is_positive(corpus, extra_vocab, order, smoothing, k, context):
    vocab = 5 + extra_vocab
    lm = NGramLM(order, smoothing, k=k).fit(np.array(corpus, dtype=np.int64), vocab_size=vocab)
    context = [t % vocab for t in context]
    probs = lm.next_token_probs(context)
    assert probs.shape == (vocab,) and probs.dtype == np.float64
    assert abs(probs.sum() - 1) < 1e-12
    assert (probs > 0).all()
    sequence = corpus[:5] + context + corpus[-3:]
    scores = lm.score(sequence)
    assert scores.shape == (max(len(sequence) - 1, 0),)
    expected = [math.log(lm.next_token_probs(sequence[:i])[sequence[i]]) for i in range(1, len(sequence))]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------- generation
def test_generate_is_reproducible_and_keeps_the_prompt():
    lm = NGramLM(order=3).fit(markov_corpus(2000, vocab=5, seed=0), vocab_size=5)
    prompt = np.array([[0, 1, 2], [4, 4, 4]])
    first = lm.generate(prompt, 40, generator=Generator(11))
    assert first.shape == (2, 43) and first.dtype == np.int64
    np.testing.assert_array_equal(first[:, :3], prompt)
    np.testing.assert_array_equal(lm.generate(prompt, 40, generator=Generator(11)), first)
    assert (lm.generate(prompt, 40, generator=Generator(12)) != first).any()
    assert lm.generate(np.zeros((3, 0), dtype=int), 5, generator=Generator(0)).shape == (3, 5)


@pytest.mark.parametrize("filters", [{"top_k": 2}, {"top_p": 0.5}, {"top_k": 1}])
def test_generate_never_emits_filtered_tokens(filters):
    lm = NGramLM(order=2, smoothing="kn").fit(markov_corpus(3000, vocab=6, seed=1), vocab_size=6)
    out = lm.generate(np.arange(6)[:, None], 30, generator=Generator(5), **filters)
    for row in out:
        for i in range(1, len(row)):
            probs = lm.next_token_probs(row[:i])
            ranked = np.sort(probs)[::-1]
            if "top_k" in filters:
                assert probs[row[i]] >= ranked[filters["top_k"] - 1]
            else:  # the head reaching mass 0.5 ends at the first rank whose cumulative mass >= 0.5
                last = np.argmax(np.cumsum(ranked) >= 0.5)
                assert probs[row[i]] >= ranked[last]


def test_greedy_generation_follows_the_argmax():
    lm = NGramLM(order=3).fit(markov_corpus(2000, vocab=5, seed=2), vocab_size=5)
    row = lm.generate([[1, 2]], 10, temperature=0)[0]
    for i in range(2, len(row)):
        assert row[i] == np.argmax(lm.next_token_probs(row[:i]))


# ------------------------------------------------------------------------------ errors and state
def test_argument_errors():
    with pytest.raises(ValueError, match="order"):
        NGramLM(order=0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(order=2, smoothing="witten-bell")
    with pytest.raises(ValueError, match="k must"):
        NGramLM(order=2, smoothing="addk", k=0)
    with pytest.raises(ValueError, match="int64"):  # the codes only; keys="auto" switches to wide keys
        NGramLM(order=11, keys="codes").fit([0, 1, 2], vocab_size=65)
    with pytest.raises(ValueError, match="keys must be one of"):
        NGramLM(order=2, keys="huge")
    with pytest.raises(ValueError, match="vocab_size"):
        NGramLM(order=2).fit([0, 5], vocab_size=5)
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(order=2).score([0, 1])
    lm = NGramLM(order=2).fit([0, 1, 2], vocab_size=3)
    with pytest.raises(ValueError, match="token ids"):
        lm.next_token_probs([3])
    with pytest.raises(ValueError, match="token ids"):
        lm.score([0, -1])
    assert lm.context_length == 1 and len(lm.score([1])) == 0


@pytest.mark.parametrize("smoothing", ["addk", "kn", "mkn"])
def test_state_dict_round_trip(smoothing):
    seq = markov_corpus(1000, vocab=5, seed=3)
    lm = NGramLM(4, smoothing, k=0.2).fit(seq, vocab_size=7)
    state = lm.state_dict()
    assert {type(v) for v in state.values() if not isinstance(v, list)} <= {str, int, float}
    assert all(isinstance(a, np.ndarray) for a in state["keys"] + state["counts"])
    restored = NGramLM.from_state_dict(state)
    np.testing.assert_array_equal(restored.score(seq[:300]), lm.score(seq[:300]))


def test_save_load_round_trip(tmp_path):
    seq = markov_corpus(1000, vocab=5, seed=4)
    lm = NGramLM(5, "mkn").fit(seq, vocab_size=5)
    lm.save(tmp_path / "ngram.ckpt")
    restored = NGramLM.load(tmp_path / "ngram.ckpt")
    assert (restored.order, restored.smoothing, restored.vocab_size) == (5, "mkn", 5)
    np.testing.assert_array_equal(restored.score(seq[:300]), lm.score(seq[:300]))


# ------------------------------------------------------------------------------ statistical checks
def test_markov_source_entropy_rate_is_reached():
    from zoo.synthetic import MarkovSource

    source = MarkovSource(order=2, vocab=6, seed=1, concentration=0.5)
    symbols = source.sample(1_200_000, Generator(0))
    lm = NGramLM(order=3, smoothing="mkn").fit(symbols[:1_000_000], vocab_size=6)
    nats = -lm.score(symbols[1_000_000:]).mean()
    assert abs(nats - source.entropy_rate) < 0.02


def tiny_shakespeare() -> tuple[np.ndarray, np.ndarray, int]:
    """nanoGPT's character split: train = first 90 %, vocab = sorted train characters."""
    path = DATA_DIR / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"{path} not found")
    text = path.read_text(encoding="utf-8")
    split = int(len(text) * 0.9)
    chars = sorted(set(text[:split]))
    lookup = np.zeros(max(map(ord, chars)) + 1, dtype=np.int64)
    lookup[[ord(c) for c in chars]] = np.arange(len(chars))
    ids = lookup[np.frombuffer(text.encode("utf-32-le"), dtype="<u4")]
    return ids[:split], ids[split:], len(chars)


@pytest.mark.parametrize("smoothing", ["kn", "mkn"])
def test_shakespeare_prefix_matches_the_reference(smoothing):
    """Real text, V = 65: the vectorised scores equal the dict reference position by position."""
    train, val, vocab = tiny_shakespeare()
    train, val = train[:30_000].tolist(), val[:400].tolist()
    order = 5
    lm = NGramLM(order, smoothing).fit(train, vocab)
    reference = ReferenceModel(train, order, smoothing, 1.0, vocab)
    expected = [
        math.log(reference.prob(tuple(val[max(0, i - order + 1) : i]), val[i])) for i in range(1, len(val))
    ]
    np.testing.assert_allclose(lm.score(val), expected, rtol=1e-12)


def test_shakespeare_prefix_orders_and_smoothings():
    train, val, vocab = tiny_shakespeare()
    train, val = train[:200_000], val[:20_000]
    nats = {
        (s, o): -NGramLM(o, s, k=0.05).fit(train, vocab).score(val).mean()
        for s in ("addk", "kn", "mkn")
        for o in (1, 3, 5)
    }
    assert nats[("mkn", 5)] < nats[("kn", 5)] < nats[("addk", 5)]
    assert nats[("mkn", 5)] < nats[("mkn", 3)] < nats[("mkn", 1)] < math.log(vocab)
    # regression value; the full-size figures are checked against other implementations (slow test)
    assert nats[("mkn", 5)] == pytest.approx(1.96944, abs=1e-4)


@pytest.mark.slow
def test_shakespeare_reference_figures():
    train, val, vocab = tiny_shakespeare()
    assert vocab == 65 and len(train) == 1_003_854 and len(val) == 111_540
    mkn7 = -NGramLM(7, "mkn").fit(train, vocab).score(val).mean()
    kn6 = -NGramLM(6, "kn").fit(train, vocab).score(val).mean()
    addk5 = min(-NGramLM(5, "addk", k=k).fit(train, vocab).score(val).mean() for k in (0.02, 0.03, 0.04))
    assert mkn7 == pytest.approx(1.517, abs=1e-3)
    assert kn6 == pytest.approx(1.558, abs=1e-3)
    assert addk5 == pytest.approx(1.750, abs=1e-3)


@pytest.mark.gpu
def test_cupy_counts_match_numpy():
    if not cuda.is_available():
        pytest.skip("CUDA not available")
    import cupy

    seq = markov_corpus(5000, vocab=6, seed=5)
    for smoothing in ("addk", "kn", "mkn"):
        cpu = NGramLM(4, smoothing, k=0.5).fit(np.array(seq), vocab_size=7)
        gpu = NGramLM(4, smoothing, k=0.5).fit(cupy.asarray(seq), vocab_size=7)
        assert gpu.device.startswith("cuda")
        np.testing.assert_allclose(gpu.score(seq[:2000]), cpu.score(seq[:2000]), rtol=1e-12)
        np.testing.assert_allclose(gpu.next_token_probs(seq[:9]), cpu.next_token_probs(seq[:9]), rtol=1e-12)
        prompt = [[0, 1], [2, 3]]
        np.testing.assert_array_equal(
            gpu.generate(prompt, 30, top_k=4, generator=Generator(1)),
            cpu.generate(prompt, 30, top_k=4, generator=Generator(1)),
        )
        moved = NGramLM.from_state_dict(cpu.state_dict(), device="cuda")
        np.testing.assert_allclose(moved.score(seq[:500]), cpu.score(seq[:500]), rtol=1e-12)
