"""Every registered op that names a PyTorch counterpart agrees with ``torch.autograd`` on the same
float64 inputs: forward values, first derivatives and second derivatives (Hessian-vector products).
Skipped when torch is not installed (it is never a dependency of the library)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.testing.registry import SPECS, OpSpec

torch = pytest.importorskip("torch")

WITH_TORCH = [s for s in SPECS if s.torch_fn is not None]
RTOL, ATOL = 1e-10, 1e-12  # both are float64 computations of the same formulas

# Points where torch's second derivative is known to be wrong (and ours right, by gradgradcheck): its pow
# backward masks y x^(y-1) to 0 where y == 0 with a constant mask, losing d2(x^y)/dxdy = x^(y-1) there.
TORCH_SECOND_ORDER_QUIRKS = {"pow": lambda arrays: bool(np.any(arrays[1] == 0))}


def _tuple(value: object) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def test_most_ops_have_a_torch_counterpart() -> None:
    assert len(WITH_TORCH) >= 0.8 * len(SPECS), sorted(s.name for s in SPECS if s.torch_fn is None)


def _both(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.cases())
    ours = case.tensors()
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in case.arrays]
    try:
        expected = _tuple(spec.torch_fn(*theirs, **case.params))
    except NotImplementedError:
        reject()  # parameters torch cannot express (e.g. negative slice steps)
    return ours, theirs, _tuple(spec.fn(*ours, **case.params)), expected


def _vjp_ours(outputs, inputs, upstream, create_graph=False) -> list:
    """sum_k d<u_k, y_k>/dx over the outputs that require grad, zeros for inputs they do not use."""
    pairs = [(y, u) for y, u in zip(outputs, upstream, strict=True) if y.requires_grad]
    grads = [None] * len(inputs)
    if pairs:
        seeds = [tg.Tensor(u, dtype="float64") for _, u in pairs]
        grads = tg.grad([y for y, _ in pairs], inputs, seeds, create_graph=create_graph, allow_unused=True)
    return [tg.zeros_like(x) if g is None else g for g, x in zip(grads, inputs, strict=True)]


def _vjp_torch(outputs, inputs, upstream, create_graph=False) -> list:
    pairs = [(y, u) for y, u in zip(outputs, upstream, strict=True) if y.requires_grad]
    grads = [None] * len(inputs)
    if pairs:
        seeds = [torch.tensor(u) for _, u in pairs]
        grads = torch.autograd.grad(
            [y for y, _ in pairs], inputs, seeds, create_graph=create_graph, allow_unused=True
        )
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs, strict=True)]


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in WITH_TORCH])
@given(data=st.data())
def test_forward_and_backward_match_torch(spec: OpSpec, data: st.DataObject) -> None:
    ours_in, theirs_in, ours_out, theirs_out = _both(spec, data)
    assert len(ours_out) == len(theirs_out)
    for y, t in zip(ours_out, theirs_out, strict=True):
        assert y.shape == tuple(t.shape), f"{spec.name}: shape {y.shape}, torch {tuple(t.shape)}"
        np.testing.assert_allclose(y.numpy(), t.detach().numpy(force=True), rtol=RTOL, atol=ATOL)
    if spec.first_order is not True or not any(t.requires_grad for t in theirs_out):
        return
    upstream = [np.random.default_rng(0).standard_normal(y.shape) for y in ours_out]
    ours, theirs = _vjp_ours(ours_out, ours_in, upstream), _vjp_torch(theirs_out, theirs_in, upstream)
    for g, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(
            g.numpy(), t.detach().numpy(force=True), rtol=RTOL, atol=ATOL, err_msg=spec.name
        )


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in WITH_TORCH if s.second_order is True])
@given(data=st.data())
def test_second_derivatives_match_torch(spec: OpSpec, data: st.DataObject) -> None:
    """d<v, d<u, f(x)>/dx>/dx (a Hessian-vector product) from both engines."""
    ours_in, theirs_in, ours_out, theirs_out = _both(spec, data)
    if not any(t.requires_grad for t in theirs_out):
        return
    quirk = TORCH_SECOND_ORDER_QUIRKS.get(spec.name)
    if quirk and quirk([x.numpy() for x in ours_in]):
        reject()
    rng = np.random.default_rng(1)
    u = [rng.standard_normal(y.shape) for y in ours_out]
    v = [rng.standard_normal(x.shape) for x in ours_in]
    ours_first = _vjp_ours(ours_out, ours_in, u, create_graph=True)
    theirs_first = _vjp_torch(theirs_out, theirs_in, u, create_graph=True)
    try:
        theirs = _vjp_torch(theirs_first, theirs_in, v)
    except RuntimeError as error:
        if "not implemented" not in str(error):
            raise
        pytest.skip(f"torch cannot differentiate {spec.name} twice: {error}")
    ours = _vjp_ours(ours_first, ours_in, v)
    for g, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(
            g.numpy(), t.detach().numpy(force=True), rtol=1e-9, atol=1e-11, err_msg=spec.name
        )
