"""``mpiexec -n 2 python -m mpi4py -m zoo train``: data-parallel training from the command line.

Paused and resumed equals uninterrupted bit for bit, its checkpoint serves ``sample`` and ``eval`` in
one process, a rank count that does not fit is an error on every rank, and a rank that raises ends
the job. Each test starts ``mpiexec`` itself and skips without it (tests/mpi_launch.py).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from mpi_launch import run_ranks

import tinygrad_lm as tg
from zoo.cli import main

COMMON = ["--quick", "--no-progress", "--eval-points", "2"]
TINY = ["--model", "gpt", *COMMON, "--set", "batch_size=4", "n_layers=1", "d_model=16", "n_heads=2"]
TINY_LSTM = ["--model", "lstm", *COMMON, "--set", "batch_size=4", "d_hidden=16", "d_embed=8"]


def zoo_train(out, *extra, model=TINY, ranks=2, timeout=120):
    done = run_ranks(["-m", "zoo", "train", *model, "--out", str(out), *extra], ranks, timeout)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def flat_state(path):
    """Every array of a checkpoint's weights and optimizer state, by name."""
    checkpoint = tg.load(path)
    arrays = {f"model.{k}": tg.asnumpy(v.data) for k, v in checkpoint["model"].items()}
    for i, state in checkpoint["optimizer"]["state"].items():
        for key, value in state.items():
            arrays[f"opt.{i}.{key}"] = np.asarray(tg.asnumpy(getattr(value, "data", value)))
    return arrays, checkpoint["state"]


def test_two_ranks_paused_and_resumed_equal_uninterrupted_and_the_checkpoint_serves_one_process(
    tmp_path, capsys
):
    whole = zoo_train(tmp_path / "whole", "--steps", "6")
    assert whole.splitlines()[0] == "data-parallel training on 2 ranks over MPI"
    assert "global batch 4 = 2 ranks x 2 rows" in whole
    assert whole.count("step      6") == 1  # rank 0 alone prints
    zoo_train(tmp_path / "paused", "--steps", "6", "--pause-at", "4")
    paused_state = tg.load(tmp_path / "paused" / "checkpoint.npz")["state"]
    assert paused_state["step"] == 4
    resumed = zoo_train(tmp_path / "paused", "--resume", "--steps", "6", model=["--no-progress"])
    assert "at step 4" in resumed and resumed.count("step      6") == 1
    (a, state_a), (b, state_b) = (
        flat_state(tmp_path / "whole" / "checkpoint.npz"),
        flat_state(tmp_path / "paused" / "checkpoint.npz"),
    )
    assert state_a["step"] == state_b["step"] == 6 and state_a["tokens"] == 6 * 4 * 32
    assert a.keys() == b.keys() and any(name.startswith("opt.") for name in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert [p["val"] for p in state_a["curve"]] == [p["val"] for p in state_b["curve"]]
    assert tg.load(tmp_path / "whole" / "checkpoint.npz")["zoo"]["ranks"] == 2
    checkpoint = str(tmp_path / "whole" / "checkpoint.npz")
    capsys.readouterr()
    assert main(["sample", "--checkpoint", checkpoint, "--tokens", "20", "--prompt", "def "]) == 0
    assert main(["eval", "--checkpoint", checkpoint, "--val-tokens", "2000"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("def ") and "gpt from" in printed and "nats_per_token" in printed
    # and one process may continue it, saying that the sums now run in another order
    out = str(tmp_path / "whole")
    assert main(["train", "--out", out, "--resume", "--steps", "7", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "trained on 2 rank(s) and continues on 1" in printed and "parameters, 7 steps" in printed


def test_a_recurrent_model_on_two_ranks_resumes_bit_for_bit_with_the_whole_hidden_state(tmp_path):
    zoo_train(tmp_path / "whole", "--steps", "6", model=TINY_LSTM)
    zoo_train(tmp_path / "paused", "--steps", "6", "--pause-at", "3", model=TINY_LSTM)
    hidden = tg.load(tmp_path / "paused" / "checkpoint.npz")["streams"]["hidden"]
    assert [tuple(h.shape) for h in hidden] == [(1, 4, 16), (1, 4, 16)]  # (h, c) of all 4 streams
    assert "at step 3" in zoo_train(tmp_path / "paused", "--resume", "--steps", "6", model=["--no-progress"])
    whole, paused = (tg.load(tmp_path / run / "checkpoint.npz") for run in ("whole", "paused"))
    assert whole["state"]["step"] == paused["state"]["step"] == 6
    for name, value in whole["model"].items():
        np.testing.assert_array_equal(tg.asnumpy(value.data), tg.asnumpy(paused["model"][name].data))
    for h_whole, h_paused in zip(whole["streams"]["hidden"], paused["streams"]["hidden"], strict=True):
        np.testing.assert_array_equal(tg.asnumpy(h_whole.data), tg.asnumpy(h_paused.data))


def test_a_rank_count_that_does_not_fit_the_batch_is_an_error_on_every_rank(tmp_path):
    done = run_ranks(["-m", "zoo", "train", *TINY, "--steps", "2", "--out", str(tmp_path)], ranks=3)
    assert done.returncode != 0
    assert done.stderr.count("batch_size 4 does not split over 3 ranks") == 3, done.stderr
    assert not (tmp_path / "checkpoint.npz").exists()


FAILING_RANK = """
import sys
from tinygrad_lm import distributed as dist
from zoo import train
from zoo.cli import main

original = train.Trainer.train_step


def train_step(self):
    if dist.get_rank() == 1 and self.state.step == 3:
        raise RuntimeError("rank 1 fails at step 3 on purpose")
    return original(self)


train.Trainer.train_step = train_step
sys.exit(main(sys.argv[1:]))
"""


def test_a_rank_that_raises_mid_training_ends_the_job_within_30_seconds(tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(FAILING_RANK)
    started = time.monotonic()
    done = run_ranks(
        [str(script), "train", *TINY, "--steps", "1000", "--out", str(tmp_path / "run")], timeout=60
    )
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    assert "rank 1 fails at step 3 on purpose" in done.stderr


def test_a_wide_key_ngram_and_explicit_gpus_are_refused_under_a_launcher(tmp_path, monkeypatch):
    ngram = ["-m", "zoo", "train", "--model", "ngram", "--quick", "--tokenizer", "word"]
    done = run_ranks([*ngram, "--out", str(tmp_path)])
    assert done.returncode != 0
    assert "needs wide keys" in done.stderr and "fit it in one process (without mpiexec)" in done.stderr
    assert not (tmp_path / "checkpoint.npz").exists()

    from zoo.parallel import join_launched_ranks

    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(ValueError, match="--device cuda:1 under an MPI launcher: give --device cuda"):
        join_launched_ranks("cuda:1")
