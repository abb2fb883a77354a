"""``python -m zoo``: help, the comparison run, train/resume, sample, eval, and one-line input errors.

Everything runs on a tiny synthetic corpus with token budgets, so results are exact and fast; the
commands that train run as subprocesses (the real entry point, which sets BLAS to one thread).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import tinygrad_lm as tg
from zoo import catalog
from zoo.cli import main
from zoo.threads import ThreadChoice, blas_threads, busy_shares, choose_threads, set_blas_threads, usable_cpus
from zoo.train import Budget

TINY = "markov:order=1,vocab=4,n_train=3000,n_val=600"
TIME_KEYS = ("second", "created", "command", "out")


def zoo(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def without_times(obj):
    """``obj`` (results.json) without wall-clock figures, which differ between identical runs."""
    if isinstance(obj, dict):
        return {k: without_times(v) for k, v in obj.items() if not any(t in k for t in TIME_KEYS)}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj


def read_results(directory) -> dict:
    return json.loads((directory / "results.json").read_text())


# ----------------------------------------------------------------------------------- parsing
def test_help_describes_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("compare", "train", "sample", "eval", "export", "import"))
    expected = {
        "compare": [
            "--dataset",
            "--models",
            "--budget",
            "--device",
            "--seed",
            "--out",
            "--quick",
            "--no-progress",
        ],
        "train": ["--model", "--steps", "--budget", "--set", "--resume", "--pause-at", "--out"],
        "sample": ["--checkpoint", "--prompt", "--tokens", "--temperature", "--top-k", "--top-p", "--seed"],
        "eval": ["--checkpoint", "--dataset", "--data-path"],
        "export": ["--checkpoint", "--format", "--output", "--layout", "--force"],
        "import": ["INPUT", "--format", "--output", "--force"],
    }
    for command, options in expected.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert all(option in out for option in options), (command, out)


def test_budgets_parse_time_and_tokens():
    assert Budget.parse("60s") == Budget(seconds=60.0)
    assert Budget.parse("1.5m") == Budget(seconds=90.0)
    assert Budget.parse("2M") == Budget(tokens=2_000_000)
    assert Budget.parse("500k") == Budget(tokens=500_000)
    assert Budget.parse("20000") == Budget(tokens=20_000)
    for bad in ("", "10x", "-5s", "0", "1.5k0"):
        with pytest.raises(ValueError, match="bad budget"):
            Budget.parse(bad)


def test_settings_are_converted_to_the_declared_types():
    model, training = catalog.parse_settings(["d_model=64", "bias=false", "learning_rate=3e-3"], "gpt")
    assert model == {"d_model": 64, "bias": False} and training == {"learning_rate": 0.003}
    with pytest.raises(ValueError, match="valid keys: context_length"):
        catalog.parse_settings(["width=3"], "gpt")
    with pytest.raises(ValueError, match="not a valid int"):
        catalog.parse_settings(["d_model=big"], "gpt")
    with pytest.raises(ValueError, match="not allowed"):
        catalog.parse_settings(["vocab_size=3"], "lstm")


@pytest.mark.parametrize("name", list(catalog.CATALOG))
def test_every_catalog_entry_builds(name):
    tg.manual_seed(0)
    overrides = {} if catalog.model_spec(name).neural else {"order": 3}
    model = catalog.build_model(name, 7, quick=True, **overrides)
    assert model.context_length >= 1
    with pytest.raises(ValueError, match="valid models: ngram"):
        catalog.model_spec("transformer")


# ----------------------------------------------------------------------------------- compare
def test_compare_is_reproducible_and_writes_the_report(tmp_path):
    runs = []
    for name in ("first", "second"):
        result = zoo(
            "compare",
            "--dataset",
            TINY,
            "--quick",
            "--budget",
            "1500",
            "--no-progress",
            "--out",
            str(tmp_path / name),
        )
        assert result.returncode == 0, result.stderr
        runs.append(read_results(tmp_path / name))
    assert without_times(runs[0]) == without_times(runs[1])

    out, results = result.stdout, runs[1]
    assert "Leaderboard" in out and "entropy floor" in out and "above floor" in out
    names = [m["name"] for m in results["models"]]
    assert sorted(names) == sorted(catalog.DEFAULT_MODELS) and all(f"--- {n} ---" in out for n in names)
    losses = [m["val"]["nats_per_token"] for m in results["models"]]
    assert losses == sorted(losses)
    ngram = next(m for m in results["models"] if m["name"] == "ngram")
    assert [o["order"] for o in ngram["orders"]] == list(range(1, 9))
    for m in results["models"]:
        if m["name"] != "ngram":
            assert m["tokens"] >= 1500 and m["curve"] and m["seconds"] > 0 and m["sample"]
    assert set(results["versions"]) >= {"python", "numpy", "tinygrad_lm"}
    for file in ("report.md", "curves.png", "bits_per_char.png", "attention.png"):
        assert (tmp_path / "second" / file).stat().st_size > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--models", "ngram,transformer"], "valid models: ngram"),
        (["--dataset", "wikipedia"], "valid: python-docs"),
        (["--dataset", "file:/no/such/file.txt"], "not found"),
        (["--dataset", "shakespeare", "--data-path", "/no/such/input.txt"], "not found"),
        (["--device", "cuda"], "CUDA is not available"),
    ],
    ids=["model", "dataset", "file", "data-path", "cuda"],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    if "cuda" in args and tg.cuda.is_available():
        pytest.skip("CUDA is available here")
    result = zoo("compare", *args, "--quick", "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


# -------------------------------------------------------------------------- train / sample / eval
TRAIN = [
    "train",
    "--model",
    "gpt",
    "--dataset",
    TINY,
    "--quick",
    "--set",
    "batch_size=8",
    "--budget",
    "2k",
    "--no-progress",
]
"""GPT --quick with batch 8 x context 32 = 256 tokens a step: 2,000 tokens are 8 steps."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpt")
    result = zoo(*TRAIN, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "step" in result.stdout and "val" in result.stdout
    return out


def test_resuming_gives_the_same_result_as_a_straight_run(trained, tmp_path):
    paused = zoo(*TRAIN, "--pause-at", "4", "--out", str(tmp_path))
    assert paused.returncode == 0 and "paused at step 4" in paused.stdout, paused.stderr
    resumed = zoo("train", "--out", str(tmp_path), "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    straight, continued = read_results(trained)["models"][0], read_results(tmp_path)["models"][0]
    assert straight["tokens"] == continued["tokens"] == 2048
    assert straight["val"] == continued["val"]
    assert [p["val"] for p in straight["curve"]] == [p["val"] for p in continued["curve"]]


def test_threads_option_sets_the_blas_threads(tmp_path):
    environ = {}
    assert set_blas_threads(["train", "--threads=3"], environ) == ThreadChoice(3, "--threads")
    assert environ["OPENBLAS_NUM_THREADS"] == environ["OMP_NUM_THREADS"] == "3"
    environ = {"OMP_NUM_THREADS": "2"}
    set_blas_threads(["train", "--threads", "x"], environ)  # invalid: the parser reports it
    assert environ == {"OMP_NUM_THREADS": "2"}
    assert blas_threads(environ) == "2 BLAS threads (OMP_NUM_THREADS)"
    environ = {}
    choice = set_blas_threads([], environ)  # nothing said: chosen from the idle CPUs
    assert 1 <= choice.threads <= len(usable_cpus()) and choice.reason.startswith("auto: ")
    assert environ["OPENBLAS_NUM_THREADS"] == str(choice.threads)
    result = zoo(*TRAIN, "--threads", "2", "--out", str(tmp_path))
    assert result.returncode == 0 and "on 2 BLAS threads (--threads), " in result.stdout, result.stderr
    result = zoo(*TRAIN, "--threads", "0", "--out", str(tmp_path / "bad"))
    assert result.returncode == 2 and "--threads needs a positive integer, got '0'" in result.stderr


def test_automatic_threads_are_one_per_idle_cpu():
    assert choose_threads(2, [0.02, 0.05], 0.1) == ThreadChoice(2, "auto: 2 of 2 CPUs idle")
    assert choose_threads(2, [0.97, 0.1], 1.0).threads == 1  # another process on one CPU
    assert choose_threads(2, [0.6, 0.5], 1.0).threads == 1  # one process moving between both
    assert choose_threads(4, [1.0, 1.0, 1.0, 1.0], 4.0) == ThreadChoice(1, "auto: 0 of 4 CPUs idle")
    assert choose_threads(2, None, 0.2).threads == 2 and choose_threads(2, None, 1.3).threads == 1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_a_busy_cpu_is_seen_as_busy():
    cpu = usable_cpus()[0]
    spin = f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\nend = time.time() + 5\n"
    spin += "while time.time() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)  # the spinner has started and pinned itself
        shares = busy_shares([cpu], seconds=0.2)
    finally:
        spinner.kill()
        spinner.wait()
    assert shares is not None and shares[0] > 0.8


def test_sample_is_seeded_and_refuses_unknown_characters(trained):
    checkpoint = str(trained / "checkpoint.npz")
    args = ["sample", "--checkpoint", checkpoint, "--prompt", "abc", "--tokens", "30", "--top-k", "3"]
    first, second = zoo(*args), zoo(*args)
    assert first.returncode == 0 and first.stdout == second.stdout
    assert first.stdout.startswith("abc") and len(first.stdout.rstrip("\n")) == 33
    assert set(first.stdout.strip()) <= set("abcd")
    bad = zoo("sample", "--checkpoint", checkpoint, "--prompt", "ROMEO:")
    assert bad.returncode == 2 and "outside the model's vocabulary" in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_eval_reproduces_the_final_figure(trained, capsys):
    assert main(["eval", "--checkpoint", str(trained / "checkpoint.npz")]) == 0
    final = read_results(trained)["models"][0]["val"]["nats_per_token"]
    assert f"{final:.4f}" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(trained / "checkpoint.npz"), "--dataset", "markov:vocab=6"]) == 2
    assert "outside the model's vocabulary" in capsys.readouterr().err


def test_ngram_trains_samples_and_evaluates(tmp_path, capsys):
    assert (
        main(["train", "--model", "ngram", "--dataset", TINY, "--set", "order=2", "--out", str(tmp_path)])
        == 0
    )
    results = read_results(tmp_path)["models"][0]
    assert results["config"]["order"] == 2 and results["orders"][0]["order"] == 2
    checkpoint = str(tmp_path / "checkpoint.npz")
    assert main(["sample", "--checkpoint", checkpoint, "--tokens", "12"]) == 0
    assert main(["eval", "--checkpoint", checkpoint]) == 0
    assert f"{results['val']['nats_per_token']:.4f}" in capsys.readouterr().out
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 2


def test_recurrent_models_checkpoint_and_resume(tmp_path, capsys):
    tiny = ["--set", "d_embed=4", "d_hidden=8", "context_length=8", "batch_size=4", "--budget", "640"]
    common = ["train", "--model", "lstm", "--dataset", TINY, *tiny, "--no-progress", "--out", str(tmp_path)]
    assert main([*common, "--pause-at", "10"]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 0
    assert read_results(tmp_path)["models"][0]["tokens"] == 640
    assert "resuming from" in capsys.readouterr().out
