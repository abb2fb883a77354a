"""ARPA: the n-gram's export read back gives its probabilities; a hand-written file gives the
probabilities computed by hand; malformed files are errors naming the line; KenLM agrees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.checkpoints import load_checkpoint
from zoo.cli import main
from zoo.models import BackoffLM, NGramLM, read_arpa, write_arpa
from zoo.models.arpa import ArpaError, char_of, text_as_words, word_of
from zoo.tokenizers import CharTokenizer

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "it", "(x)", "<s>"]


def _text(seed: int, n_words: int) -> str:
    """Words joined by spaces, tabs and newlines: characters ARPA cannot hold as words."""
    rng = np.random.default_rng(seed)
    separators = rng.choice([" ", " ", " ", "\n", "\t"], size=n_words)
    return "".join(w + s for w, s in zip(rng.choice(WORDS, size=n_words), separators, strict=True))


TRAIN, HELD_OUT = _text(0, 3000), _text(1, 300)
TOKENIZER = CharTokenizer.fit(TRAIN + HELD_OUT, extra_chars="§")  # "§" never occurs: an unseen unigram


def _fit(order: int, smoothing: str) -> NGramLM:
    return NGramLM(order, smoothing).fit(TOKENIZER.encode(TRAIN), TOKENIZER.vocab_size)


def _random_contexts(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Contexts of every length from the text (seen histories) and random ones (mostly unseen)."""
    ids, contexts = TOKENIZER.encode(HELD_OUT), []
    for _ in range(count):
        length = int(rng.integers(0, 7))
        start = int(rng.integers(0, len(ids) - length))
        seen = ids[start : start + length]
        contexts.append(seen if rng.random() < 0.6 else rng.integers(0, TOKENIZER.vocab_size, size=length))
    return contexts


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("smoothing", ["kn", "mkn"])
def test_exported_model_read_back_gives_the_same_probabilities(order, smoothing, tmp_path) -> None:
    model, path = _fit(order, smoothing), tmp_path / "model.arpa"
    write_arpa(model, TOKENIZER, path)
    arpa = NGramLM.from_arpa(path, TOKENIZER)
    assert isinstance(arpa, BackoffLM) and arpa.order == order
    for context in _random_contexts(np.random.default_rng(order), 40):
        expected, got = model.next_token_probs(context), arpa.next_token_probs(context)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)  # repr prints 17 digits
        assert abs(got.sum() - 1.0) < 1e-13
    held_out = TOKENIZER.encode(HELD_OUT)
    np.testing.assert_allclose(arpa.score(held_out), model.score(held_out), rtol=1e-13, atol=1e-13)


def test_add_k_is_exported_at_order_1_and_refused_above(tmp_path) -> None:
    unigram = NGramLM(1, "addk", k=0.5).fit(TOKENIZER.encode(TRAIN), TOKENIZER.vocab_size)
    write_arpa(unigram, TOKENIZER, tmp_path / "addk.arpa")
    back = read_arpa(tmp_path / "addk.arpa", TOKENIZER)
    np.testing.assert_allclose(back.next_token_probs([]), unigram.next_token_probs([]), rtol=1e-13)
    bigram = NGramLM(2, "addk").fit(TOKENIZER.encode(TRAIN), TOKENIZER.vocab_size)
    with pytest.raises(ValueError, match="add-k has no exact ARPA form above order 1"):
        write_arpa(bigram, TOKENIZER, tmp_path / "bigram.arpa")
    assert not (tmp_path / "bigram.arpa").exists()


def test_words_symbols_and_special_tokens(tmp_path) -> None:
    assert [word_of(c) for c in " \n\t(<§"] == ["<U+0020>", "<U+000A>", "<U+0009>", "(", "<", "§"]
    assert all(char_of(word_of(c)) == c for c in TOKENIZER.chars)
    write_arpa(_fit(2, "mkn"), TOKENIZER, tmp_path / "m.arpa")
    text = (tmp_path / "m.arpa").read_text(encoding="utf-8")
    header, body = text.split("\\data\\")
    assert "# <U+000A>\t'\\n'" in header and "# <U+0020>\t' '" in header
    unigrams = body.split("\\1-grams:\n")[1].split("\n\n")[0].splitlines()
    assert len(unigrams) == TOKENIZER.vocab_size + 3
    assert {line.split("\t")[1] for line in unigrams} == {word_of(c) for c in TOKENIZER.chars} | {
        "<s>", "</s>", "<unk>"}  # fmt: skip
    assert "-99.0\t<s>\t0.0" in unigrams  # P(w | <s>) backs off to P(w) with weight 1
    bigrams = body.split("\\2-grams:\n")[1].split("\n\n")[0].splitlines()
    assert bigrams and all(len(line.split()) == 3 for line in bigrams)  # no word holds whitespace


def test_the_tokenizers_unk_character_is_arpas_unk(tmp_path) -> None:
    tokenizer = CharTokenizer.fit("abcab?", unk="?")
    model = NGramLM(2, "kn").fit(tokenizer.encode("abcab?abca"), tokenizer.vocab_size)
    write_arpa(model, tokenizer, tmp_path / "m.arpa")
    text = (tmp_path / "m.arpa").read_text()
    assert "\t<unk>\t" in text and "\t?\t" not in text
    arpa = read_arpa(tmp_path / "m.arpa", tokenizer)
    np.testing.assert_allclose(arpa.next_token_probs([1]), model.next_token_probs([1]), rtol=1e-13)
    assert text_as_words("ab x", tokenizer).split() == ["a", "b", "<unk>", "<unk>"]


# ----------------------------------------------------------------------- a file written by hand
HAND = [
    "This text before \\data\\ is allowed (SRILM writes none, KenLM '#' lines).",  # 1
    "",  # 2
    "\\data\\",  # 3
    "ngram 1=4",  # 4
    "ngram 2=2",  # 5
    "ngram  3 = 1",  # 6
    "",  # 7
    "\\1-grams:",  # 8
    "-0.3010299956639812\ta\t-0.5",  # 9
    "-0.3010299956639812 b -0.2",  # 10
    "-99\t<s>\t0",  # 11
    "-99\t</s>",  # 12
    "",  # 13
    "\\2-grams:",  # 14
    "-0.1\ta b\t-0.3",  # 15
    "-0.7\tb b",  # 16
    "",  # 17
    "\\3-grams:",  # 18
    "-0.05\ta b b",  # 19
    "",  # 20
    "\\end\\",  # 21
]
AB = CharTokenizer(["a", "b"])


def _write(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "hand.arpa"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_a_hand_written_file_gives_the_hand_computed_probabilities(tmp_path) -> None:
    arpa = read_arpa(_write(tmp_path, HAND), AB)
    a, b = 0, 1
    expected = {
        ((), a): 0.5,
        ((a,), b): 10**-0.1,  # listed
        ((a,), a): 10**-0.5 * 0.5,  # b(a) P(a)
        ((b,), a): 10**-0.2 * 0.5,  # b(b) P(a)
        ((b,), b): 10**-0.7,
        ((a, b), b): 10**-0.05,  # listed trigram
        ((a, b), a): 10**-0.3 * 10**-0.2 * 0.5,  # b(a b) b(b) P(a)
        ((b, a), a): 10**-0.5 * 0.5,  # (b a) is not listed: weight 1, then b(a) P(a)
        ((b, b), b): 10**-0.7,  # (b b) is listed without a weight: 1
        ((a, a, b), b): 10**-0.05,  # only the last two tokens count at order 3
    }
    for (context, token), probability in expected.items():
        assert arpa.probabilities(np.array([context or [-1]]), np.array([[token]]))[0, 0] == pytest.approx(
            probability, rel=1e-15
        ), (context, token)
    np.testing.assert_allclose(
        arpa.score(np.array([a, a, b, b])),
        [math.log(10**-0.5 * 0.5), math.log(10**-0.1), math.log(10**-0.05)],
        rtol=1e-15,
    )


BROKEN = {  # what is wrong: (how to break HAND, the error expected)
    "no data line": (lambda t: t[:2] + t[3:], r"hand\.arpa: no \\data\\ line"),
    "a bad count line": (lambda t: t[:4] + ["ngram 2=x"] + t[5:], r":5: expected 'ngram 2=COUNT'"),
    "a missing section": (lambda t: t[:13] + t[17:], r"hand\.arpa:14: expected the \\2-grams: section"),
    "a wrong count": (lambda t: t[:4] + ["ngram 2=3"] + t[5:], r":14: the \\2-grams: section lists 2 "),
    "a bad number": (lambda t: t[:15] + ["-0.7x\tb b"] + t[16:], r"hand\.arpa:16: '-0\.7x' is not a number"),
    "a bad backoff": (lambda t: t[:9] + ["-0.3 b nan"] + t[10:], r"hand\.arpa:10: the log10 backoff"),
    "a positive log": (lambda t: t[:8] + ["0.3\ta\t-0.5"] + t[9:], r":9: the log10 probability 0\.3"),
    "too many fields": (lambda t: t[:18] + ["-0.05 a b b -1"] + t[19:], r":19: a 3-gram entry has 4 fields"),
    "too few fields": (lambda t: t[:14] + ["-0.1 a"] + t[15:], r":15: a 2-gram entry has 3 or 4 fields"),
    "a repeated entry": (lambda t: t[:15] + ["-0.7 a b"] + t[16:], r":16: the 2-gram 'a b' is listed twice"),
    "no end": (lambda t: t[:20], r"hand\.arpa:21: expected \\end\\, got the end of the file"),
    "an unknown word": (lambda t: t[:15] + ["-0.7 b c"] + t[16:], r"'c'\] appear in n-grams but have no"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_malformed_files_are_errors_naming_the_line(case, tmp_path) -> None:
    edit, message = BROKEN[case]
    with pytest.raises(ArpaError, match=message):
        read_arpa(_write(tmp_path, edit(list(HAND))), AB)


def test_tokens_missing_from_the_file_need_its_unk(tmp_path) -> None:
    abc = CharTokenizer(["a", "b", "c"])
    with pytest.raises(ArpaError, match="1 token\\(s\\) have no unigram and the file has no <unk>: c"):
        read_arpa(_write(tmp_path, HAND), abc)
    with_unk = HAND[:3] + ["ngram 1=5"] + HAND[4:12] + ["-2\t<unk>\t0"] + HAND[12:]
    arpa = read_arpa(_write(tmp_path, with_unk), abc)
    assert arpa.probabilities(np.array([[0]]), np.array([[2]]))[0, 0] == pytest.approx(10**-0.5 * 10**-2)


# ------------------------------------------------------------------------- command line, KenLM
def test_export_command_writes_arpa_and_never_replaces_a_file(tmp_path, capsys) -> None:
    out = tmp_path / "ngram"
    data = "markov:order=1,vocab=4,n_train=3000,n_val=600"
    assert main(["train", "--model", "ngram", "--dataset", data, "--set", "order=3", "--out", str(out)]) == 0
    arpa = tmp_path / "model.arpa"
    args = ["export", "--checkpoint", str(out / "checkpoint.npz"), "--format", "arpa", "-o", str(arpa)]
    assert main(args) == 0 and "ARPA backoff form" in capsys.readouterr().out
    fitted, tokenizer, _, _ = load_checkpoint(out / "checkpoint.npz")
    back = read_arpa(arpa, tokenizer)
    np.testing.assert_allclose(back.next_token_probs([1, 2]), fitted.next_token_probs([1, 2]), rtol=1e-13)
    assert main(args) == 2 and "exists" in capsys.readouterr().err  # never over an earlier result


def test_kenlm_scores_the_export_as_the_zoo_does(tmp_path) -> None:
    kenlm = pytest.importorskip("kenlm")
    model = _fit(5, "mkn")
    write_arpa(model, TOKENIZER, tmp_path / "model.arpa")
    scores = kenlm.Model(str(tmp_path / "model.arpa")).full_scores(
        text_as_words(HELD_OUT, TOKENIZER), bos=False, eos=False
    )
    kenlm_nats = np.array([log10 for log10, _, _ in scores])[1:] * math.log(10)  # the zoo skips token 0
    np.testing.assert_allclose(kenlm_nats, model.score(TOKENIZER.encode(HELD_OUT)), atol=2e-6)  # float32


def test_the_one_accessor_reads_wide_keys_as_it_reads_codes():
    """``seen_ngrams`` decodes both naming schemes of ``zoo.models.ngram_keys`` to the same rows."""
    from zoo.models.backoff_form import seen_ngrams

    ids = np.random.default_rng(7).integers(0, 6, 3000)
    codes = NGramLM(order=4, smoothing="mkn", keys="codes").fit(ids, vocab_size=6)
    wide = NGramLM(order=4, smoothing="mkn", keys="wide").fit(ids, vocab_size=6)
    assert wide.wide and not codes.wide
    for m in range(1, 5):
        np.testing.assert_array_equal(seen_ngrams(wide, m), seen_ngrams(codes, m))
