"""The BLAS thread count of ``python -m zoo``, fixed before NumPy is imported (no NumPy here).

BLAS runs single-threaded unless ``--threads N`` is given or ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set: a multi-threaded OpenBLAS on busy cores spins
(training steps measured 5-50x slower on two shared cores), while on idle cores two threads make the
nanoGPT-sized GPT step about a quarter faster. OpenBLAS reads its thread count once, when NumPy loads
it, hence this look at the command line ahead of the parser (which validates ``--threads`` itself).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def requested_threads(argv: list[str]) -> str | None:
    """The value of ``--threads N`` or ``--threads=N`` in ``argv`` if it is a positive integer."""
    for k, word in enumerate(argv):
        value = argv[k + 1] if word == "--threads" and k + 1 < len(argv) else None
        value = word.partition("=")[2] if word.startswith("--threads=") else value
        if value is not None and value.isdigit() and int(value) > 0:
            return value
    return None


def set_blas_threads(argv: list[str], environ: dict = os.environ) -> None:
    """Set the thread variables from ``--threads``, or to 1 where none of them is set."""
    threads = requested_threads(argv)
    if threads or not any(environ.get(variable) for variable in THREAD_VARIABLES):
        environ.update(dict.fromkeys(THREAD_VARIABLES, threads or "1"))


def blas_threads(environ: dict = os.environ) -> str:
    """What the environment says this process runs with, for the training header."""
    for variable in THREAD_VARIABLES:
        if environ.get(variable):
            return f"{environ[variable]} BLAS thread" + ("" if environ[variable] == "1" else "s")
    return "BLAS's default threads"
