"""The BLAS thread count of ``python -m zoo``, chosen before NumPy is imported (no NumPy here).

In order: ``--threads N``; else ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS``
when set; else chosen here from the CPUs this process may use (``os.sched_getaffinity``) and how busy
they are right now: a 0.1 s sample of ``/proc/stat``, in which a CPU counts as idle when something
else kept it busy less than a quarter of the time. BLAS gets one thread per idle CPU, at least one.

Why not simply all CPUs: a multi-threaded OpenBLAS spins its threads while it waits, so on cores that
another process is using, each of its calls waits for a scheduler time slice (training steps measured
5-50x slower on two shared cores), while on idle cores two threads make the nanoGPT-sized GPT step
about a quarter faster. Where ``/proc/stat`` cannot be read the 1-minute load average stands in for
the sample. OpenBLAS reads its thread count once, when NumPy loads it, hence this look at the command
line ahead of the parser (which validates ``--threads`` itself). The compiled kernels keep their own
default of one thread (``tinygrad_lm.kernels``).
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SAMPLE_SECONDS = 0.1
IDLE_BELOW = 0.25  # a CPU busy less than this share of the sample is idle


class ThreadChoice(NamedTuple):
    threads: int
    reason: str  # "--threads", the variable's name, or how the automatic choice was made

    def describe(self) -> str:
        return f"{self.threads} BLAS thread{'' if self.threads == 1 else 's'} ({self.reason})"


CHOICE: ThreadChoice | None = None  # what set_blas_threads chose in this process


def requested_threads(argv: list[str]) -> str | None:
    """The value of ``--threads N`` or ``--threads=N`` in ``argv`` if it is a positive integer."""
    for k, word in enumerate(argv):
        value = argv[k + 1] if word == "--threads" and k + 1 < len(argv) else None
        value = word.partition("=")[2] if word.startswith("--threads=") else value
        if value is not None and value.isdigit() and int(value) > 0:
            return value
    return None


def usable_cpus() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times(path: str = "/proc/stat") -> dict[int, tuple[int, int]]:
    """{cpu: (busy, total)} clock ticks since boot; busy excludes idle and I/O wait, includes steal."""
    times = {}
    with open(path) as stat:
        for line in stat:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                ticks = [int(f) for f in fields[:8]]
                times[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))
    return times


def busy_shares(cpus: list[int], seconds: float = SAMPLE_SECONDS) -> list[float] | None:
    """The share of the next ``seconds`` each CPU spent busy, or None where /proc/stat is missing."""
    try:
        before = _cpu_times()
        time.sleep(seconds)
        after = _cpu_times()
    except (OSError, ValueError):
        return None
    shares = []
    for cpu in cpus:
        (busy0, total0), (busy1, total1) = before.get(cpu, (0, 0)), after.get(cpu, (0, 0))
        shares.append((busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0)
    return shares


def choose_threads(cpus: int, shares: list[float] | None, load_average: float) -> ThreadChoice:
    """One thread per idle CPU, at least one: from the sampled shares, else from the load average."""
    if shares is not None:
        idle = sum(share < IDLE_BELOW for share in shares)
        return ThreadChoice(max(1, idle), f"auto: {idle} of {cpus} CPUs idle")
    idle = max(0, int(cpus - load_average + 1 - IDLE_BELOW))
    return ThreadChoice(max(1, idle), f"auto: load average {load_average:.2f} on {cpus} CPUs")


def set_blas_threads(argv: list[str], environ: dict = os.environ) -> ThreadChoice:
    """Set the thread variables from ``--threads`` or the automatic choice, unless the environment
    already names a count; remember and return the choice."""
    global CHOICE
    threads = requested_threads(argv)
    named = next((v for v in THREAD_VARIABLES if environ.get(v)), None)
    if threads:
        CHOICE = ThreadChoice(int(threads), "--threads")
    elif named and environ[named].isdigit():
        CHOICE = ThreadChoice(int(environ[named]), named)
        return CHOICE
    else:
        cpus = usable_cpus()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        CHOICE = choose_threads(len(cpus), busy_shares(cpus), load)
    environ.update(dict.fromkeys(THREAD_VARIABLES, str(CHOICE.threads)))
    return CHOICE


def blas_threads(environ: dict = os.environ) -> str:
    """What this process runs with, for the first line a command prints."""
    if CHOICE is not None:
        return CHOICE.describe()
    for variable in THREAD_VARIABLES:
        if environ.get(variable, "").isdigit():
            return ThreadChoice(int(environ[variable]), variable).describe()
    return "BLAS's default threads"
