"""What the library offers its users (and the zoo) by public name, and what importing it does."""

import subprocess
import sys

import numpy as np

import tinygrad_lm as tg


def test_as_tensor_shares_a_matching_array_and_copies_otherwise():
    ids = np.arange(6, dtype=np.int64)
    shared = tg.as_tensor(ids)
    ids[0] = 42
    assert shared.data is ids and shared.tolist()[0] == 42 and not shared.requires_grad
    converted = tg.as_tensor(ids, dtype="float32")
    ids[1] = 43
    assert converted.dtype == tg.float32 and converted.tolist()[1] == 1.0
    assert tg.as_tensor([1.5, 2.5]).dtype == tg.float32  # Python data: converted as tg.tensor does
    assert tg.as_tensor(np.float64(2.0)).shape == ()  # a NumPy scalar is copied into a 0-d array


def test_device_helpers_are_public():
    a = np.ones(3)
    assert tg.get_xp(a) is np and tg.device_of(a) == "cpu" and tg.parse_device(None) == "cpu"
    assert tg.asnumpy(tg.to_device(a, "cpu")) is not None


def test_importing_the_library_leaves_the_process_allocator_alone():
    probe = (
        "import ctypes\n"
        "calls = []\n"
        "real = ctypes.CDLL\n"
        "class Spy(real):\n"
        "    def __getattr__(self, name):\n"
        "        calls.append(name)\n"
        "        return real.__getattr__(self, name)\n"
        "ctypes.CDLL = Spy\n"
        "import tinygrad_lm\n"
        "assert 'mallopt' not in calls, calls\n"
        "tinygrad_lm.keep_freed_memory()\n"
        "assert 'mallopt' in calls or not __import__('sys').platform.startswith('linux'), calls\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_gelu_has_one_default_everywhere_the_exact_form():
    x = tg.tensor([1.0], dtype="float64")
    exact = 0.5 * (1 + __import__("math").erf(1 / 2**0.5))  # x Phi(x) at x = 1: 0.841344...
    for y in (x.gelu(), tg.functional.gelu(x), tg.nn.GELU()(x)):
        assert abs(y.item() - exact) < 1e-15
    assert abs(x.gelu("tanh").item() - 0.8411919906) < 1e-9  # the tanh form only when asked


def test_every_fused_op_follows_the_one_contract():
    """A FusedFunction gives a vjp, and either recomputes its saved values for create_graph or says
    what to use instead; it does not write its own backward."""
    from tinygrad_lm.ops.fused_function import FusedFunction

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import tinygrad_lm.nn  # noqa: F401  (the recurrent scan lives there)

    fused = list(subclasses(FusedFunction))
    assert {"LinearFunction", "LayerNormFunction", "CrossEntropy", "Attention"} <= {c.__name__ for c in fused}
    for op in fused:
        assert op.vjp is not FusedFunction.vjp, op
        assert op.backward is FusedFunction.backward, f"{op.__name__} overrides backward"
        assert op.differentiable_twice or op.composed_form, op  # (recompute: the registry's 2nd order)
