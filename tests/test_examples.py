"""Every ``examples/*.py`` runs with ``--smoke`` (in a subprocess) and says in its docstring what it shows.

Examples that read a downloadable corpus find it through ``$TINYGRAD_LM_CACHE`` pointed at the
shared data directory, and are skipped when that file is absent.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NEEDS_DATA = {"train_gpt_shakespeare.py": "tinyshakespeare.txt"}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_with_smoke(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if not any(env.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        env["OPENBLAS_NUM_THREADS"] = "1"  # small matrices: threads only spin on busy cores
    needed = NEEDS_DATA.get(script.name)
    if needed is not None:
        if not (DATA / needed).is_file():
            pytest.skip(f"{DATA / needed} is absent")
        env["TINYGRAD_LM_CACHE"] = str(DATA)
    result = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert result.stdout.strip()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_explains_itself(script):
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring and len(docstring.splitlines()) >= 3, f"{script.name} needs a docstring"
    assert "--smoke" in script.read_text(encoding="utf-8")
