"""Count host-device synchronisations without a GPU: NumPy arrays that behave like device arrays.

On a GPU, Python reading a value of a device array (``float(x)``, ``x.item()``, ``if (x < 0).any():``,
printing it, a boolean mask whose result size depends on the data, ``x.get()``) makes the host wait
for every kernel queued so far: the queue drains and the GPU idles while Python catches up. A
training step should do that at most once, where the caller prints the loss.

``simulated_device()`` finds those reads on the CPU. Inside it, every array the library creates is a
``DeviceLikeArray``: a NumPy array that computes exactly as NumPy does, but counts each read of its
values by the host and says it stands for a device array (``simulates_device = True``, so
``backend.is_host_array`` answers False and the library takes its device code paths). The patched
entry points are the library's only ways to make arrays: ``get_xp`` and ``xp_for`` (the array module)
return a NumPy whose functions hand back ``DeviceLikeArray`` (``where``, ``stack``, ``concatenate``
and ``linalg.norm`` would otherwise drop the subclass), and ``to_device`` (host data reaching the
device: batches, random numbers, parameters at creation) converts its result.

Integer index arrays wrap around, as CuPy's do (NumPy raises for an index out of range).

Counted, as a CuPy array would sync:

* ``item()``, ``tolist()``, ``get()``, ``bool()``, ``float()``, ``int()``, ``complex()``, ``__index__``,
  ``repr``/``str``/``format`` of an array;
* ``backend.asnumpy`` (a copy to the host);
* indexing with a boolean mask and ``nonzero``/``flatnonzero``/``argwhere``/``unique``/``compress``/
  ``extract`` (the result's size depends on the data, so CuPy reads it back).

Not counted: ``numpy.asarray(device_array)`` (CuPy refuses it with a TypeError, so it cannot pass
silently on a GPU) and host-to-device copies (``to_device`` of host data: the host does not wait for
the GPU). ``backend.scatter_add`` runs uncounted, because its NumPy implementation sorts with
``flatnonzero`` while CuPy's (``cupyx.scatter_add``) needs no read.

Usage::

    with simulated_device() as syncs:
        model = build_model()          # parameters are device-like from their creation
        syncs.clear()
        train_step(model)
    assert syncs.count == 0, syncs.report()
"""

from __future__ import annotations

import contextlib
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy

from .. import backend

_ROOT = Path(__file__).resolve().parents[2]
_ACTIVE: list[SyncLog] = []
SYNCING_FUNCTIONS = frozenset(
    {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract", "asnumpy"}
)


class SyncLog:
    """The synchronisations recorded: (what, the repository's frames of the call stack, innermost last)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, list[str]]] = []
        self.mixed: list[tuple[str, list[str]]] = []  # host arrays meeting device arrays (not syncs)
        self.paused = 0

    @property
    def count(self) -> int:
        return len(self.events)

    def clear(self) -> None:
        self.events.clear()
        self.mixed.clear()

    def record(self, what: str, mixed: bool = False) -> None:
        """Log a sync (or, with ``mixed``, an operation on host and device arrays together)."""
        if self.paused:
            return
        frames = [
            f"{Path(f.filename).resolve().relative_to(_ROOT)}:{f.lineno}: {(f.line or '').strip()}"
            for f in traceback.extract_stack()[:-2]
            if _in_repository(f.filename) and not f.filename.endswith("sync_counter.py")
        ]
        (self.mixed if mixed else self.events).append((what, frames))

    def report(self) -> str:
        """One paragraph per event: what it was and where (the repository's frames, innermost last)."""
        events = self.events + [(f"host and device arrays in {what}", frames) for what, frames in self.mixed]
        return "\n".join(f"{what}:\n  " + "\n  ".join(frames) for what, frames in events) or "no syncs"


def _in_repository(filename: str) -> bool:
    try:
        Path(filename).resolve().relative_to(_ROOT)
    except ValueError:
        return False
    return "site-packages" not in filename


def _record(what: str) -> None:
    if _ACTIVE:
        _ACTIVE[-1].record(what)


def device_like(value: Any) -> Any:
    """``value`` with every plain NumPy array or scalar in it (also in tuples and lists) made device-like."""
    if type(value) is numpy.ndarray:
        return value.view(DeviceLikeArray)
    if isinstance(value, numpy.generic):
        return numpy.asarray(value).view(DeviceLikeArray)
    if type(value) in (tuple, list):
        return type(value)(device_like(v) for v in value)
    return value


def _host_view(value: Any) -> Any:
    return value.view(numpy.ndarray) if isinstance(value, DeviceLikeArray) else value


def _check_operands(operation: str, operands: Any) -> None:
    """Record a host array meeting a device array in one operation (CuPy raises a TypeError there)."""
    flat = [v for item in operands for v in (item if type(item) in (tuple, list) else (item,))]
    if _ACTIVE and any(_is_device(v) for v in flat) and any(type(v) is numpy.ndarray for v in flat):
        _ACTIVE[-1].record(operation, mixed=True)


def _wrapped(index: Any, shape: tuple[int, ...]) -> Any:
    """Integer index arrays taken modulo their axis' size, as CuPy's indexing does (NumPy would raise);
    for indices without ``None`` or ``...``, whose items line up with the axes."""
    items = index if isinstance(index, tuple) else (index,)
    if len(items) > len(shape) or any(item is None or item is Ellipsis for item in items):
        return index
    wrapped = tuple(
        numpy.mod(item, size) if isinstance(item, numpy.ndarray) and item.dtype.kind in "iu" else item
        for item, size in zip(items, shape, strict=False)
    )
    return wrapped if isinstance(index, tuple) else wrapped[0]


def _has_mask(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(item, numpy.ndarray) and item.dtype.kind == "b" and item.ndim > 0 for item in items)


class DeviceLikeArray(numpy.ndarray):
    """A NumPy array standing for a device array: reads of its values by the host are recorded.

    Reductions and scalar indexing return 0-d arrays, not NumPy scalars, as CuPy's do."""

    simulates_device = True

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _check_operands(f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__, inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_host_view(o) for o in out)
        with numpy.errstate(all="ignore"):  # CuPy never warns
            result = getattr(ufunc, method)(*(_host_view(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return device_like(result)

    def __getitem__(self, index: Any) -> Any:
        if _has_mask(index):
            _record("boolean mask indexing")
        return device_like(super().__getitem__(_wrapped(index, self.shape)))

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(_wrapped(index, self.shape), value)

    def _read(self, what: str, method: Callable, *args: Any) -> Any:
        _record(what)
        return method(numpy.asarray(self), *args)

    def item(self, *args: Any) -> Any:
        return self._read("item()", numpy.ndarray.item, *args)

    def tolist(self) -> Any:
        return self._read("tolist()", numpy.ndarray.tolist)

    def get(self) -> numpy.ndarray:
        """CuPy's copy to the host."""
        _record("get()")
        return numpy.array(self).view(numpy.ndarray)

    def nonzero(self) -> tuple:
        return self._read("nonzero()", lambda a: device_like(numpy.ndarray.nonzero(a)))

    def __bool__(self) -> bool:
        return self._read("bool()", numpy.ndarray.__bool__)

    def __float__(self) -> float:
        return self._read("float()", numpy.ndarray.__float__)

    def __int__(self) -> int:
        return self._read("int()", numpy.ndarray.__int__)

    def __complex__(self) -> complex:
        return self._read("complex()", numpy.ndarray.__complex__)

    def __index__(self) -> int:
        return self._read("__index__", numpy.ndarray.__index__)

    def __repr__(self) -> str:
        return self._read("repr()", numpy.ndarray.__repr__)

    def __str__(self) -> str:
        return self._read("str()", numpy.ndarray.__str__)

    def __format__(self, spec: str) -> str:
        return self._read("format()", numpy.ndarray.__format__, spec)


def _returning_device_like(name: str) -> Callable:
    method = getattr(numpy.ndarray, name)

    def wrapper(self: DeviceLikeArray, *args: Any, **kwargs: Any) -> Any:
        return device_like(method(self, *args, **kwargs))

    wrapper.__name__ = name
    return wrapper


for _name in ("argmax", "argmin", "dot", "trace", "searchsorted"):  # methods returning NumPy scalars
    setattr(DeviceLikeArray, _name, _returning_device_like(_name))


class _Callable:
    """A NumPy function or ufunc whose results are device-like (``.reduce``/``.at`` etc. too)."""

    def __init__(self, name: str, function: Any) -> None:
        self._name, self._function = name, function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._name in SYNCING_FUNCTIONS:
            _record(f"{self._name}()")
        _check_operands(self._name, (*args, *kwargs.values()))
        return device_like(self._function(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return _wrap_attribute(f"{self._name}.{name}", getattr(self._function, name))


def _wrap_attribute(name: str, attribute: Any) -> Any:
    if isinstance(attribute, types.ModuleType):
        return _DeviceLikeModule(attribute)
    if isinstance(attribute, type) or not callable(attribute):
        return attribute
    return _Callable(name, attribute)


class _DeviceLikeModule:
    """NumPy (or a submodule of it) handing out device-like arrays: the simulated device's ``xp``."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return _wrap_attribute(name, getattr(self._module, name))


DEVICE_XP = _DeviceLikeModule(numpy)


SIMULATED = "cuda:0"


def _is_device(array: Any) -> bool:
    return isinstance(array, DeviceLikeArray)


def _patched() -> dict[str, tuple[Callable, Callable]]:
    """The backend functions to replace by name in every loaded module of the library and the zoo:
    the simulated device is ``"cuda:0"`` and its arrays are the ``DeviceLikeArray``s."""
    originals = {
        name: getattr(backend, name)
        for name in ("get_xp", "xp_for", "device_of", "parse_device", "to_device", "asnumpy", "scatter_add")
    }

    def get_xp(array: Any) -> Any:
        return DEVICE_XP if _is_device(array) else originals["get_xp"](array)

    def xp_for(device: str) -> Any:
        return DEVICE_XP if device == SIMULATED else numpy

    def device_of(array: Any) -> str:
        return SIMULATED if _is_device(array) else originals["device_of"](array)

    def parse_device(device: str | None) -> str:
        return SIMULATED if device in ("cuda", SIMULATED) else originals["parse_device"](device)

    def to_device(array: Any, device: str) -> Any:
        if device_of(array) == device:
            return array
        if device == "cpu":
            _record("copy to the host")
            return numpy.array(array).view(numpy.ndarray)
        return numpy.array(array).view(DeviceLikeArray)  # host to device: the host does not wait

    def asnumpy(array: Any) -> numpy.ndarray:
        if _is_device(array):
            _record("asnumpy()")
            return numpy.array(array).view(numpy.ndarray)
        return originals["asnumpy"](array)

    def scatter_add(target: Any, index: Any, values: Any) -> None:
        for log in _ACTIVE:
            log.paused += 1
        try:
            originals["scatter_add"](target, index, values)
        finally:
            for log in _ACTIVE:
                log.paused -= 1

    replacements = dict(
        get_xp=get_xp,
        xp_for=xp_for,
        device_of=device_of,
        parse_device=parse_device,
        to_device=to_device,
        asnumpy=asnumpy,
        scatter_add=scatter_add,
    )
    return {name: (originals[name], replacements[name]) for name in originals}


@contextlib.contextmanager
def simulated_device() -> Iterator[SyncLog]:
    """Within the block the library computes on device-like NumPy arrays and records every sync."""
    patches = _patched()
    undo: list[tuple[Any, str, Any]] = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(("tinygrad_lm", "zoo")):
            continue
        for name, (original, replacement) in patches.items():
            if getattr(module, name, None) is original:
                undo.append((module, name, original))
                setattr(module, name, replacement)
    log = SyncLog()
    _ACTIVE.append(log)
    try:
        yield log
    finally:
        _ACTIVE.remove(log)
        for module, name, original in undo:
            setattr(module, name, original)
