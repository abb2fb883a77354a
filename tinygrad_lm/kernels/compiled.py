"""``@loops``: how a kernel is compiled, serial or parallel, from one Python function of loops.

The kernels run on one thread by default (``kernels/__init__.py`` says why), and numba compiles a
``parallel=True`` function several times slower than a serial one, so each kernel is compiled serial
on its first call and parallel only the first time it runs with more than one kernel thread.
``prange`` is ``range`` in the serial build.

Both builds use NumPy's error model: a division by zero gives inf or NaN, as the NumPy formula does,
instead of raising, and only then do loops with a division vectorise (Python's model adds a test and
a branch per division, which kept the GELU and Adam loops scalar).

numba's on-disk cache keys a compiled function by its name and signature and checks only the date
of the file that defines it, not the compile options nor the files it inlines from. Each build
therefore gets a name of its own: the function's, the build (``serial``/``parallel``) and a hash of
this file and ``scalar.py``. Changing either compiles afresh instead of loading a stale build.
"""

from __future__ import annotations

import hashlib
import pathlib
import types
from collections.abc import Callable
from typing import Any

from numba import njit

from . import kernel_threads


def _build_tag() -> str:
    """A short hash of what a kernel's machine code depends on besides its own file."""
    here = pathlib.Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("compiled.py", "scalar.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


BUILD_TAG = _build_tag()


class Loops:
    """A kernel: call it with arrays; it runs its serial or parallel build (compiled when first needed)."""

    def __init__(self, function: Callable, fastmath: Any) -> None:
        self.function, self.fastmath = function, fastmath
        self.serial: Any = None
        self.parallel: Any = None
        self.__doc__, self.__name__ = function.__doc__, function.__name__

    def __call__(self, *args: Any) -> Any:
        if kernel_threads() > 1:
            if self.parallel is None:
                self.parallel = self._build(parallel=True)
            return self.parallel(*args)
        if self.serial is None:
            self.serial = self._build(parallel=False)
        return self.serial(*args)

    def _build(self, parallel: bool) -> Any:
        options = dict(cache=True, fastmath=self.fastmath, error_model="numpy", parallel=parallel)
        return njit(**options)(_renamed(self.function, "parallel" if parallel else "serial"))


def loops(fastmath: Any = False) -> Callable[[Callable], Loops]:
    """Decorate a function of loops (``prange`` for the parallel ones) as a kernel."""
    return lambda function: Loops(function, fastmath)


def _renamed(function: Callable, build: str) -> Callable:
    """The same code and globals under the name ``<name>__<build>_<BUILD_TAG>`` (its cache entry)."""
    name = f"{function.__name__}__{build}_{BUILD_TAG}"
    copy = types.FunctionType(function.__code__, function.__globals__, name, function.__defaults__)
    copy.__qualname__ = f"{function.__qualname__}__{build}_{BUILD_TAG}"
    return copy
