"""Compiled CPU kernels (numba, the optional ``fast`` extra) for the passes NumPy cannot fuse.

NumPy runs an expression such as layer norm's backward as a dozen separate single-threaded passes
over memory; a kernel here runs it as the loop of the math, once over the data, on every core. Each
kernel module (``activations``, ``layer_norm``, ``attention``, ``adam``, ``recurrent``) replaces the
NumPy formula of one op, which stays the reference, the path taken when numba is absent, and the test
oracle (``tests/test_kernels.py`` checks that the two agree to rounding).

How an op uses a kernel, first order only (``create_graph`` runs the Tensor formula, so second
derivatives are unchanged)::

    fast = kernels_for("activations", x)     # None: use the NumPy formula
    if fast is not None:
        return fast.gelu_tanh_forward(x)

``kernels_for`` answers None unless the kernels are switched on, numba imports, and every array is a
NumPy array of one floating dtype (float32 or float64): CuPy arrays, integers and mixed dtypes keep
the NumPy/CuPy formula. The switch is the environment variable ``TINYGRAD_LM_KERNELS`` (``0`` turns
the kernels off for the process) and ``use_kernels(False)`` (a function and a context manager).

Kernels compile on their first call for each dtype and are cached on disk (numba's ``cache=True``),
so later processes load them in milliseconds.

Threads: the kernels run on ONE thread, the caller's, unless ``set_kernel_threads(n)`` or the
environment variable ``TINYGRAD_LM_KERNEL_THREADS`` says otherwise. Measured on two cores with BLAS
on two threads (``benchmarks/bench_compiled.py --beside-blas``): a layer norm kernel takes 0.07 ms
on two kernel threads and a (768, 128) @ (128, 384) product 0.49 ms, but the two in turn take 8.0
ms, because each pool's threads keep spinning after their work and the other pool's threads wait
for a scheduler time slice; on one kernel thread the pair takes 0.73 ms, about the sum of its parts.
Turning the spinning off (``OPENBLAS_THREAD_TIMEOUT=4 OMP_WAIT_POLICY=passive``) brings the pair to
0.65 ms, but the whole GPT step to 80 ms against 65 ms with the default (``bench_gpt.py``): every
product then pays a wake-up. With BLAS on one thread, kernel threads do pay off.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
from types import ModuleType
from typing import Any

import numpy as np

ENVIRONMENT_VARIABLE = "TINYGRAD_LM_KERNELS"
THREADS_VARIABLE = "TINYGRAD_LM_KERNEL_THREADS"
KERNEL_MODULES = ("activations", "layer_norm", "attention", "adam", "recurrent")
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _Switch:
    """Whether kernels are used: the environment's choice, then ``use_kernels``; numba found once."""

    def __init__(self) -> None:
        choice = os.environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower()
        if choice not in ("", "1", "on", "true", "yes", "0", "off", "false", "no"):
            raise ValueError(
                f"{ENVIRONMENT_VARIABLE}={choice!r}: expected 1 (use the kernels) or 0 (NumPy only)"
            )
        self.wanted = choice not in ("0", "off", "false", "no")
        self._numba: bool | None = None

    @property
    def numba_found(self) -> bool:
        if self._numba is None:
            try:
                self._numba = importlib.util.find_spec("numba") is not None
            except (ImportError, ValueError):  # a broken install, or numba blocked in sys.modules
                self._numba = False
        return self._numba

    @property
    def on(self) -> bool:
        return self.wanted and self.numba_found


_SWITCH = _Switch()
_LOADED: dict[str, ModuleType] = {}
_THREADS: list[int] = []  # the kernel thread count once set (by the first kernel load or the caller)


def available() -> bool:
    """True when numba is installed (``pip install tinygrad_lm[fast]``)."""
    return _SWITCH.numba_found


def kernels_enabled() -> bool:
    """True when the ops call the compiled kernels: numba installed and the switch on."""
    return _SWITCH.on


class use_kernels:  # lower case: a function to its callers, like set_grad_enabled
    """Turn the compiled kernels on or off: ``use_kernels(False)`` for the rest of the process, or
    ``with use_kernels(False): ...`` for a block (the previous choice comes back at its end)."""

    def __init__(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(f"use_kernels: expected True or False, got {enabled!r}")
        self.previous = _SWITCH.wanted
        _SWITCH.wanted = enabled

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _SWITCH.wanted = self.previous


def kernels_for(module: str, *arrays: Any) -> ModuleType | None:
    """The kernel module ``module`` if its kernels apply to ``arrays``, else None (the NumPy path)."""
    if not _SWITCH.on:
        return None
    dtype = getattr(arrays[0], "dtype", None)
    if dtype not in _FLOAT_DTYPES or any(type(a) is not np.ndarray or a.dtype != dtype for a in arrays):
        return None
    loaded = _LOADED.get(module)
    if loaded is None:
        if module not in KERNEL_MODULES:
            raise ValueError(f"kernels_for: no kernel module {module!r}; expected one of {KERNEL_MODULES}")
        if not _THREADS:  # the first kernel: the environment's count unless the caller set one
            set_kernel_threads(_threads_from_environment())
        loaded = _LOADED[module] = importlib.import_module(f"{__name__}.{module}")
    return loaded


def kernel_threads() -> int:
    """The kernel thread count of this process (1 until set otherwise)."""
    return _THREADS[0] if _THREADS else 1


def _threads_from_environment() -> int:
    text = os.environ.get(THREADS_VARIABLE, "1").strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{THREADS_VARIABLE}={text!r}: expected a positive integer (kernel threads)")
    return int(text)


def set_kernel_threads(threads: int) -> None:
    """How many threads the kernels' loops use when called from this Python thread (numba's setting is
    per thread); at most numba's start-up count, the CPUs. Default 1, or ``TINYGRAD_LM_KERNEL_THREADS``
    (see the module docstring). On one thread the kernels run their serial builds and numba's thread
    pool is never started (starting its OpenMP pool resets the OpenMP thread count that PyTorch, in
    the same process, also reads)."""
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_kernel_threads: expected a positive int, got {threads!r}")
    if threads > 1 and _SWITCH.numba_found:
        import numba

        threads = min(threads, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(threads)
    _THREADS[:] = [threads]


def describe() -> str:
    """One phrase for logs: which path the ops take and, with kernels, on how many threads."""
    if not _SWITCH.numba_found:
        return "NumPy ops (numba not installed)"
    if not _SWITCH.wanted:
        return f"NumPy ops (kernels off: {ENVIRONMENT_VARIABLE}=0 or use_kernels(False))"
    threads = kernel_threads() if _THREADS else _threads_from_environment()
    version = importlib.metadata.version("numba")  # without importing numba (0.4 s)
    return f"numba {version} kernels on {threads} thread{'' if threads == 1 else 's'}"
