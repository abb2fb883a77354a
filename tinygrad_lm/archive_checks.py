"""What ``load`` checks in an archive before it allocates anything: a file may come from anyone.

A checkpoint's JSON header says which ``.npy`` entry each array lives in, and each entry's own
``.npy`` header says its dtype and shape again; a hostile (or damaged) file can make them disagree,
reference one large compressed entry many times, or nest its header deeply. ``check_archive`` walks
the header tree once, iteratively, before any array is read, and raises ``CheckpointError`` unless:

* the header entry is at most ``MAX_HEADER_BYTES`` and the tree at most ``MAX_DEPTH`` levels deep;
* every array node names an existing entry, and no entry is named twice (so each is read once);
* each entry's dtype is a plain one and its shape a list of sizes >= 0, and the ``.npy`` header of
  the entry says the same dtype and shape, and the zip directory the matching uncompressed size:
  ``prod(shape) * itemsize`` bytes plus the ``.npy`` header, so what is allocated is what is stored.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

MAX_HEADER_BYTES = 64 * 2**20
MAX_DEPTH = 100
ARRAY_TAGS = ("tensor", "array", "scalar")
CONTAINER_TAGS = ("dict", "list", "tuple")
NPY_HEADER_MAX = 2**16 + 16  # the magic, the version, the length and a version-1 header at most


class CheckpointError(ValueError):
    """A file that is not a tinygrad_lm checkpoint, or one that is truncated or corrupt."""


def check_header_size(archive: Any, path: str, header: str) -> None:
    size = archive.zip.getinfo(f"{header}.npy").file_size
    if size > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"load: {path} is corrupt: its header entry is {size:,} bytes, more than the "
            f"{MAX_HEADER_BYTES:,} a checkpoint's structure can need"
        )


def check_archive(tree: Any, archive: Any, path: str, header: str) -> None:
    """Raise ``CheckpointError`` unless the header ``tree`` describes the archive's entries exactly."""
    seen: set[str] = set()
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if depth > MAX_DEPTH:
            raise CheckpointError(f"load: {path} is corrupt: its header nests deeper than {MAX_DEPTH} levels")
        tag = next((t for t in (*CONTAINER_TAGS, *ARRAY_TAGS) if t in node), None)
        if tag in CONTAINER_TAGS:
            children = node[tag]
            if not isinstance(children, list):
                raise CheckpointError(f"load: {path} is corrupt: a {tag} node of its header is not a list")
            if tag == "dict":
                children = [_pair_value(item, path) for item in children]
            stack.extend((child, depth + 1) for child in children)
        elif tag is not None:
            _check_entry(node, tag, archive, path, header, seen)


def _pair_value(item: Any, path: str) -> Any:
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str | int)):
        raise CheckpointError(
            f"load: {path} is corrupt: a dict item of its header is not a [key, value] pair"
        )
    return item[1]


def _check_entry(node: dict, tag: str, archive: Any, path: str, header: str, seen: set[str]) -> None:
    name = node[tag]
    if not isinstance(name, str) or name == header or name not in archive.files:
        raise CheckpointError(
            f"load: {path} is corrupt: its header names an entry {name!r} the archive lacks"
        )
    if name in seen:
        raise CheckpointError(
            f"load: {path} is corrupt: its header names the entry {name!r} twice (tinygrad_lm.save stores "
            "every array once)"
        )
    seen.add(name)
    dtype, shape = _declared(node, name, path)
    npy_dtype, npy_shape, npy_header_bytes = _npy_header(archive, name)
    stored = archive.zip.getinfo(f"{name}.npy").file_size
    expected = math.prod(shape) * dtype.itemsize
    if npy_dtype != dtype or npy_shape != shape or stored != npy_header_bytes + expected:
        raise CheckpointError(
            f"load: {path} is corrupt: entry {name!r} is declared {dtype.str} {shape} ({expected:,} bytes) "
            f"but stored as {npy_dtype.str} {npy_shape} in {stored - npy_header_bytes:,} bytes"
        )


def _declared(node: dict, name: str, path: str) -> tuple[numpy.dtype, tuple[int, ...]]:
    shape = node.get("shape")
    if not (
        isinstance(shape, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise CheckpointError(f"load: {path} is corrupt: entry {name!r} has the shape {shape!r}")
    try:
        dtype = numpy.dtype(node.get("dtype"))
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"load: {path} is corrupt: entry {name!r} has the dtype {node.get('dtype')!r}"
        ) from error
    if dtype.hasobject or dtype.fields is not None:
        raise CheckpointError(f"load: {path} is corrupt: entry {name!r} has a non-plain dtype {dtype}")
    return dtype, tuple(shape)


def _npy_header(archive: Any, name: str) -> tuple[numpy.dtype, tuple[int, ...], int]:
    """(dtype, shape, header length) from the entry's ``.npy`` header, without reading its data."""
    with archive.zip.open(f"{name}.npy") as file:
        version = numpy.lib.format.read_magic(file)
        read = (
            numpy.lib.format.read_array_header_1_0
            if version == (1, 0)
            else numpy.lib.format.read_array_header_2_0
        )
        shape, _fortran, dtype = read(file, max_header_size=NPY_HEADER_MAX)
        return numpy.dtype(dtype), tuple(shape), file.tell()
