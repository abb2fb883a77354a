"""``@loops``: how a kernel is compiled, serial or parallel, from one Python function of loops.

The kernels run on one thread by default (``kernels/__init__.py`` says why), and numba compiles a
``parallel=True`` function several times slower than a serial one (the first run of a GPT step: 13 s
against 4 s), so each kernel is compiled serial on its first call and parallel only the first time it
runs with more than one kernel thread. ``prange`` is ``range`` in the serial build.

The two builds come from the same code under two names (the parallel one suffixed ``__parallel``):
numba's on-disk cache keys an entry by the function's name and signature, not by its flags, so one
name would hand the serial build to a parallel call from the cache.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import njit

from . import kernel_threads


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
                build = njit(parallel=True, cache=True, fastmath=self.fastmath)
                self.parallel = build(_renamed(self.function))
            return self.parallel(*args)
        if self.serial is None:
            self.serial = njit(cache=True, fastmath=self.fastmath)(self.function)
        return self.serial(*args)


def loops(fastmath: Any = False) -> Callable[[Callable], Loops]:
    """Decorate a function of loops (``prange`` for the parallel ones) as a kernel."""
    return lambda function: Loops(function, fastmath)


def _renamed(function: Callable) -> Callable:
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__ + "__parallel", function.__defaults__,
        function.__closure__,
    )  # fmt: skip
    copy.__qualname__ = function.__qualname__ + "__parallel"
    return copy
