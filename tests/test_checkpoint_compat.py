"""Checkpoints written by an earlier release still load, and sample and score exactly as they did.

The fixtures in ``tests/data/checkpoints-0.1.0`` were written by tinygrad_lm 0.1.0 (before the zoo was
split by responsibility), together with what its ``sample`` printed for them (unchanged since) and what
``eval`` prints for them now (0.1.0's output is kept beside it: evaluation has since scored the first
validation token too; see the fixtures' README).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from zoo.cli import main

FIXTURES = Path(__file__).parent / "data" / "checkpoints-0.1.0"


def run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


@pytest.mark.parametrize("model", ["gpt", "lstm", "ngram"])
def test_an_old_checkpoint_samples_and_scores_as_it_did(model):
    checkpoint = str(FIXTURES / f"{model}.npz")
    sample = run(["sample", "--checkpoint", checkpoint, "--tokens", "40", "--seed", "3"])
    assert sample == (FIXTURES / f"{model}.sample.txt").read_text()
    scores = run(["eval", "--checkpoint", checkpoint, "--dataset", "markov:order=1,vocab=5"])
    assert scores.replace(checkpoint, "CHECKPOINT") == (FIXTURES / f"{model}.eval.txt").read_text()
