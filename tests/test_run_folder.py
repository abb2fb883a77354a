"""The train command never destroys work: existing runs, concurrent runs, killed saves, NaN losses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tinygrad_lm as tg
from zoo import run_folder
from zoo.cli import main

TINY = "markov:order=1,vocab=4,n_train=3000,n_val=600"
MLP = ["train", "--model", "mlp", "--dataset", TINY, "--quick", "--set", "batch_size=8", "--no-progress"]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_run(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / run_folder.CHECKPOINT_NAME).write_bytes(b"an earlier run")


def test_a_folder_holding_a_run_is_refused_without_resume_or_force(tmp_path):
    make_run(tmp_path)
    with pytest.raises(run_folder.FolderInUse, match="already holds a run .*--resume.*--force"):
        run_folder.claim(tmp_path, resume=False, force=False)
    assert run_folder.claim(tmp_path, resume=False, force=True) == []
    run_folder.release(tmp_path)
    assert run_folder.claim(tmp_path, resume=True, force=False) == []
    run_folder.release(tmp_path)
    assert not (tmp_path / run_folder.LOCK_NAME).exists()


def test_a_live_lock_is_refused_naming_its_pid_and_a_dead_one_taken_over(tmp_path):
    parent = os.getppid()  # alive while this test runs
    (tmp_path / run_folder.LOCK_NAME).write_text(f"{parent}\n")
    with pytest.raises(run_folder.FolderInUse, match=f"in use by process {parent}"):
        run_folder.claim(tmp_path, resume=False, force=False)
    gone = dead_pid()
    (tmp_path / run_folder.LOCK_NAME).write_text(f"{gone}\n")
    notes = run_folder.claim(tmp_path, resume=False, force=False)
    assert notes == [f"took over the stale lock {tmp_path / '.lock'} of process {gone}, which no longer runs"]
    assert (tmp_path / run_folder.LOCK_NAME).read_text() == f"{os.getpid()}\n"
    run_folder.release(tmp_path)


def test_release_leaves_another_process_lock_alone(tmp_path):
    (tmp_path / run_folder.LOCK_NAME).write_text(f"{os.getppid()}\n")
    run_folder.release(tmp_path)
    assert (tmp_path / run_folder.LOCK_NAME).exists()


def test_temporaries_of_killed_saves_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / f".checkpoint.npz.{dead_pid()}.0badf00d.tmp"
    live = tmp_path / f".checkpoint.npz.{os.getppid()}.12345678.tmp"
    stale.write_bytes(b"x" * 2_000_000)
    live.write_bytes(b"y")
    notes = run_folder.claim(tmp_path, resume=False, force=False)
    assert notes == ["removed 1 temporary file(s) of interrupted saves (2.0 MB)"]
    assert not stale.exists() and live.exists()
    run_folder.release(tmp_path)


def test_train_refuses_an_existing_run_and_leaves_it_intact(tmp_path, capsys):
    make_run(tmp_path)
    assert main([*MLP, "--steps", "2", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--resume" in error and "--force" in error
    assert (tmp_path / "checkpoint.npz").read_bytes() == b"an earlier run"


def test_train_refuses_a_folder_locked_by_a_running_process(tmp_path, capsys):
    tmp_path.joinpath(".lock").write_text(f"{os.getppid()}\n")
    assert main([*MLP, "--steps", "2", "--out", str(tmp_path)]) == 2
    assert f"in use by process {os.getppid()}" in capsys.readouterr().err
    assert not (tmp_path / "checkpoint.npz").exists()


def test_a_non_finite_loss_stops_with_exit_1_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    diverging = [*MLP, "--set", "batch_size=8", "learning_rate=1e30", "--steps", "12", "--eval-points", "12"]
    diverging += ["--out", str(tmp_path)]
    with pytest.warns(RuntimeWarning):
        assert main(diverging) == 1
    captured = capsys.readouterr()
    assert "training stopped at step 2: the validation loss is nan" in captured.err
    assert "wrote" not in captured.out
    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    assert checkpoint["state"]["step"] == 1
    assert all(bool(tg.get_xp(v.data).isfinite(v.data).all()) for v in checkpoint["model"].values())
    assert not (tmp_path / ".lock").exists()


def test_resume_refuses_options_that_would_change_the_run(tmp_path, capsys):
    assert main([*MLP, "--steps", "3", "--pause-at", "1", "--out", str(tmp_path)]) == 0
    resume = ["train", "--out", str(tmp_path), "--resume", "--no-progress"]
    for extra, named in [
        (["--model", "gpt"], "--model gpt (the run has mlp)"),
        (["--dataset", "names"], f"--dataset names (the run has {TINY})"),
        (["--set", "d_hidden=7"], "--set (the run keeps its settings)"),
        (["--seed", "3"], "--seed 3 (the run has 0)"),
    ]:
        assert main([*resume, *extra]) == 2, extra
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and named in error and "another --out" in error
    assert main([*resume, "--model", "mlp", "--dataset", TINY]) == 0  # the same values: no conflict
    assert "resuming from" in capsys.readouterr().out


def test_compare_refuses_to_overwrite_earlier_results(tmp_path, capsys):
    (tmp_path / "results.json").write_text('{"earlier": true}')
    assert main(["compare", "--dataset", TINY, "--quick", "--models", "ngram", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "already holds a comparison" in error and "--force" in error
    assert (tmp_path / "results.json").read_text() == '{"earlier": true}'
