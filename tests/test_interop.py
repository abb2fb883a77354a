"""Tensor interop: ``numpy.asarray(t)`` (``__array__``), DLPack both ways (NumPy, PyTorch), and the
operators that must still defer to Tensor (``__array_ufunc__ = None``)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lm as tg

DTYPES = ("float32", "float64", "int64", "bool")


def _sample(dtype: str) -> np.ndarray:
    return (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_asarray_shares_memory_and_keeps_dtype_and_shape(dtype: str) -> None:
    t = tg.as_tensor(_sample(dtype))
    view = np.asarray(t)
    assert view.dtype == np.dtype(dtype) and view.shape == (2, 3, 4)
    view[1, 2, 3] = 1
    t.data[0, 0, 0] = 1
    assert t.data[1, 2, 3] == 1 and view[0, 0, 0] == 1


def test_asarray_follows_numpy2_copy_and_dtype_arguments() -> None:
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    copied = np.array(t, copy=True)
    copied[0, 0] = 9.0
    assert t.data[0, 0] == 1.0
    assert np.asarray(t, copy=False) is t.data
    cast = np.asarray(t, dtype=np.float64)
    assert cast.dtype == np.float64 and np.array_equal(cast, t.data)
    with pytest.raises(ValueError, match="float32 to float64 needs a copy"):
        np.asarray(t, dtype=np.float64, copy=False)


def test_asarray_of_a_gpu_array_names_the_explicit_copies() -> None:
    from tinygrad_lm.backend import numpy_view

    class FakeGpuArray:  # what a CuPy array looks like to this check: not a NumPy array
        shape = (2,)

    with pytest.raises(TypeError, match=r"tensor\.numpy\(\) or tensor\.to\('cpu'\)"):
        numpy_view(FakeGpuArray())


def test_asarray_of_a_tensor_that_requires_grad_gives_values_only() -> None:
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    values = np.asarray(w)
    assert np.array_equal(values, [1.0, 2.0]) and not hasattr(values, "grad")


def test_ndarray_operators_still_defer_to_tensor() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0], dtype=np.float32)
    for out in (a * x, a + x, a - x, a / x, a @ x):
        assert isinstance(out, tg.Tensor)
    (a * x).sum().backward()
    assert np.array_equal(x.grad.numpy(), a)
    with pytest.raises(TypeError):  # ufuncs are not applied to a Tensor behind its back
        np.exp(x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dlpack_round_trip_with_numpy_shares_memory(dtype: str) -> None:
    array = _sample(dtype)
    t = tg.from_dlpack(array)
    assert t.dtype == array.dtype and t.shape == array.shape and not t.requires_grad
    back = np.from_dlpack(t)
    assert back.dtype == array.dtype and back.shape == array.shape
    array[0, 1, 2] = 1
    assert t.data[0, 1, 2] == 1 and back[0, 1, 2] == 1
    back[1, 0, 0] = 0
    assert array[1, 0, 0] == 0
    assert t.__dlpack_device__() == (1, 0)


def test_dlpack_keeps_strides_of_a_view() -> None:
    array = np.arange(12.0).reshape(3, 4)
    t = tg.from_dlpack(array.T)
    assert t.shape == (4, 3) and np.array_equal(t.numpy(), array.T)
    array[2, 1] = -1.0
    assert t.data[1, 2] == -1.0


def test_from_dlpack_rejects_what_is_not_a_producer() -> None:
    with pytest.raises(TypeError, match="does not implement the DLPack protocol"):
        tg.from_dlpack([1.0, 2.0])


def test_from_dlpack_rejects_other_devices_by_name() -> None:
    class OnAnotherDevice:
        def __dlpack__(self, **_):
            raise AssertionError("never asked for")

        def __dlpack_device__(self):
            return (8, 0)  # kDLMetal

    with pytest.raises(ValueError, match="device type 8"):
        tg.from_dlpack(OnAnotherDevice())


@pytest.mark.parametrize("dtype", DTYPES)
def test_dlpack_round_trip_with_torch_shares_memory(dtype: str) -> None:
    torch = pytest.importorskip("torch")
    t = tg.as_tensor(_sample(dtype))
    theirs = torch.from_dlpack(t)
    assert theirs.shape == t.shape and str(theirs.dtype) == f"torch.{dtype}"
    theirs[0, 0, 1] = 1
    assert t.data[0, 0, 1] == 1
    ours = tg.from_dlpack(theirs)
    t.data[1, 1, 1] = 0
    assert ours.dtype == t.dtype and ours.shape == t.shape and theirs[1, 1, 1].item() == 0
    assert ours.data[1, 1, 1] == 0


def test_dlpack_carries_no_gradient() -> None:
    torch = pytest.importorskip("torch")
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    theirs = torch.from_dlpack(w)
    assert not theirs.requires_grad and theirs.grad is None
    with pytest.raises(BufferError, match="require gradient"):  # PyTorch's own rule for its tensors
        tg.from_dlpack(torch.ones(2, requires_grad=True))
    ours = tg.from_dlpack(torch.ones(2, requires_grad=True).detach())
    assert not ours.requires_grad and ours.grad is None and ours.is_leaf


@pytest.mark.gpu
def test_dlpack_with_cupy_shares_gpu_memory_and_asarray_refuses() -> None:
    if not tg.cuda.is_available():
        pytest.skip("needs CuPy and a CUDA device")
    import cupy

    theirs = cupy.arange(6.0).reshape(2, 3)
    t = tg.from_dlpack(theirs)
    assert t.device == "cuda:0" and t.shape == (2, 3) and t.dtype == np.float64
    theirs[0, 0] = 5.0
    assert float(t.data[0, 0]) == 5.0
    back = cupy.from_dlpack(t)
    t.data[1, 1] = -1.0
    assert float(back[1, 1]) == -1.0 and t.__dlpack_device__() == (2, 0)
    with pytest.raises(TypeError, match=r"tensor\.numpy\(\) or tensor\.to\('cpu'\)"):
        np.asarray(t)


@pytest.mark.gpu
def test_dlpack_with_torch_cuda_shares_gpu_memory() -> None:
    torch = pytest.importorskip("torch")
    if not tg.cuda.is_available() or not torch.cuda.is_available():
        pytest.skip("needs CuPy, PyTorch with CUDA and a CUDA device")
    theirs = torch.arange(6.0, device="cuda").reshape(2, 3)
    t = tg.from_dlpack(theirs)
    assert t.device == "cuda:0" and t.shape == (2, 3) and t.dtype == np.float32
    theirs[0, 1] = 7.0
    torch.cuda.synchronize()
    assert float(t.data[0, 1]) == 7.0
    back = torch.from_dlpack(t)
    t.data[1, 2] = -2.0
    assert back[1, 2].item() == -2.0
