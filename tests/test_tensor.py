"""Tensor attributes, creation, dtypes, devices, conversions and the errors users meet."""

import ast
import pathlib

import numpy as np
import pytest

import tinygrad_lm as tg

PACKAGE = pathlib.Path(tg.__file__).parent


def test_attributes_and_conversions():
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.dtype == tg.float32 and t.shape == (2, 2) and t.ndim == 2 and t.size == 4
    assert t.device == "cpu" and t.is_leaf and not t.requires_grad and t.grad is None
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(t.numpy(), np.ndarray)
    assert t.sum().item() == 10.0
    assert t.astype("float64").dtype == tg.float64
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor([True]).dtype == tg.bool_
    assert tg.tensor(np.zeros(2, dtype=np.float64)).dtype == tg.float64  # arrays keep their dtype


def test_tensor_copies_its_input():
    source = np.zeros(3)
    t = tg.tensor(source)
    source[0] = 1
    assert t.numpy()[0] == 0


def test_repr_shows_values_and_creator():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "creator=Mul" in repr(x * 2)
    assert "dtype=float64" in repr(tg.zeros(2, dtype="float64"))


def test_creation_functions():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((4,)).numpy().sum() == 4
    assert tg.full((2,), 7).tolist() == [7, 7]
    assert tg.arange(5).tolist() == [0, 1, 2, 3, 4] and tg.arange(5).dtype == tg.int64
    assert tg.arange(0, 1, 0.25).dtype == tg.float32
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    x = tg.randn(2, 3)
    assert tg.zeros_like(x).shape == (2, 3) and tg.ones_like(x).dtype == tg.float32
    assert tg.full_like(x, 2.0).numpy().max() == 2.0
    r = tg.rand(1000)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1
    k = tg.randint(0, 5, (100,))
    assert k.dtype == tg.int64 and set(k.tolist()) <= set(range(5))


def test_seeds_reproduce_exactly():
    tg.manual_seed(123)
    a = tg.randn(5).numpy()
    tg.manual_seed(123)
    b = tg.randn(5).numpy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = tg.Generator(7), tg.Generator(7)
    np.testing.assert_array_equal(tg.rand(4, generator=g1).numpy(), tg.rand(4, generator=g2).numpy())
    state = g1.get_state()
    first = tg.randn(3, generator=g1).numpy()
    g1.set_state(state)
    np.testing.assert_array_equal(tg.randn(3, generator=g1).numpy(), first)


def test_python_scalars_do_not_upcast_float32():
    x = tg.ones(3)
    for y in (x + 1, 2.5 * x, x / 3, 1 - x, x**2, 2**x):
        assert y.dtype == tg.float32
    assert (tg.tensor([1, 2]) * 0.5).dtype == tg.float32  # int tensor times a float: the default float


def test_numpy_arrays_on_the_left_defer_to_tensor():
    out = np.ones(3) * tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert isinstance(out, tg.Tensor) and out.requires_grad


def test_comparisons_argmax_and_one_hot():
    x = tg.tensor([[1.0, 5.0, 3.0], [7.0, 0.0, 2.0]])
    assert (x > 2).tolist() == [[False, True, True], [True, False, False]]
    assert (x == 5).dtype == tg.bool_
    assert x.argmax(axis=1).tolist() == [1, 0] and x.argmin().item() == 4
    np.testing.assert_array_equal(tg.one_hot(tg.tensor([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(IndexError, match=r"one_hot: indices must lie in \[0, 3\)"):
        tg.one_hot(tg.tensor([3]), 3)


def test_setitem_outside_a_graph_and_refusal_inside():
    t = tg.zeros(3)
    t[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0]
    p = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place assignment"):
        p[0] = 1.0
    with tg.no_grad():
        p[0] = 1.0
    assert p.tolist()[0] == 1.0


# ------------------------------------------------------------------------------------- errors
def test_requires_grad_on_an_integer_tensor():
    with pytest.raises(TypeError, match=r"requires_grad=True needs a floating-point tensor; got dtype int64"):
        tg.tensor([1, 2], requires_grad=True)


def test_non_broadcastable_shapes_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: inputs \(2, 3\) float32, \(4,\) float32"):
        tg.ones(2, 3) + tg.ones(4)


def test_matmul_inner_dimension_mismatch():
    with pytest.raises(ValueError, match=r"matmul: .*\(4, 3\) @ \(5, 2\).*\(3 != 5\)"):
        tg.ones(4, 3) @ tg.ones(5, 2)


def test_axis_out_of_range():
    with pytest.raises(IndexError, match=r"sum: axis 2 is out of range .*shape \(2, 3\).*-2 <= axis < 2"):
        tg.ones(2, 3).sum(axis=2)
    with pytest.raises(IndexError, match="softmax: axis -3"):
        tg.ones(2, 3).softmax(-3)


def test_index_out_of_range():
    with pytest.raises(IndexError, match=r"getitem: inputs \(3,\) float32.*out of bounds"):
        tg.ones(3)[5]
    with pytest.raises(IndexError, match="getitem"):
        tg.ones(3)[np.array([0, 7])]


def test_unknown_device_and_missing_cuda():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.zeros(2, device="tpu")
    if not tg.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            tg.zeros(2, device="cuda")


@pytest.mark.gpu
def test_mixing_devices_names_both():
    if not tg.cuda.is_available():
        pytest.skip("needs a CUDA device")
    with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
        tg.ones(2) + tg.ones(2, device="cuda")
    x = tg.ones(2, requires_grad=True)
    x.to("cuda").sum().backward()
    assert x.grad.device == "cpu"


def test_no_op_module_touches_numpy_directly():
    """Ops, layers and optimizers reach arrays only through ``xp = get_xp(array)``.

    Allowed: the backend itself, the modules that build host arrays from user data (dtypes, tensor, creation),
    the dtype/shape bookkeeping, the checkpoint format (which writes host copies to .npz), and the
    compiled CPU kernels (``kernels/``: numba loops over NumPy arrays, which ``kernels_for`` hands them
    alone; an op on a CuPy array never reaches them).
    """
    allowed = {
        "backend.py",
        "dtypes.py",
        "tensor.py",
        "tensor_values.py",  # tensor.py's base class: repr and NumPy conversion of host copies
        "creation.py",
        "function.py",
        "shapes.py",
        "serialization.py",
        "archive_checks.py",  # the checkpoint format's reader: .npy headers of the host entries
    }
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed or "testing" in path.parts or "kernels" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("numpy", "cupy") for n in names):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, f"modules importing numpy/cupy directly: {offenders}"


def test_variance_without_degrees_of_freedom_is_nan():
    assert np.isnan(tg.tensor([2.0]).var().item())
    assert tg.tensor([2.0]).var(correction=0).item() == 0.0


def test_power_gradient_in_the_exponent_at_a_zero_base_is_zero():
    base = tg.tensor([0.0, 1.0, 2.0], dtype="float64", requires_grad=True)
    exponent = tg.tensor([2.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    (g_exponent,) = tg.grad((base**exponent).sum(), [exponent], create_graph=True)
    np.testing.assert_allclose(g_exponent.numpy(), [0.0, 0.0, 8 * np.log(2)])
    (g_base,) = tg.grad(g_exponent.sum(), [base])  # d/db (b^e log b) stays finite too
    assert np.all(np.isfinite(g_base.numpy()))


def test_expand_minus_one_only_keeps_existing_axes():
    assert tg.ones(2).expand(3, -1).shape == (3, 2)
    with pytest.raises(ValueError, match="cannot stand for a new axis"):
        tg.ones(3).expand(-1, 3)
