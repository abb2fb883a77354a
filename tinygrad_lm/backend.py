"""The one place that knows NumPy from CuPy.

Every op takes ``xp = get_xp(array)`` and then writes ``xp.exp(...)``: the same code runs on the CPU
(NumPy) and on a GPU (CuPy). CuPy is imported lazily, so the library imports and runs without it.
The few real differences between the two (scatter-add, the error function, random numbers, copies
between devices) are papered over here and nowhere else.

Devices are strings: ``"cpu"``, ``"cuda"`` (the current GPU, normalised to ``"cuda:0"``-style) and
``"cuda:N"``.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy

_cupy: ModuleType | None = None
_cupy_checked = False


def _import_cupy() -> ModuleType | None:
    """Import CuPy once; None when it is not installed or no GPU driver answers."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # ImportError, or CUDA present without a usable device
            _cupy = None
    return _cupy


class cuda:
    """``tg.cuda.is_available()`` and ``tg.cuda.device_count()``."""

    @staticmethod
    def is_available() -> bool:
        return _import_cupy() is not None

    @staticmethod
    def device_count() -> int:
        cupy = _import_cupy()
        return 0 if cupy is None else int(cupy.cuda.runtime.getDeviceCount())


def cuda_nccl() -> tuple[ModuleType, ModuleType] | None:
    """(cupy, cupy.cuda.nccl) for the NCCL backend of ``distributed``; None without CuPy, a GPU or NCCL."""
    cupy = _import_cupy()
    if cupy is None:
        return None
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return (cupy, nccl) if getattr(nccl, "available", True) else None


def parse_device(device: str | None) -> str:
    """Normalise a device string: ``None``/``"cpu"`` -> ``"cpu"``, ``"cuda"`` -> ``"cuda:<current>"``."""
    if device is None or device == "cpu":
        return "cpu"
    if not isinstance(device, str) or not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    cupy = _import_cupy()
    if cupy is None:
        raise RuntimeError(
            f"device {device!r} requested but CUDA is not available: install the 'gpu' extra "
            "(pip install -e '.[gpu]') on a machine with an NVIDIA GPU"
        )
    if device == "cuda":
        return f"cuda:{cupy.cuda.runtime.getDevice()}"
    index = device.removeprefix("cuda:")
    if not index.isdigit() or int(index) >= cuda.device_count():
        raise ValueError(f"unknown device {device!r}: {cuda.device_count()} CUDA device(s) present")
    return device


def get_xp(array: Any) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) that owns ``array``."""
    if isinstance(array, numpy.ndarray | numpy.generic) or _cupy is None:
        return numpy
    return _cupy if isinstance(array, _cupy.ndarray) else numpy


def xp_for(device: str) -> ModuleType:
    """The array module for a (normalised) device string."""
    if device == "cpu":
        return numpy
    cupy = _import_cupy()
    assert cupy is not None, "parse_device() must be called first"
    return cupy


def device_of(array: Any) -> str:
    """The device string of an array: ``"cpu"`` or ``"cuda:N"``."""
    if isinstance(array, numpy.ndarray | numpy.generic) or _cupy is None:
        return "cpu"
    return f"cuda:{array.device.id}"


def to_device(array: Any, device: str) -> Any:
    """Copy ``array`` to ``device`` (a no-op when it is already there)."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    cupy = xp_for(device)
    with cupy.cuda.Device(int(device.split(":")[1])):
        return cupy.asarray(array)


def asnumpy(array: Any) -> numpy.ndarray:
    """A NumPy copy (or view, on the CPU) of any backend array."""
    if isinstance(array, numpy.ndarray):
        return array
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return array.get()
    return numpy.asarray(array)


# ------------------------------------------------------------------ NumPy's __array__, DLPack
# ``numpy.asarray(t)`` (``Tensor.__array__``) gives the CPU tensor's own array, without a copy unless a
# dtype conversion or ``copy=True`` asks for one (NumPy 2's rules); a GPU tensor raises a TypeError
# naming ``.numpy()`` and ``.to("cpu")``, the explicit copies. ``Tensor.__dlpack__`` hands the array
# to any DLPack consumer (``numpy.from_dlpack``, ``torch.from_dlpack``, ``cupy.from_dlpack``) and
# ``tg.from_dlpack(x)`` wraps any DLPack producer: both SHARE memory. Only the values travel, never a
# gradient, a graph or ``requires_grad``; a write through the other library's array bypasses this
# library's checks on in-place writes. The CUDA path follows CuPy's documented API, untested until a
# GPU run.
DLPACK_CPU, DLPACK_CUDA, DLPACK_CUDA_HOST, DLPACK_CUDA_MANAGED = 1, 2, 3, 13
"""DLPack's device codes (``DLDeviceType``) that this library can hold."""


def numpy_view(array: Any, dtype: Any = None, copy: bool | None = None) -> numpy.ndarray:
    """``array`` for ``numpy.asarray``: itself when possible; ``copy`` as in NumPy 2's ``__array__``
    (True: always a copy, False: never, a ValueError if one is needed, None: only if needed)."""
    if not isinstance(array, numpy.ndarray | numpy.generic):
        raise TypeError(
            f"numpy.asarray: this tensor lives on the GPU ({type(array).__module__}.{type(array).__name__}, "
            f"shape {array.shape}); copy it explicitly with tensor.numpy() or tensor.to('cpu')"
        )
    needs_cast = dtype is not None and numpy.dtype(dtype) != array.dtype
    if copy is False and needs_cast:
        raise ValueError(
            f"numpy.asarray(copy=False): converting {array.dtype} to {numpy.dtype(dtype)} needs a copy"
        )
    if needs_cast:
        return array.astype(dtype)
    return array.copy() if copy else array


def dlpack_capsule(array: Any, **options: Any) -> Any:
    """``array.__dlpack__`` with the consumer's keyword arguments (those given, so that older array
    libraries, which accept ``stream`` only, keep working)."""
    return array.__dlpack__(**{key: value for key, value in options.items() if value is not None})


def array_from_dlpack(x: Any) -> Any:
    """The NumPy (CPU) or CuPy (CUDA) array sharing the memory of ``x``, any DLPack producer."""
    if not hasattr(x, "__dlpack__") or not hasattr(x, "__dlpack_device__"):
        raise TypeError(
            f"from_dlpack: {type(x).__name__} does not implement the DLPack protocol "
            "(__dlpack__ and __dlpack_device__); NumPy, PyTorch and CuPy arrays do"
        )
    device_type, device_id = (int(v) for v in x.__dlpack_device__())
    if device_type == DLPACK_CPU:
        return numpy.from_dlpack(x)
    if device_type in (DLPACK_CUDA, DLPACK_CUDA_HOST, DLPACK_CUDA_MANAGED):
        cupy = _import_cupy()
        if cupy is None:
            raise RuntimeError(
                f"from_dlpack: the array lives on CUDA device {device_id}, which needs CuPy and a GPU "
                "(pip install cupy-cuda12x); move it to the CPU first otherwise"
            )
        return cupy.from_dlpack(x)  # untested until a GPU run
    raise ValueError(
        f"from_dlpack: DLPack device type {device_type} (device {device_id}) is neither the CPU "
        f"({DLPACK_CPU}) nor CUDA ({DLPACK_CUDA}); this library holds arrays on those only"
    )


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` where repeated indices accumulate (unbuffered)."""
    if isinstance(target, numpy.ndarray):
        if len(index) == 1 and isinstance(index[0], numpy.ndarray) and index[0].size > 0:
            _scatter_add_rows(target, index[0], values)
        else:
            numpy.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def _scatter_add_rows(target: numpy.ndarray, rows: numpy.ndarray, values: Any) -> None:
    """``target[rows] += values`` for one integer array indexing the first axis (an embedding's backward).

    Sorts the rows (stably, so equal rows keep their order) and sums each run of equal rows with one
    ``add.reduceat``, instead of ``numpy.add.at``, which handles one element at a time.
    """
    values = numpy.broadcast_to(values, rows.shape + target.shape[1:]).reshape(-1, *target.shape[1:])
    rows = rows.ravel()
    rows = numpy.where(rows < 0, rows + target.shape[0], rows)
    order = numpy.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = numpy.flatnonzero(numpy.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    target[sorted_rows[starts]] += numpy.add.reduceat(values[order], starts, axis=0)


def overflow_allowed() -> Any:
    """A context in which overflow to inf is expected and not warned about (NumPy warns; CuPy never does)."""
    return numpy.errstate(over="ignore")


_erf_scalar = numpy.frompyfunc(math.erf, 1, 1)


def _cpu_erf() -> Any:
    """SciPy's vectorised erf when SciPy is installed (optional), else ``math.erf`` element by element."""
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        return lambda array: numpy.asarray(_erf_scalar(array), dtype=array.dtype)
    return lambda array: scipy_erf(array).astype(array.dtype, copy=False)


_erf_on_cpu: Any = None


def erf(array: Any) -> Any:
    """The error function on any backend: SciPy's or ``math.erf`` on the CPU, CuPy's kernel on a GPU."""
    global _erf_on_cpu
    if isinstance(array, numpy.ndarray | numpy.generic):
        if _erf_on_cpu is None:
            _erf_on_cpu = _cpu_erf()
        return _erf_on_cpu(numpy.asarray(array))
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(array)


class Generator:
    """A seeded source of random numbers, reproducible bit for bit.

    Draws come from NumPy's PCG64 on the host and are copied to the requested device, so the same
    seed gives the same numbers on every device. ``get_state``/``set_state`` round-trip through
    plain JSON-able dicts (checkpoints store them).
    """

    def __init__(self, seed: int = 0) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        self.seed = int(seed)
        self._rng = numpy.random.Generator(numpy.random.PCG64(self.seed))
        return self

    def get_state(self) -> dict:
        return {"seed": self.seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self._rng.bit_generator.state = state["bit_generator"]

    def normal(self, shape: tuple[int, ...], dtype: Any, device: str) -> Any:
        dtype = numpy.dtype(dtype)
        if dtype in (numpy.float32, numpy.float64):
            return to_device(self._rng.standard_normal(shape, dtype=dtype), device)
        return to_device(self._rng.standard_normal(shape).astype(dtype), device)

    def uniform(self, shape: tuple[int, ...], dtype: Any, device: str) -> Any:
        dtype = numpy.dtype(dtype)
        if dtype in (numpy.float32, numpy.float64):
            return to_device(self._rng.random(shape, dtype=dtype), device)
        return to_device(self._rng.random(shape).astype(dtype), device)

    def integers(self, low: int, high: int, shape: tuple[int, ...], dtype: Any, device: str) -> Any:
        return to_device(self._rng.integers(low, high, size=shape, dtype=dtype), device)

    def choice(self, probs: numpy.ndarray) -> int:
        """One draw from a categorical distribution given by ``probs`` (NumPy, sums to 1)."""
        return int(self._rng.choice(len(probs), p=probs))

    def permutation(self, n: int) -> numpy.ndarray:
        return self._rng.permutation(n)


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator (and return it), as ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def is_host_array(array: Any) -> bool:
    """True for a NumPy array or scalar, whose values Python reads for free; False for a device
    (CuPy) array, where reading a value (``float``, ``bool``, ``.item()``) waits for the GPU.

    Checks of values (an index out of range) run eagerly on host arrays and are replaced by
    sync-free device computations on device arrays. Array types that set ``simulates_device``
    (``tinygrad_lm.testing.sync_counter``, which counts syncs on the CPU) count as device arrays.
    """
    return isinstance(array, numpy.ndarray | numpy.generic) and not getattr(array, "simulates_device", False)
