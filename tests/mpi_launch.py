"""Start a Python script on 2 MPI ranks for the distributed tests (skip where no mpiexec exists)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def find_mpiexec() -> str | None:
    """``mpiexec`` next to this Python (``pip install mpich`` puts it there), else on PATH."""
    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def require_mpi() -> str:
    pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py, mpich) is not installed")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("no mpiexec next to the interpreter or on PATH")
    return mpiexec


def run_ranks(
    args: list[str], ranks: int = 2, timeout: float = 120, cwd: str | os.PathLike | None = None
) -> subprocess.CompletedProcess:
    """``mpiexec -n ranks python -m mpi4py *args`` with this checkout importable, one BLAS thread."""
    mpiexec = require_mpi()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def run_script(tmp_path: pathlib.Path, source: str, ranks: int = 2, timeout: float = 120) -> str:
    """Run ``source`` on ``ranks`` ranks; fail with both outputs unless every rank exits 0."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    done = run_ranks([str(script)], ranks, timeout)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout
