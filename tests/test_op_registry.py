"""Every registered op, under hypothesis: forward vs NumPy, backward and double backward vs finite
differences, the gradient contract, broadcasting, float32; and the registry covers every op."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.ops import elementwise
from tinygrad_lm.testing import report as checks
from tinygrad_lm.testing.registry import NOT_DIFFERENTIABLE, SPECS, OpSpec

HINT = (
    "add an OpSpec naming it in `covers` to the table of its op family in tinygrad_lm/testing/ "
    "(registry_elementwise.py, registry_reduce_movement.py, registry_nn.py, registry_sequence.py), "
    "or list it in NOT_DIFFERENTIABLE (registry.py)"
)


def params_for(field: str | None = None) -> list:
    """One pytest param per spec (id = op name); skipped with the spec's reason where n/a."""
    result = []
    for spec in SPECS:
        reason = checks._reason(spec, field)
        if field == "broadcasts" and reason:
            continue  # nothing to broadcast: no test item
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        result.append(pytest.param(spec, id=spec.name, marks=marks))
    return result


@pytest.mark.parametrize("spec", params_for())
@given(data=st.data())
def test_forward_matches_numpy_reference(spec: OpSpec, device: str, data: st.DataObject) -> None:
    checks.check_forward(spec, data.draw(spec.cases()), device)


@pytest.mark.parametrize("spec", params_for("first_order"))
@given(data=st.data())
def test_backward_matches_finite_differences(spec: OpSpec, device: str, data: st.DataObject) -> None:
    checks.check_backward(spec, data.draw(spec.cases()), device)


@pytest.mark.parametrize("spec", params_for("second_order"))
@given(data=st.data())
def test_double_backward_matches_finite_differences(spec: OpSpec, device: str, data: st.DataObject) -> None:
    checks.check_double_backward(spec, data.draw(spec.cases()), device)


@pytest.mark.parametrize("spec", params_for())
@given(data=st.data())
def test_gradient_shapes_dtypes_and_no_mutation(spec: OpSpec, device: str, data: st.DataObject) -> None:
    checks.check_contract(spec, data.draw(spec.cases()), device)


@pytest.mark.parametrize("spec", params_for("broadcasts"))
@given(data=st.data())
def test_broadcast_inputs(spec: OpSpec, device: str, data: st.DataObject) -> None:
    case = data.draw(spec.cases(broadcast=True))
    assert len({a.shape for a in case.arrays}) > 1, "the broadcast strategy drew equal shapes"
    checks.check_broadcasting(spec, case, device)


@pytest.mark.parametrize("spec", params_for("float32"))
@given(data=st.data())
def test_float32_matches_float64_without_upcast(spec: OpSpec, device: str, data: st.DataObject) -> None:
    checks.check_float32(spec, data.draw(spec.cases()), device)


@pytest.mark.gpu
@pytest.mark.skipif(not tg.cuda.is_available(), reason="CUDA is not available (needs CuPy and a GPU)")
@pytest.mark.parametrize("spec", params_for())
@given(data=st.data())
def test_cpu_gpu_parity(spec: OpSpec, data: st.DataObject) -> None:
    """The same op on the same values gives the same outputs and gradients on CPU and GPU."""
    case = data.draw(spec.cases())
    cpu, gpu = case.tensors("cpu"), case.tensors("cuda")
    for y_cpu, y_gpu in zip(checks.call(spec, cpu, case), checks.call(spec, gpu, case), strict=True):
        np.testing.assert_allclose(y_gpu.numpy(), y_cpu.numpy(), rtol=1e-12, atol=1e-12)
    for g_cpu, g_gpu in zip(checks.vjp(spec, cpu, case), checks.vjp(spec, gpu, case), strict=True):
        assert g_gpu.device.startswith("cuda")
        np.testing.assert_allclose(g_gpu.numpy(), g_cpu.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------- the checks can fail
def test_checks_catch_a_wrong_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    tanh = next(s for s in SPECS if s.name == "tanh")
    monkeypatch.setattr(elementwise.Tanh, "backward", lambda self, gy: gy * (1 - self.output()))
    assert not checks.run_check(checks.check_backward, tanh, 10, "cpu", False)[0]


def test_checks_catch_a_wrong_second_derivative_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """exp's backward with its output detached is right to first order and wrong to second."""
    exp = next(s for s in SPECS if s.name == "exp")
    detached = lambda self, gy: gy * self.output().detach()
    monkeypatch.setattr(elementwise.Exp, "backward", detached)
    assert checks.run_check(checks.check_backward, exp, 10, "cpu", False)[0]
    passed, _, message = checks.run_check(checks.check_double_backward, exp, 10, "cpu", False)
    assert not passed and "double backward" in message


def test_checks_catch_a_wrong_forward_and_a_silent_upcast(monkeypatch: pytest.MonkeyPatch) -> None:
    relu = next(s for s in SPECS if s.name == "relu")
    monkeypatch.setattr(elementwise.Relu, "forward", lambda self, x: np.maximum(x, 0).astype(np.float64))
    assert checks.run_check(checks.check_forward, relu, 10, "cpu", False)[0]
    assert not checks.run_check(checks.check_float32, relu, 10, "cpu", False)[0]
    monkeypatch.setattr(elementwise.Relu, "forward", lambda self, x: np.maximum(x, 1e-9))
    assert not checks.run_check(checks.check_forward, relu, 10, "cpu", False)[0]


# ---------------------------------------------------------------------------------- registry coverage
def _covered() -> set[str]:
    return {name for spec in SPECS for name in spec.covers}


def _function_classes() -> set[type]:
    """Every Function subclass defined under tinygrad_lm that defines a forward (after importing
    functional and nn, if present)."""
    for optional in ("tinygrad_lm.functional", "tinygrad_lm.nn"):
        try:
            package = importlib.import_module(optional)
        except ModuleNotFoundError as error:
            if error.name != optional:
                raise
            continue
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=f"{optional}."):
            importlib.import_module(info.name)
    found, stack = set(), [tg.Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("tinygrad_lm.") and "forward" in vars(sub):
                found.add(sub)  # an op; a base without a forward of its own (FusedFunction) is none
    return found


def _tensor_api() -> set[str]:
    names = set()
    members = {}
    for cls in reversed(tg.Tensor.__mro__[:-1]):  # its base TensorValues too, not object
        members.update(vars(cls))
    for name, value in members.items():
        dunder = name.startswith("__") and name.endswith("__")
        if (dunder and inspect.isfunction(value)) or not name.startswith("_"):
            names.add(f"Tensor.{name}")
    return names


def test_spec_names_are_unique_and_covers_name_real_things() -> None:
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names)), "duplicate spec names"
    classes = {cls.__name__ for cls in _function_classes()}
    for spec in SPECS:
        for covered in spec.covers:
            owner, _, attribute = covered.rpartition(".")
            if owner == "Tensor":
                assert hasattr(tg.Tensor, attribute), f"{spec.name} covers {covered}, which does not exist"
            elif owner == "tg":
                assert attribute in tg.__all__, f"{spec.name} covers {covered}, which tg does not export"
            elif owner == "":
                assert covered in classes, f"{spec.name} covers {covered}, not a Function under tinygrad_lm"


def test_every_function_subclass_has_a_spec() -> None:
    classes = _function_classes()
    assert {"Add", "GetItem", "IndexAdd", "SumTo", "Expand"} <= {c.__name__ for c in classes}
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in classes if c.__name__ not in _covered())
    assert not missing, f"Function subclasses without a gradient-check spec: {missing}; {HINT}"


def test_every_public_tensor_method_and_tg_function_has_a_spec() -> None:
    functions = {name for name in tg.__all__ if not inspect.ismodule(getattr(tg, name))}  # not tg.nn etc.
    api = _tensor_api() | {f"tg.{name}" for name in functions}
    assert {"Tensor.__add__", "Tensor.T", "Tensor.sum", "tg.cat"} <= api
    missing = sorted(api - _covered() - NOT_DIFFERENTIABLE)
    assert not missing, f"public differentiable API without a spec: {missing}; {HINT}"


def test_every_public_functional_function_has_a_spec() -> None:
    functional = pytest.importorskip("tinygrad_lm.functional")
    public = getattr(functional, "__all__", None) or [
        n for n, v in vars(functional).items() if inspect.isfunction(v) and not n.startswith("_")
    ]
    missing = sorted({f"functional.{name}" for name in public} - _covered() - NOT_DIFFERENTIABLE)
    assert not missing, f"tinygrad_lm.functional functions without a spec: {missing}; {HINT}"
