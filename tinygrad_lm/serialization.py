"""Checkpoints: ``save(obj, path)`` and ``load(path, map_location=None)`` for nested training state.

``obj`` is any nesting of dicts (str or int keys), lists and tuples whose leaves are Tensors, NumPy or
CuPy arrays, NumPy scalars, ints (of any size), floats (nan and inf included), bools, None and
strings: a model's state dict, an optimizer's and a scheduler's, a ``Generator.get_state()``, the step,
a config dict. Everything comes back equal, bit for bit, and with the same Python types.

Format: one ``.npz`` archive (NumPy's own zip of ``.npy`` files, written by ``numpy.savez``) holding
every array as an entry ``a0``, ``a1``, ... plus one entry ``__tinygrad_lm_header__``: UTF-8 JSON
bytes giving the nested structure, in which each array leaf names its entry, dtype, shape and device
(and, for Tensors, ``requires_grad``). Why this format:

* no code runs on load: arrays are read with ``allow_pickle=False``, and the structure is JSON,
  unlike pickle (``torch.save``), which executes whatever the file says;
* NumPy-native and portable: ``numpy.load(path)`` opens a checkpoint anywhere, with no tinygrad_lm
  and no extra dependency (unlike safetensors); JSON keeps Python's big ints exact (the PCG64 state
  of a ``Generator`` is 128 bits) and floats exact (``repr`` round-trips);
* arrays are stored on the host (via ``asnumpy``), so a checkpoint written on a GPU loads on a CPU.

Writes are atomic: the archive goes to a temporary file next to ``path``, is flushed and fsynced, then
``os.replace``-d over ``path``. A save that fails leaves the old file intact and removes its temporary
file; a process killed mid-save leaves the old file intact and, at worst, a stray
``.<name>.<pid>.<random>.tmp`` beside it.

Loading reads files from anywhere, so nothing in them is trusted (``archive_checks.py``): before any
array is allocated, the header's size and depth are bounded, every entry is named at most once, and
each entry's dtype, shape and stored size must agree with the header; every failure is a
``CheckpointError``.

Loading: ``map_location`` chooses where Tensors and arrays live: ``"cpu"``, ``"cuda"``/``"cuda:N"``,
or ``None`` for the device each was saved from when that device is available here, else the CPU.
Tensors come back as fresh leaf Tensors (no graph, no ``.grad``) with their saved dtype and
``requires_grad`` flag; ``module.load_state_dict``/``optimizer.load_state_dict`` copy them into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
import zlib
from typing import IO, Any

import numpy

from .archive_checks import CheckpointError, check_archive, check_header_size
from .backend import asnumpy, device_of, parse_device, to_device
from .function import constant
from .tensor import Tensor

HEADER = "__tinygrad_lm_header__"
FORMAT = "tinygrad_lm.checkpoint"
VERSION = 1


# ------------------------------------------------------------------------------------------ save
def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (see the module docstring for what it may hold) to ``path``, atomically.

    ``path`` is used as given (no ``.npz`` is appended). Raises ``TypeError`` naming the place in
    ``obj`` of anything it cannot store, before touching the file system.
    """
    arrays: dict[str, numpy.ndarray] = {}
    tree = _encode(obj, arrays, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}).encode("utf-8")
    arrays[HEADER] = numpy.frombuffer(header, dtype=numpy.uint8)
    _atomic_write(os.fspath(path), arrays)


def _array_node(tag: str, data: Any, arrays: dict[str, numpy.ndarray], where: str) -> dict[str, Any]:
    host = asnumpy(data)
    if host.dtype.hasobject:
        raise TypeError(f"save: {where} is an object array ({host.dtype}); only plain dtypes can be saved")
    name = f"a{len(arrays)}"
    arrays[name] = host
    return {tag: name, "dtype": host.dtype.str, "shape": list(host.shape), "device": device_of(data)}


def _encode(obj: Any, arrays: dict[str, numpy.ndarray], where: str) -> Any:
    """The JSON node for ``obj``: plain JSON for scalars, a one-tag dict for everything else."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, Tensor):
        return {**_array_node("tensor", obj.data, arrays, where), "requires_grad": obj.requires_grad}
    if isinstance(obj, numpy.generic):
        return _array_node("scalar", numpy.asarray(obj), arrays, where)
    if isinstance(obj, int | float):
        return obj
    if hasattr(obj, "__cuda_array_interface__") or isinstance(obj, numpy.ndarray):
        return _array_node("array", obj, arrays, where)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise TypeError(
                    f"save: {where} has a key {key!r} of type {type(key).__name__}; keys must be str or int"
                )
            items.append([key, _encode(value, arrays, f"{where}[{key!r}]")])
        return {"dict": items}
    if isinstance(obj, list | tuple):
        tag = "list" if isinstance(obj, list) else "tuple"
        return {tag: [_encode(value, arrays, f"{where}[{i}]") for i, value in enumerate(obj)]}
    raise TypeError(
        f"save: {where} is a {type(obj).__name__}; a checkpoint holds dicts, lists, tuples, Tensors, arrays, "
        "ints, floats, bools, strings and None"
    )


def _write_npz(file: IO[bytes], arrays: dict[str, numpy.ndarray]) -> None:
    numpy.savez(file, **arrays)


def _atomic_write(path: str, arrays: dict[str, numpy.ndarray]) -> None:
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            _write_npz(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# ------------------------------------------------------------------------------------------ load
def load(path: str | os.PathLike, map_location: str | None = None) -> Any:
    """Read a checkpoint written by ``save``; ``map_location`` as in the module docstring.

    Raises ``CheckpointError`` (a ``ValueError``) naming the path for a foreign, truncated or
    corrupt file, and ``FileNotFoundError`` for a missing one.
    """
    path = os.fspath(path)
    target = None if map_location is None else parse_device(map_location)
    try:
        archive = numpy.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        raise _unreadable(path, error) from error
    if not isinstance(archive, numpy.lib.npyio.NpzFile):
        raise CheckpointError(f"load: {path} is a single .npy array, not a tinygrad_lm checkpoint (.npz)")
    with archive:
        try:
            header = _read_header(archive, path)
            check_archive(header["tree"], archive, path, HEADER)
            return _decode(header["tree"], _Reader(archive, path, target))
        except CheckpointError:
            raise
        except (ValueError, EOFError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
                OSError, zipfile.BadZipFile, zlib.error) as error:
            raise CheckpointError(f"load: {path} is truncated or corrupt: {error}") from error


def _unreadable(path: str, error: Exception) -> CheckpointError:
    if isinstance(error, zipfile.BadZipFile | EOFError):
        return CheckpointError(f"load: {path} is truncated or corrupt (not a readable zip archive: {error})")
    with open(path, "rb") as file:
        start = file.read(8)
    return CheckpointError(
        f"load: {path} is not a tinygrad_lm checkpoint (expected an .npz zip archive written by "
        f"tinygrad_lm.save; the file starts with {start!r})"
    )


def _read_header(archive: Any, path: str) -> dict[str, Any]:
    if HEADER not in archive.files:
        raise CheckpointError(
            f"load: {path} is not a tinygrad_lm checkpoint (no header entry {HEADER!r}; a plain .npz "
            "archive opens with numpy.load)"
        )
    check_header_size(archive, path, HEADER)
    header = json.loads(archive[HEADER].tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT or "tree" not in header:
        raise CheckpointError(f"load: {path} is not a tinygrad_lm checkpoint (its header is not {FORMAT!r})")
    if header.get("version", 0) > VERSION:
        raise CheckpointError(
            f"load: {path} has checkpoint format version {header['version']}; this tinygrad_lm reads "
            f"up to version {VERSION}: upgrade tinygrad_lm"
        )
    return header


class _Reader:
    """Reads the array entries of one archive onto their target devices."""

    def __init__(self, archive: Any, path: str, target: str | None) -> None:
        self.archive, self.path, self.target = archive, path, target
        self.available: dict[str, str] = {}

    def device(self, saved: str) -> str:
        """``map_location`` if given, else the saved device when it is available here, else the CPU."""
        if self.target is not None:
            return self.target
        if saved not in self.available:
            try:
                self.available[saved] = parse_device(saved)
            except (RuntimeError, ValueError):
                self.available[saved] = "cpu"
        return self.available[saved]

    def array(self, node: dict[str, Any], tag: str) -> Any:
        """The array of an ``array``/``tensor``/``scalar`` node (scalars stay on the host)."""
        host = self.archive[node[tag]]
        if host.dtype.str != node["dtype"] or list(host.shape) != node["shape"]:
            raise CheckpointError(
                f"load: {self.path} is corrupt: entry {node[tag]!r} is {host.dtype.str} {host.shape}, "
                f"the header says {node['dtype']} {tuple(node['shape'])}"
            )
        return host[()] if tag == "scalar" else to_device(host, self.device(node["device"]))


def _decode(node: Any, reader: _Reader) -> Any:
    if not isinstance(node, dict):
        return node
    if "dict" in node:
        return {key: _decode(value, reader) for key, value in node["dict"]}
    if "list" in node:
        return [_decode(value, reader) for value in node["list"]]
    if "tuple" in node:
        return tuple(_decode(value, reader) for value in node["tuple"])
    if "tensor" in node:
        tensor = constant(reader.array(node, "tensor"))
        return tensor.requires_grad_(True) if node["requires_grad"] else tensor
    if "array" in node:
        return reader.array(node, "array")
    if "scalar" in node:
        return reader.array(node, "scalar")
    raise CheckpointError(f"load: {reader.path} is corrupt: unknown node {sorted(node)} in its header")
