"""Every setting is checked before any work starts: one line naming it, what is allowed, exit code 2."""

from __future__ import annotations

import pytest

from zoo.cli import main

TINY = "markov:order=1,vocab=4,n_train=3000,n_val=600"

BAD_SETTINGS = [
    ("gpt", "batch_size=0", "batch_size=0 is not allowed; expected an integer >= 1"),
    ("gpt", "context_length=0", "context_length=0 is not allowed"),
    ("gpt", "n_layers=0", "n_layers=0 is not allowed"),
    ("gpt", "n_heads=5", "n_heads=5 does not divide d_model=48"),
    ("gpt", "d_model=0", "d_model=0 is not allowed"),
    ("gpt", "dropout=1", "dropout=1.0 is not allowed; expected a number in [0, 1)"),
    ("gpt", "gelu=relu", "gelu='relu' is not allowed; expected one of 'tanh', 'none'"),
    ("gpt", "learning_rate=-1", "learning_rate=-1.0 is not allowed; expected a finite number > 0"),
    ("gpt", "learning_rate=nan", "learning_rate=nan is not allowed"),
    ("gpt", "learning_rate=inf", "learning_rate=inf is not allowed"),
    ("gpt", "min_lr=1", "min_lr=1.0 is above learning_rate=0.002"),
    ("gpt", "warmup_steps=-1", "warmup_steps=-1 is not allowed; expected an integer >= 0"),
    ("gpt", "grad_clip=-1", "grad_clip=-1.0 is not allowed; expected a finite number > 0, or none"),
    ("gpt", "grad_clip=0", "grad_clip=0.0 is not allowed"),
    ("gpt", "beta2=1", "beta2=1.0 is not allowed"),
    ("gpt", "weight_decay=-0.1", "weight_decay=-0.1 is not allowed"),
    ("gpt", "eval_points=0", "eval_points=0 is not allowed"),
    ("gpt", "eval_tokens=0", "eval_tokens=0 is not allowed"),
    ("lstm", "cell=gru", "cell='gru' is not allowed; the lstm model's cell is 'lstm' (use --model gru)"),
    ("lstm", "d_hidden=0", "d_hidden=0 is not allowed"),
    ("mlp", "n_context=0", "n_context=0 is not allowed"),
    ("ngram", "smoothing=foo", "smoothing='foo' is not allowed; expected one of 'addk', 'kn', 'mkn'"),
    ("ngram", "k=nan", "k=nan is not allowed; expected a finite number > 0"),
    ("ngram", "k=0", "k=0.0 is not allowed"),
    ("ngram", "order=-1", "order=-1 is not allowed; expected an integer >= 0"),
    ("ngram", "max_order=0", "max_order=0 is not allowed"),
    ("ngram", "order=40", "order=40 is too high for 4 token types"),
]


def refused(args, capsys) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "training" not in captured.out  # refused before any work
    return captured.err


@pytest.mark.parametrize(
    "model, setting, message", BAD_SETTINGS, ids=[f"{m}-{s}" for m, s, _ in BAD_SETTINGS]
)
def test_a_bad_setting_is_refused_in_one_line_before_training(tmp_path, capsys, model, setting, message):
    args = ["train", "--model", model, "--dataset", TINY, "--quick", "--steps", "2", "--no-progress"]
    error = refused([*args, "--out", str(tmp_path / "run"), "--set", setting], capsys)
    assert message in error and f"{model}: " in error
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "model, corpus, message",
    [
        (
            "gpt",
            "markov:vocab=4,n_train=30,n_val=600",
            "training split has 30 tokens; training needs at least 33",
        ),
        (
            "lstm",
            "markov:vocab=4,n_train=100,n_val=600",
            "training needs at least 1,025 (batch_size x context",
        ),
    ],
)
def test_a_corpus_too_small_for_the_model_is_refused_with_the_sizes_needed(
    tmp_path, capsys, model, corpus, message
):
    args = ["train", "--model", model, "--dataset", corpus, "--quick", "--steps", "2", "--no-progress"]
    assert message in refused([*args, "--out", str(tmp_path / "run")], capsys)


@pytest.mark.parametrize(
    "option", ["--steps", "--pause-at", "--eval-points", "--eval-tokens", "--val-tokens"]
)
def test_zero_counts_on_the_command_line_are_refused(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "gpt", "--dataset", TINY, option, "0", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert f"{option} needs a positive integer, got '0'" in capsys.readouterr().err
