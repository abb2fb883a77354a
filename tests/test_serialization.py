"""save/load: exact round trips, atomic writes, and clear errors for foreign or damaged files."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import serialization
from tinygrad_lm.serialization import CheckpointError, load, save

REPO = Path(__file__).resolve().parents[1]


def assert_same(loaded, original):
    """Equal values, bit for bit, with the same Python and array types."""
    assert type(loaded) is type(original), (type(loaded), type(original))
    if isinstance(original, dict):
        assert list(loaded) == list(original)
        for key in original:
            assert type(next(k for k in loaded if k == key)) is type(key)
            assert_same(loaded[key], original[key])
    elif isinstance(original, list | tuple):
        assert len(loaded) == len(original)
        for a, b in zip(loaded, original, strict=True):
            assert_same(a, b)
    elif isinstance(original, tg.Tensor):
        assert loaded.requires_grad == original.requires_grad and loaded.is_leaf and loaded.grad is None
        assert_same(loaded.numpy(), original.numpy())
    elif isinstance(original, np.ndarray | np.generic):
        assert loaded.dtype == original.dtype and loaded.shape == original.shape
        assert loaded.tobytes() == original.tobytes()
    elif isinstance(original, float) and math.isnan(original):
        assert math.isnan(loaded)
    else:
        assert loaded == original
        if isinstance(original, float):
            assert math.copysign(1, loaded) == math.copysign(1, original)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (7,), (2, 3, 4)])
def test_arrays_round_trip_bit_for_bit(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    array = np.asarray(rng.standard_normal(shape) * 100).astype(dtype)
    save({"x": array, "t": tg.Tensor(array)}, tmp_path / "a.npz")
    loaded = load(tmp_path / "a.npz")
    assert_same(loaded, {"x": array, "t": tg.Tensor(array)})
    assert loaded["x"].flags.writeable


def test_nested_state_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(1)
    generator = tg.Generator(1234)
    generator.normal((100,), np.float32, "cpu")  # move the state away from the seed
    state = {
        "model": {"w": tg.Tensor(rng.standard_normal((3, 2)), requires_grad=True), "b": tg.zeros(2)},
        "rng": generator.get_state(),
        "step": 17,
        "big": [2**200, -(2**130) + 1, 0],
        "floats": [0.1, -0.0, math.inf, -math.inf, math.nan, 1e-310, 1.7976931348623157e308],
        "numpy scalars": (np.float32(0.1), np.int64(-3), np.bool_(True), np.float64(2.5)),
        "text": ["", "ünïcødé ✓", 'a\nb"c'],
        "nothing": None,
        "flags": (True, False),
        1: "int key",
        "1": "str key",
        "tuple in list": [(1, 2), [3, (4,)], {}, [], ()],
        "transposed": rng.standard_normal((3, 4)).T,
        "fortran": np.asfortranarray(rng.standard_normal((2, 5))),
    }
    save(state, tmp_path / "state.npz")
    loaded = load(tmp_path / "state.npz")
    assert_same(loaded, state)
    assert isinstance(loaded["rng"]["bit_generator"]["state"]["state"], int)


def test_generator_state_resumes_the_same_draws(tmp_path):
    generator = tg.Generator(7)
    generator.uniform((10,), np.float64, "cpu")
    save(generator.get_state(), tmp_path / "rng.npz")
    expected = generator.normal((5,), np.float64, "cpu")
    fresh = tg.Generator(0)
    fresh.set_state(load(tmp_path / "rng.npz"))
    np.testing.assert_array_equal(fresh.normal((5,), np.float64, "cpu"), expected)


def test_model_outputs_identical_after_loading_a_checkpoint(tmp_path):
    nn = pytest.importorskip("tinygrad_lm.nn")
    model = nn.Linear(4, 3, generator=tg.Generator(0))
    save({"model": model.state_dict()}, tmp_path / "m.npz")
    fresh = nn.Linear(4, 3, generator=tg.Generator(1))
    fresh.load_state_dict(load(tmp_path / "m.npz")["model"])
    x = tg.randn(5, 4)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_unsupported_objects_are_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(TypeError, match=r"save: obj\['cfg'\]\[0\] is a set"):
        save({"cfg": [{1, 2}]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be str or int"):
        save({(1, 2): 3}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object array"):
        save(np.array([None, 1], dtype=object), tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_map_location(tmp_path):
    save({"t": tg.ones(2), "a": np.ones(2)}, tmp_path / "x.npz")
    loaded = load(tmp_path / "x.npz", map_location="cpu")
    assert loaded["t"].device == "cpu" and isinstance(loaded["a"], np.ndarray)
    with pytest.raises(ValueError, match="unknown device"):
        load(tmp_path / "x.npz", map_location="tpu")


@pytest.mark.gpu
def test_a_gpu_checkpoint_loads_on_the_cpu(tmp_path):
    if not tg.cuda.is_available():
        pytest.skip("needs CuPy and a CUDA device")
    t = tg.Tensor(np.arange(6.0).reshape(2, 3), device="cuda")
    save({"t": t, "a": t.data}, tmp_path / "g.npz")
    on_cpu = load(tmp_path / "g.npz", map_location="cpu")
    assert on_cpu["t"].device == "cpu" and isinstance(on_cpu["a"], np.ndarray)
    np.testing.assert_array_equal(on_cpu["t"].numpy(), np.arange(6.0).reshape(2, 3))
    back = load(tmp_path / "g.npz")  # None: the saved device, available here
    assert back["t"].device == t.device and back["a"].device.id == t.data.device.id


# --------------------------------------------------------------------------- atomic writes
def test_a_failed_save_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"step": 1, "w": np.arange(4.0)}, path)

    def crash_midway(file, arrays):
        file.write(b"PK\x03\x04" + b"\0" * 1000)
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_npz", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save({"step": 2, "w": np.zeros(4)}, path)
    assert_same(load(path), {"step": 1, "w": np.arange(4.0)})
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_midway_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"step": 0}, path)
    script = (
        "import sys, numpy as np\n"
        "from tinygrad_lm.serialization import save\n"
        "big = {'step': 1, 'w': np.ones(6_000_000)}\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    save(big, sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 20
        while not any(name.endswith(".tmp") for name in os.listdir(tmp_path)):  # wait until mid-write
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.001)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    loaded = load(path)
    assert loaded["step"] in (0, 1)
    if loaded["step"] == 1:
        np.testing.assert_array_equal(loaded["w"], np.ones(6_000_000))


# --------------------------------------------------------------------------- foreign and damaged files
def test_a_truncated_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0), "step": 3}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=rf"load: {path} is truncated or corrupt"):
        load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"load: {path} is truncated or corrupt"):
        load(path)


def test_a_corrupt_entry_gives_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[500] ^= 0xFF  # inside the array's bytes: the zip CRC check catches it
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load(path)


def test_foreign_files_give_a_clear_error(tmp_path):
    random_bytes = tmp_path / "random.bin"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=rf"load: {random_bytes} is not a tinygrad_lm checkpoint"):
        load(random_bytes)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(3))
    with pytest.raises(CheckpointError, match=r"is not a tinygrad_lm checkpoint \(no header"):
        load(plain)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load(single)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_a_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "future.npz"
    header = b'{"format": "tinygrad_lm.checkpoint", "version": 99, "tree": null}'
    np.savez(path, **{serialization.HEADER: np.frombuffer(header, dtype=np.uint8)})
    with pytest.raises(CheckpointError, match="format version 99"):
        load(path)
