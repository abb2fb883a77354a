"""Host memory: let freed arrays be reused instead of handed back to the operating system.

Array code allocates many short-lived temporaries of the same few sizes (an activation of a GPT
block is 1.5 MB). By default glibc serves such blocks with ``mmap`` or trims them off the heap as
soon as they are freed, so the next temporary of that size page-faults its memory in again: in a
GPT training step that is a large share of the element-wise work (``benchmarks/README.md`` gives the
step with and without this setting). ``keep_freed_memory()`` raises glibc's two thresholds
so that blocks below ``mmap_threshold`` come from the heap and a freed heap is kept for reuse:
resident memory stays at its high-water mark instead of shrinking between steps.

Importing ``tinygrad_lm`` changes nothing: the setting is process-wide, so it is an explicit call
(``tg.keep_freed_memory()``, or ``configure_from_environment()``), made by ``python -m zoo`` and the
benchmarks. It acts on Linux with glibc only (elsewhere it does nothing);
``TINYGRAD_LM_KEEP_FREED_MEMORY=0`` makes ``configure_from_environment`` leave the allocator as it is. The
same effect without this module: ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's <malloc.h>
MMAP_THRESHOLD_MAX = 32 * 2**20  # the largest value glibc accepts on 64-bit systems


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD_MAX, trim_threshold: int = 2**30) -> bool:
    """Ask glibc to serve blocks below ``mmap_threshold`` bytes from the heap and to keep up to
    ``trim_threshold`` bytes of freed heap; True when the allocator accepted both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


def configure_from_environment() -> bool:
    """``keep_freed_memory()`` unless ``TINYGRAD_LM_KEEP_FREED_MEMORY=0``."""
    if os.environ.get("TINYGRAD_LM_KEEP_FREED_MEMORY", "1") == "0":
        return False
    return keep_freed_memory()
