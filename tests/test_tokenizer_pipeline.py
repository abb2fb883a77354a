"""``--tokenizer`` through train, sample, eval and compare; checkpoints keep their tokenizer."""

from __future__ import annotations

import json

import pytest

import tinygrad_lm as tg
from zoo.checkpoints import load_checkpoint
from zoo.cli import main
from zoo.tokenizer_spec import parse_tokenizer_list, parse_tokenizer_spec
from zoo.tokenizers import ByteBPETokenizer, CharTokenizer, WordTokenizer

SENTENCES = [
    "The cat sat on the mat, and the dog sat by the door.\n",
    "A dog is not a cat; the cat knows it.\r\n",
    "Where is the hat? On the cat, of course!\n",
    "Naïve birds sing at dawn, then sleep.\n\n",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "story.txt"
    path.write_text("".join(SENTENCES[(i * 7) % 4] for i in range(160)) + "Zebras! 42 unseen words.\n")
    return f"file:{path}"


@pytest.mark.parametrize(
    "spec, expected",
    [("char", ("char", None)), ("bpe:512", ("bpe", 512)), ("word", ("word", 2)), ("word:5", ("word", 5))],
)
def test_specs_parse(spec, expected):
    assert parse_tokenizer_spec(spec) == expected


@pytest.mark.parametrize("spec", ["bpe", "bpe:0", "word:0", "words", "bpe:x", ""])
def test_bad_specs_name_the_option_the_value_and_what_is_expected(spec):
    with pytest.raises(ValueError, match=r"--tokenizer: .* expected char, bpe:N"):
        parse_tokenizer_spec(spec)


def test_a_tokenizer_list_refuses_duplicates():
    assert parse_tokenizer_list("char, bpe:8,word") == ("char", "bpe:8", "word")
    with pytest.raises(ValueError, match="twice"):
        parse_tokenizer_list("char,char")


def test_a_bad_tokenizer_stops_train_before_any_work(tmp_path, capsys, corpus):
    out = tmp_path / "run"
    assert (
        main(["train", "--model", "ngram", "--dataset", corpus, "--tokenizer", "bpe:0", "--out", str(out)])
        == 2
    )
    assert "--tokenizer: 'bpe:0'" in capsys.readouterr().err and not out.exists()


GPT_TINY = ["--quick", "--set", "batch_size=4", "context_length=16", "--budget", "256", "--no-progress"]


@pytest.mark.parametrize(
    "model, spec, kind",
    [
        ("ngram", "bpe:30", ByteBPETokenizer),
        ("ngram", "word:2", WordTokenizer),
        ("gpt", "bpe:30", ByteBPETokenizer),
        ("gpt", "word:2", WordTokenizer),
        ("gru", "word:1", WordTokenizer),
    ],
)
def test_a_checkpoint_keeps_its_tokenizer_and_samples_and_evaluates_after_reload(
    tmp_path, capsys, corpus, model, spec, kind
):
    extra = GPT_TINY if model != "ngram" else ["--set", "order=3"]
    args = [
        "train",
        "--model",
        model,
        "--dataset",
        corpus,
        "--tokenizer",
        spec,
        *extra,
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    row = results["models"][0]
    assert row["tokenizer"] == spec and results["corpus"]["tokenizer"] == spec
    checkpoint = tmp_path / "checkpoint.npz"
    tokenizer = load_checkpoint(checkpoint).tokenizer
    assert isinstance(tokenizer, kind) and tokenizer.vocab_size == row["vocab_size"]
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(checkpoint), "--prompt", "The zebra", "--tokens", "8"]) == 0
    assert capsys.readouterr().out.startswith("The zebra")
    assert main(["eval", "--checkpoint", str(checkpoint), "--tokenizer", spec]) == 0
    printed = capsys.readouterr().out
    assert f"{row['val']['bits_per_char']:.4f}" in printed and "bits_per_byte" in printed
    assert main(["eval", "--checkpoint", str(checkpoint), "--tokenizer", "char"]) == 2
    assert f"reads {spec} tokens" in capsys.readouterr().err


def test_checkpoints_without_a_tokenizer_type_still_load(tmp_path, capsys, corpus):
    """Checkpoints written before the other tokenizers stored only the characters."""
    assert (
        main(["train", "--model", "ngram", "--dataset", corpus, "--set", "order=2", "--out", str(tmp_path)])
        == 0
    )
    path = tmp_path / "checkpoint.npz"
    state = tg.load(path)
    del state["zoo"]["tokenizer"]["type"]
    tg.save(state, path)
    assert isinstance(load_checkpoint(path).tokenizer, CharTokenizer)
    assert main(["eval", "--checkpoint", str(path)]) == 0


def test_compare_puts_every_model_under_every_tokenizer_on_one_leaderboard(tmp_path, capsys, corpus):
    out = tmp_path / "run"
    args = ["compare", "--dataset", corpus, "--models", "ngram,gpt", "--tokenizer", "char,bpe:30,word:2"]
    options = ["--quick", "--budget", "256", "--val-tokens", "300", "--no-progress", "--out", str(out)]
    assert main([*args, *options]) == 0
    results = json.loads((out / "results.json").read_text())
    rows = results["models"]
    assert sorted((m["name"], m["tokenizer"]) for m in rows) == sorted(
        (name, spec) for name in ("ngram", "gpt") for spec in ("char", "bpe:30", "word:2")
    )
    bits = [m["val"]["bits_per_char"] for m in rows]
    assert bits == sorted(bits)
    assert {m["val"]["characters"] for m in rows} == {300}  # the same validation text under every tokenizer
    assert all(m["val"]["tokens_per_char"] > 0 and m["vocab_size"] > 0 for m in rows)
    assert [t["tokenizer"] for t in results["tokenizers"]] == ["char", "bpe:30", "word:2"]
    printed = capsys.readouterr().out
    assert "bits/char" in printed and "word:2" in printed and "bpe:30" in printed
    assert sum(bool(m["embeddings"]) for m in rows) == 3  # the GPT under each tokenizer
    report = (out / "report.md").read_text()
    assert "Nearest neighbours" in report and "gpt [word:2]" in report
    assert (out / "embeddings.png").stat().st_size > 0
