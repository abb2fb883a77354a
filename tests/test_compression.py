"""Model-driven compression: exact round trips for every model kind (any unicode, unseen characters,
empty input), the n-gram's batched and step-by-step distributions bit-identical, the coded size at
the model's cross-entropy, and every kind of bad file rejected before or instead of garbage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.adaptive import compress_adaptive, decompress_adaptive
from zoo.catalog import build_model
from zoo.coding import row_cumulative
from zoo.compressed_file import CompressedFileError, model_identity
from zoo.compression import (
    compress,
    decompress,
    encode_symbols,
    from_symbols,
    step_frequencies,
    to_symbols,
)
from zoo.models import NGramLM
from zoo.predictors import NGramPredictor, ngram_probabilities
from zoo.surprisal import surprisal_bits
from zoo.tokenizers import CharTokenizer

TRAIN = "the quick brown fox jumps over the lazy dog. " * 20 + "THE END!\n"
TOKENIZER = CharTokenizer.fit(TRAIN)
IDS = TOKENIZER.encode(TRAIN)
NGRAM = NGramLM(5, "mkn").fit(IDS, TOKENIZER.vocab_size)
IDENTITY = model_identity({"model": "ngram"}, NGRAM.state_dict())


def tiny(name: str, **config):
    model = build_model(name, TOKENIZER.vocab_size, quick=True, **config)
    model.eval()
    return model


TINY_GRU = tiny("gru", d_embed=4, d_hidden=8)
texts = st.text(max_size=300) | st.text(alphabet=TRAIN + "é☃😀\x00\n", max_size=300)


def round_trip(model, text: str) -> bytes:
    original = text.encode("utf-8")
    packed = compress(model, TOKENIZER, IDENTITY, original)
    assert decompress(model, TOKENIZER, IDENTITY, packed) == original
    return packed


@settings(max_examples=60, deadline=None)
@given(texts)
def test_ngram_round_trips_any_unicode(text):
    round_trip(NGRAM, text)


@settings(max_examples=15, deadline=None)
@given(texts)
def test_tiny_neural_model_round_trips_any_unicode(text):
    round_trip(TINY_GRU, text)


@pytest.mark.parametrize("name", ["bigram", "mlp", "rnn", "lstm", "gru", "gpt"])
def test_every_neural_kind_round_trips_past_its_window(name):
    sizes = {"gpt": {"d_model": 8, "n_heads": 2, "n_layers": 1, "context_length": 16}}
    model = tiny(name, **sizes.get(name, {"context_length": 16}))
    round_trip(model, TRAIN[:100] + "ü" + TRAIN[:50])  # 150 tokens: the windows restart several times


def test_long_inputs_round_trip():
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list(TRAIN + "ÅΩ"), size=10_000))
    round_trip(NGRAM, text)
    round_trip(TINY_GRU, text[:2_000])


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet="abcde\n", min_size=1, max_size=400),
    st.text(alphabet="abcdef\n", max_size=200),
    st.integers(1, 6),
    st.sampled_from(["mkn", "kn", "addk"]),
)
def test_ngram_step_path_is_bit_identical_to_the_batched_path(train, text, order, smoothing):
    tokenizer = CharTokenizer.fit(train + "abcdef\n")
    model = NGramLM(order, smoothing, k=0.3).fit(tokenizer.encode(train), tokenizer.vocab_size)
    ids = tokenizer.encode(text)
    batched = np.concatenate(list(ngram_probabilities(model, ids, chunk=64)))
    predictor = NGramPredictor(model)
    for position in range(len(ids) + 1):
        step = predictor.next_probs()
        assert np.array_equal(step, batched[position]), position
        assert np.array_equal(
            row_cumulative(step, extra=1), step_frequencies(batched[position : position + 1])[0]
        )
        if position < len(ids):
            predictor.push(ids[position])


def test_coded_size_is_the_cross_entropy_plus_a_few_bytes():
    text = TRAIN[::-1][:800]
    encoded = encode_symbols(NGRAM, to_symbols(text, TOKENIZER))
    exact = -np.log2(np.exp(NGRAM.score(TOKENIZER.encode(text)))).sum()
    exact += -np.log2(NGRAM.next_token_probs([])[TOKENIZER.encode(text[0])[0]])  # the first character
    assert abs(encoded.ideal_bits - exact) < 1e-6 * exact
    assert encoded.ideal_bits / 8 - 1 <= len(encoded.payload) <= encoded.ideal_bits / 8 * 1.0001 + 2


def test_unseen_characters_are_escaped_and_restored():
    symbols = to_symbols("ab\u00e9c\U0001f600", CharTokenizer.fit("abc"))
    assert symbols.ids.tolist() == [0, 1, 2] and symbols.escapes == [(2, "\u00e9"), (3, "\U0001f600")]
    assert (
        from_symbols(symbols.ids.tolist(), symbols.escapes, CharTokenizer.fit("abc")) == "ab\u00e9c\U0001f600"
    )


def test_a_tokenizer_with_unk_still_round_trips_unseen_characters():
    tokenizer = CharTokenizer.fit("abc?", unk="?")
    model = NGramLM(2).fit(tokenizer.encode("abcabc?"), tokenizer.vocab_size)
    original = b"abc?xyz"
    packed = compress(model, tokenizer, IDENTITY, original)
    assert decompress(model, tokenizer, IDENTITY, packed) == original


# ------------------------------------------------------------------------------------ bad files
PACKED = compress(NGRAM, TOKENIZER, IDENTITY, TRAIN[:300].encode())


def test_another_checkpoint_is_rejected():
    other = NGramLM(3, "mkn").fit(IDS, TOKENIZER.vocab_size)
    other_identity = model_identity({"model": "ngram"}, other.state_dict())
    assert other_identity != IDENTITY
    with pytest.raises(CompressedFileError, match="another model"):
        decompress(other, TOKENIZER, other_identity, PACKED)


@pytest.mark.parametrize("keep", [0, 5, 60, len(PACKED) - 1])
def test_truncated_files_are_rejected(keep):
    with pytest.raises(CompressedFileError, match="truncated|magic"):
        decompress(NGRAM, TOKENIZER, IDENTITY, PACKED[:keep])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(PACKED) - 1), st.integers(1, 255))
def test_any_flipped_byte_is_rejected(position, flip):
    damaged = bytearray(PACKED)
    damaged[position] ^= flip
    with pytest.raises(CompressedFileError):
        decompress(NGRAM, TOKENIZER, IDENTITY, bytes(damaged))


def test_a_foreign_file_and_a_non_utf8_input_are_rejected():
    import gzip

    with pytest.raises(CompressedFileError, match="not a file written by"):
        decompress(NGRAM, TOKENIZER, IDENTITY, gzip.compress(b"hello"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: byte 2 is 0xff"):
        compress(NGRAM, TOKENIZER, IDENTITY, b"ab\xffcd")


def test_surprisal_is_the_models_minus_log2_p_per_character():
    text = TRAIN[:60] + "\u00e9" + TRAIN[60:90]
    bits = surprisal_bits(NGRAM, TOKENIZER, text)
    known = TRAIN[:60] + TRAIN[60:90]
    expected = -NGRAM.score(TOKENIZER.encode(known)) / np.log(2)
    assert len(bits) == len(text) and np.isnan(bits[60])
    assert np.allclose(np.delete(np.array(bits), 60)[1:], expected, rtol=1e-12)


# --------------------------------------------------------------------- no checkpoint: adaptive
@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2000) | texts.map(lambda text: text.encode("utf-8")))
def test_the_adaptive_byte_model_round_trips_any_bytes(original):
    packed = compress_adaptive(original)
    assert decompress_adaptive(packed) == original


def test_the_adaptive_model_learns_as_it_codes_and_refuses_a_checkpoints_file():
    original = TRAIN.encode()
    assert len(compress_adaptive(original)) < len(original) / 4  # 20 repeats: it has learned them
    with pytest.raises(CompressedFileError, match="--checkpoint"):
        decompress_adaptive(PACKED)
    with pytest.raises(CompressedFileError, match="another model"):
        decompress(NGRAM, TOKENIZER, IDENTITY, compress_adaptive(original))
