"""Shared helpers for the benchmarks: timing, alternating comparisons, and the environment record.

Every benchmark prints ONE JSON line. Machines drift between fast and slow levels for seconds at a
time, so implementations are compared by alternating them in one run and quoting the median of the
per-pair ratios, not two single timings.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy

from tinygrad_lm import allocator

allocator.configure_from_environment()  # as `python -m zoo` does: keep freed host memory for reuse


def require_device(device: str, script: str) -> None:
    """Exit with one line on stderr when ``device`` is a GPU and CuPy or the GPU is missing."""
    import tinygrad_lm as tg

    if device != "cpu" and not tg.cuda.is_available():
        raise SystemExit(
            f"{script}: --device {device} needs CuPy and an NVIDIA GPU, and tinygrad_lm.cuda.is_available() "
            "is False here (pip install -e '.[gpu]' on a machine with a GPU, or use --device cpu)"
        )


def synchronizer(device: str) -> Callable[[], None]:
    """A function that waits for the GPU's queued work (``cupy.cuda.Device().synchronize()``), to
    call before reading the clock; a no-op on the CPU, where every op has finished when it returns."""
    if device == "cpu":
        return lambda: None
    import cupy

    return lambda: cupy.cuda.Device().synchronize()


def torch_synchronizer(torch, device: str) -> Callable[[], None]:
    """The same for PyTorch: ``torch.cuda.synchronize()`` on a GPU, a no-op on the CPU."""
    return torch.cuda.synchronize if device != "cpu" else (lambda: None)


def synchronized(fn: Callable[[], object], sync: Callable[[], None]) -> Callable[[], None]:
    """``fn`` followed by ``sync``: a call returns only when its GPU work is done."""

    def call() -> None:
        fn()
        sync()

    return call


def gpu_environment(torch=None) -> dict:
    """The GPU, CuPy's and CUDA's versions, TF32 settings (and PyTorch's CUDA build): for GPU figures."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    env = {
        "gpu": props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"]),
        "cupy": cupy.__version__,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "cuda_driver": cupy.cuda.runtime.driverGetVersion(),
        "cupy_tf32": os.environ.get("CUPY_TF32", "0"),
    }
    if torch is not None:
        env["torch_cuda"] = torch.version.cuda
        env["torch_tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    return env


def text_ids(path: str) -> tuple[numpy.ndarray, int]:
    """A text file as character ids (sorted characters, as the zoo's character tokenizer) and the
    vocabulary size (65 for Tiny Shakespeare)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    return numpy.array([lookup[c] for c in text], dtype=numpy.int64), len(chars)


def text_batches(
    ids: numpy.ndarray, count: int, batch: int, length: int
) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    """``count`` seeded batches of random windows of ``ids``: (x, y) of shape (batch, length)."""
    rng = numpy.random.default_rng(0)
    starts = rng.integers(0, len(ids) - length - 1, (count, batch))
    windows = [numpy.stack([ids[s : s + length + 1] for s in row]) for row in starts]
    return [(w[:, :-1].copy(), w[:, 1:].copy()) for w in windows]


def time_call(fn: Callable[[], object], repeats: int = 1) -> float:
    """Seconds per call of ``fn`` (mean over ``repeats`` back-to-back calls)."""
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


SETTLE_S = 0.2
WARM_CALLS = 3


def settled_call(fn: Callable[[], object], calls: int = WARM_CALLS) -> float:
    """Seconds per call of ``fn`` running warm: a pause of ``SETTLE_S``, one untimed call, then
    ``calls`` back-to-back calls timed together.

    BLAS and OpenMP worker threads keep spinning for a while after their last task; when two
    libraries alternate in one process, the threads of the one that just ran take cores from the
    other (PyTorch's GPT step ran far slower right after a NumPy step). The pause lets them go to
    sleep. The untimed call then wakes this library's own threads and refills the caches, so the
    timed calls see what a training loop sees: steps back to back. (Timing one step straight after
    the pause measured a cold step: ``bench_gpt.py`` gave 76-80 ms for our GPT step and 59-60 ms for
    PyTorch's that way, 63-75 ms and 52-59 ms warm.)
    """
    time.sleep(SETTLE_S)
    fn()
    return time_call(fn, calls)


def alternate(
    ours: Callable[[], object], reference: Callable[[], object] | None, rounds: int, warmup: int = 2
) -> dict:
    """Time ``ours`` and ``reference`` alternately; medians and the median of per-round ratios."""
    for _ in range(warmup):
        ours()
        if reference is not None:
            reference()
    our_times, ref_times = [], []
    for _ in range(rounds):
        our_times.append(settled_call(ours))
        if reference is not None:
            ref_times.append(settled_call(reference))
    result = {"ours_ms": 1e3 * statistics.median(our_times)}
    if reference is not None:
        result["torch_ms"] = 1e3 * statistics.median(ref_times)
        result["ratio"] = statistics.median(a / b for a, b in zip(our_times, ref_times, strict=True))
    return result


def token_batches(
    count: int, batch: int, length: int, vocab_size: int
) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    """``count`` seeded random (x, y) batches of token ids (batch, length), y the next tokens of x;
    the same arrays for both implementations of a benchmark."""
    rng = numpy.random.default_rng(0)
    windows = [rng.integers(0, vocab_size, (batch, length + 1)) for _ in range(count)]
    return [(w[:, :-1].copy(), w[:, 1:].copy()) for w in windows]


def try_torch():
    """PyTorch if it is installed (a reference only, never a dependency), else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def blas_name() -> str:
    """NumPy's BLAS with its thread count (threadpoolctl if installed, else OpenBLAS asked directly)."""
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(
            f"{i['internal_api']} {i['version']} threads={i['num_threads']}" for i in threadpool_info()
        )
    except ImportError:
        pass
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:
        name = "unknown"
    threads = openblas_threads()
    return name if threads is None else f"{name} threads={threads}"


OPENBLAS_THREAD_QUERIES = (
    "scipy_openblas_get_num_threads64_",  # the OpenBLAS NumPy's wheels bundle
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def openblas_threads() -> int | None:
    """The thread count of the OpenBLAS loaded by NumPy (Linux: found in /proc/self/maps), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for symbol in OPENBLAS_THREAD_QUERIES:
            if hasattr(library, symbol):
                return int(getattr(library, symbol)())
    return None


def environment(torch=None) -> dict:
    """Versions, BLAS, thread settings and the load average: what a figure depends on."""
    env = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "blas": blas_name(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "thread_env": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    return env


def emit(record: dict) -> None:
    print(json.dumps(record, sort_keys=False))
