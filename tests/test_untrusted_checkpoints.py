"""``tg.load`` on hostile or damaged archives: checked before allocating, every failure a CheckpointError."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import archive_checks, serialization
from tinygrad_lm.serialization import CheckpointError


def npy_bytes(array=None, header=None) -> bytes:
    buffer = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def write_archive(path, tree, entries: dict[str, bytes], header_bytes: bytes | None = None):
    """An .npz as ``tg.save`` writes it, but with any header ``tree`` and raw ``.npy`` entries (deflated)."""
    header = header_bytes or json.dumps({"format": serialization.FORMAT, "version": 1, "tree": tree}).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{serialization.HEADER}.npy", npy_bytes(np.frombuffer(header, dtype=np.uint8)))
        for name, data in entries.items():
            archive.writestr(f"{name}.npy", data)
    return path


def node(name, shape, dtype="<f8"):
    return {"array": name, "dtype": dtype, "shape": list(shape), "device": "cpu"}


def refused_quickly_without_allocating(path, match):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match=match):
            tg.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 2**20, f"allocated {peak:,} bytes before refusing"


def test_one_large_entry_referenced_many_times_is_refused_before_reading_it(tmp_path):
    zeros = npy_bytes(np.zeros(4 * 2**20 // 8))  # 4 MB, a few KB compressed
    tree = {"list": [node("a0", (4 * 2**20 // 8,)) for _ in range(20)]}
    path = write_archive(tmp_path / "bomb.npz", tree, {"a0": zeros})
    assert path.stat().st_size < 50_000
    refused_quickly_without_allocating(path, "names the entry 'a0' twice")


def test_an_entry_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    huge = npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (10**11,)}) + b"\0" * 64
    path = write_archive(tmp_path / "huge.npz", node("a0", (10**11,)), {"a0": huge})
    refused_quickly_without_allocating(path, r"entry 'a0' is declared <f8 \(100000000000,\) .* stored")


def test_header_and_entry_disagreeing_on_the_shape_is_refused(tmp_path):
    path = write_archive(tmp_path / "shape.npz", node("a0", (2,)), {"a0": npy_bytes(np.ones(3))})
    with pytest.raises(CheckpointError, match=r"declared <f8 \(2,\) .* stored as <f8 \(3,\)"):
        tg.load(path)


@pytest.mark.parametrize(
    "tree, match",
    [
        (node("a7", (1,)), "names an entry 'a7' the archive lacks"),
        (node("a0", (-1,)), r"has the shape \[-1\]"),
        (node("a0", (1,), dtype="|O"), "non-plain dtype object"),
        ({"dict": [["only-a-key"]]}, r"not a \[key, value\] pair"),
        ({"list": "not-a-list"}, "a list node of its header is not a list"),
    ],
    ids=["missing", "negative-shape", "object-dtype", "bad-dict", "bad-list"],
)
def test_malformed_headers_are_checkpoint_errors(tmp_path, tree, match):
    path = write_archive(tmp_path / "bad.npz", tree, {"a0": npy_bytes(np.ones(1))})
    with pytest.raises(CheckpointError, match=match):
        tg.load(path)


def test_a_deeply_nested_header_is_refused_not_a_recursion_error(tmp_path):
    deep = ('{"list": [' * 5000) + "1" + (']}' * 5000)
    header = f'{{"format": "{serialization.FORMAT}", "version": 1, "tree": {deep}}}'.encode()
    path = write_archive(tmp_path / "deep.npz", None, {}, header_bytes=header)
    with pytest.raises(CheckpointError):
        tg.load(path)
    shallow_enough = {"list": [1]}
    for _ in range(archive_checks.MAX_DEPTH + 1):
        shallow_enough = {"list": [shallow_enough]}
    path = write_archive(tmp_path / "deeper.npz", shallow_enough, {})
    with pytest.raises(CheckpointError, match=f"nests deeper than {archive_checks.MAX_DEPTH} levels"):
        tg.load(path)


def test_an_oversized_header_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "ok.npz"
    tg.save({"w": np.ones(3)}, path)
    monkeypatch.setattr(archive_checks, "MAX_HEADER_BYTES", 10)
    with pytest.raises(CheckpointError, match="its header entry is .* bytes, more than the 10"):
        tg.load(path)


def test_corrupt_compressed_data_is_a_checkpoint_error(tmp_path):
    path = write_archive(tmp_path / "z.npz", node("a0", (1000,)), {"a0": npy_bytes(np.arange(1000.0))})
    raw = bytearray(path.read_bytes())
    start = raw.index(b"a0.npy") + 40  # inside the deflated data of the entry
    raw[start : start + 200] = bytes(200)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        tg.load(path)


def test_a_well_formed_archive_still_loads_exactly(tmp_path):
    state = {"w": np.arange(6.0).reshape(2, 3), "t": tg.tensor([1.5], requires_grad=True)}
    state["n"] = [1, {"k": None}]
    tg.save(state, tmp_path / "ok.npz")
    loaded = tg.load(tmp_path / "ok.npz")
    np.testing.assert_array_equal(loaded["w"], state["w"])
    assert loaded["t"].requires_grad and loaded["t"].tolist() == [1.5] and loaded["n"] == [1, {"k": None}]
