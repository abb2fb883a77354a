"""Check analytic gradients against central finite differences, to first and second order.

For inputs x and outputs y = fn(x), a fixed-seed random upstream gradient u (ones for a scalar
output) turns the outputs into one scalar, L(x) = sum_k <u_k, y_k(x)>; the backward pass gives its
gradient g = dL/dx = J^T u (what ``backward`` computes for every op), and a central difference
estimates each component:

    dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps).

A random u (rather than ones) matters: a backward that ignores its upstream gradient agrees with
J^T 1 but not with J^T u. For small inputs (at most ``max_elementwise`` checked elements) every
component is compared; for larger ones, Chainer-style ``check_backward``, only a few random unit
directions d: (L(x + eps d) - L(x - eps d)) / (2 eps) against <g, d>.

Tolerances. The central difference has truncation error eps^2 |L'''| / 6 and rounding error about
ulp(L) / eps = 2.2e-16 |L| / eps. With eps = 1e-6 in float64 that is ~1e-12 |L'''| + 2e-10 |L|: for
functions whose values and derivatives are O(1)..O(100), the numeric estimate is good to ~1e-8.
gradcheck accepts |analytic - numeric| <= atol + rtol |numeric| with atol = 1e-5, rtol = 1e-4:
three orders of magnitude above that noise (room for values up to ~1e3), while any wrong formula
(a lost factor 2, a sign, a missing term, an ignored upstream gradient) is off by O(|g|), far
beyond them. gradgradcheck differentiates a derivative: its "function" is the backward pass
itself, a longer chain of float64 operations whose values (second derivatives) are larger, so its
truncation term involves fourth derivatives; atol = 1e-4, rtol = 1e-3 keep the same margin.

Inputs are checked in float64 (float32 has ~1e-7 resolution, so a step of 1e-6 would measure
rounding, not slope): every floating input is copied to a float64 leaf on its own device; float32
inputs are upcast explicitly (the copy is what fn sees; the caller's tensors are never modified and
get no ``.grad``). The checked inputs are those with ``requires_grad=True``, or all floating ones
when none has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd import grad as autograd_grad
from ..backend import asnumpy, get_xp
from ..tensor import Tensor, float64

EPS = 1e-6
GRAD_ATOL, GRAD_RTOL = 1e-5, 1e-4
GRADGRAD_ATOL, GRADGRAD_RTOL = 1e-4, 1e-3
MAX_ELEMENTWISE = 256
N_DIRECTIONS = 3


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences (the message says where and by how much)."""


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = EPS,
    atol: float = GRAD_ATOL,
    rtol: float = GRAD_RTOL,
    raise_exception: bool = True,
    seed: int = 0,
    max_elementwise: int = MAX_ELEMENTWISE,
    n_directions: int = N_DIRECTIONS,
    name: str | None = None,
) -> bool:
    """True when d<u, fn(inputs)>/d(inputs) from ``backward`` matches central finite differences.

    ``inputs`` is a Tensor or a sequence of arguments (non-Tensors are passed through unchanged);
    ``fn`` returns a Tensor or a tuple of Tensors. On a mismatch raises ``GradcheckError`` (an
    ``AssertionError``) naming the function, the inputs' shapes and dtypes, the worst element, the
    analytic and numeric values and the tolerances, or returns False if ``raise_exception=False``.
    """
    args, checked = _float64_leaves(inputs)
    problem = _Problem(fn, args, checked, name or _name(fn), seed)
    message = problem.compare(eps, atol, rtol, max_elementwise, n_directions)
    if message and raise_exception:
        raise GradcheckError(message)
    return not message


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = EPS,
    atol: float = GRADGRAD_ATOL,
    rtol: float = GRADGRAD_RTOL,
    raise_exception: bool = True,
    seed: int = 0,
    max_elementwise: int = MAX_ELEMENTWISE,
    n_directions: int = N_DIRECTIONS,
    name: str | None = None,
) -> bool:
    """True when the second derivative (backward of backward) matches finite differences of the first.

    First checks fn itself (so a wrong first derivative is reported here too); then checks
    G(x) = d<u, fn(x)>/dx, computed with ``create_graph=True``, exactly as gradcheck checks fn: with
    a second random upstream v, the Hessian-vector product d<v, G(x)>/dx from a second backward pass
    against central differences of G. Same arguments and report as ``gradcheck``.
    """
    label = name or _name(fn)
    options = (raise_exception, seed, max_elementwise, n_directions)
    if not gradcheck(fn, inputs, eps, atol, rtol, *options, name=label):
        return False
    args, checked = _float64_leaves(inputs)
    upstream = _upstream(_float_outputs(fn(*args), label), seed)

    def first_derivative(*xs: Any) -> tuple[Tensor, ...]:
        outputs = _float_outputs(fn(*xs), label)
        return _vjp(outputs, upstream, [xs[i] for i in checked], create_graph=True)

    outer = (raise_exception, seed + 1_000_003, max_elementwise, n_directions)  # v independent of u
    return gradcheck(
        first_derivative, args, eps, atol, rtol, *outer, name=f"the gradient of {label} (double backward)"
    )


# --------------------------------------------------------------------------------------------- helpers
def _name(fn: Callable[..., Any]) -> str:
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):  # MyFunction.apply names MyFunction
        return f"{owner.__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _float64_leaves(inputs: Tensor | Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Fresh float64 leaf copies of the floating inputs, and the positions of those to check."""
    items = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    floating = [i for i, a in enumerate(items) if isinstance(a, Tensor) and a.dtype.kind == "f"]
    if not floating:
        raise TypeError("gradcheck: no floating-point Tensor among the inputs, so nothing to differentiate")
    checked = [i for i in floating if items[i].requires_grad] or floating
    args = list(items)
    for i in floating:
        args[i] = Tensor(items[i].data, dtype=float64, requires_grad=i in checked)
    return args, checked


def _float_outputs(result: Any, label: str) -> list[Tensor]:
    outputs = [result] if isinstance(result, Tensor) else list(result)
    if not all(isinstance(y, Tensor) for y in outputs):
        raise TypeError(f"gradcheck: {label} must return a Tensor or a sequence of Tensors")
    return [y for y in outputs if y.dtype.kind == "f"]


def _upstream(outputs: list[Tensor], seed: int) -> list[np.ndarray]:
    """u_k: ones for a one-element output, else standard normal draws (reproducible from ``seed``)."""
    rng = np.random.default_rng(seed)
    return [np.ones(y.shape) if y.size == 1 else rng.standard_normal(y.shape) for y in outputs]


def _objective(outputs: list[Tensor], upstream: list[np.ndarray]) -> float:
    """L = sum_k <u_k, y_k>, on the host in float64."""
    terms = (np.vdot(u, asnumpy(y.data).astype(np.float64)) for u, y in zip(upstream, outputs, strict=True))
    return math.fsum(float(t) for t in terms)


def _vjp(outputs: list[Tensor], upstream: list[np.ndarray], wrt: list[Tensor], create_graph: bool):
    """(d L / d w for w in wrt), with zeros where L does not depend on w."""
    pairs = [(y, u) for y, u in zip(outputs, upstream, strict=True) if y.requires_grad]
    grads: Sequence[Tensor | None] = [None] * len(wrt)
    if pairs:
        seeds = [Tensor(u, dtype=y.dtype, device=y.device) for y, u in pairs]
        grads = autograd_grad(
            [y for y, _ in pairs], wrt, grad_outputs=seeds, create_graph=create_graph, allow_unused=True
        )
    return tuple(
        Tensor(np.zeros(w.shape), dtype=w.dtype, device=w.device) if g is None else g
        for g, w in zip(grads, wrt, strict=True)
    )


def _describe(args: list[Any], checked: list[int]) -> str:
    parts = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            role = "checked" if i in checked else "constant"
            parts.append(f"[{i}] shape {tuple(a.shape)} {a.dtype} on {a.device} ({role})")
        else:
            parts.append(f"[{i}] {type(a).__name__}")
    return "; ".join(parts)


class _Problem:
    """fn at float64 leaves ``args``; L(x) = sum_k <u_k, fn(x)_k> with u drawn from ``seed``."""

    def __init__(self, fn: Callable[..., Any], args: list[Any], checked: list[int], label: str, seed: int):
        self.fn, self.args, self.checked, self.label, self.seed = fn, args, checked, label, seed
        outputs = _float_outputs(fn(*args), label)
        self.upstream = _upstream(outputs, seed)
        wrt = [args[i] for i in checked]
        self.analytic = [asnumpy(g.data) for g in _vjp(outputs, self.upstream, wrt, create_graph=False)]

    def objective(self, steps: dict[int, Any]) -> float:
        """L(x + step), the steps given per checked input position (arrays on the input's device)."""
        moved = list(self.args)
        for i, step in steps.items():
            moved[i] = Tensor(self.args[i].data + step, dtype=float64, requires_grad=True)
        return _objective(_float_outputs(self.fn(*moved), self.label), self.upstream)

    def central(self, steps: dict[int, Any], eps: float) -> float:
        """(L(x + step) - L(x - step)) / (2 eps)."""
        minus = {i: -s for i, s in steps.items()}
        return (self.objective(steps) - self.objective(minus)) / (2 * eps)

    def compare(self, eps: float, atol: float, rtol: float, max_elementwise: int, n_directions: int) -> str:
        """'' when backward agrees with finite differences, else the failure report."""
        header = f"gradcheck failed for {self.label}\n  inputs: {_describe(self.args, self.checked)}\n"
        tolerances = f"\n  tolerances: atol={atol:g}, rtol={rtol:g}, eps={eps:g}, upstream seed {self.seed}"
        for i, g in zip(self.checked, self.analytic, strict=True):
            x = self.args[i]
            if g.shape != x.shape or g.dtype != x.dtype:
                return (
                    header
                    + f"  the gradient of input {i} is {g.shape} {g.dtype}, expected {x.shape} {x.dtype}"
                )
        if sum(self.args[i].size for i in self.checked) <= max_elementwise:
            found = self.elementwise(eps, atol, rtol)
        else:
            found = self.directional(eps, atol, rtol, n_directions)
        return header + found + tolerances if found else ""

    def elementwise(self, eps: float, atol: float, rtol: float) -> str:
        """dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for every element j of every input."""
        for i, g in zip(self.checked, self.analytic, strict=True):
            step = get_xp(self.args[i].data).zeros_like(self.args[i].data)
            numeric = np.empty(g.shape)
            for j in np.ndindex(*g.shape):
                step[j] = eps
                numeric[j] = self.central({i: step}, eps)
                step[j] = 0
            found = _compare(g, numeric, atol, rtol)
            if found:
                return f"  input {i}, element-wise central differences: {found}"
        return ""

    def directional(self, eps: float, atol: float, rtol: float, n_directions: int) -> str:
        """<g, d> ~ (L(x + eps d) - L(x - eps d)) / (2 eps) along random unit directions d."""
        rng = np.random.default_rng(self.seed + 1)
        size = sum(self.args[i].size for i in self.checked)
        for k in range(n_directions):
            d = {i: rng.standard_normal(self.args[i].shape) for i in self.checked}
            norm = math.sqrt(sum(float((v * v).sum()) for v in d.values()))
            d = {i: v / norm for i, v in d.items()}
            analytic = math.fsum(
                float(np.vdot(g, d[i])) for i, g in zip(self.checked, self.analytic, strict=True)
            )
            numeric = self.central({i: _like(self.args[i], eps * v) for i, v in d.items()}, eps)
            error, allowed = abs(analytic - numeric), atol + rtol * abs(numeric)
            if not error <= allowed:
                return (
                    f"  directional derivative along random unit direction {k} ({size} checked elements):\n"
                    f"    analytic = {analytic:.12e}\n    numeric  = {numeric:.12e}\n"
                    f"    |analytic - numeric| = {error:.3e} > atol + rtol*|numeric| = {allowed:.3e}"
                )
        return ""


def _like(tensor: Tensor, values: np.ndarray) -> Any:
    """``values`` as an array on ``tensor``'s device."""
    return Tensor(values, dtype=float64, device=tensor.device).data


def _compare(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> str:
    """'' when |analytic - numeric| <= atol + rtol |numeric| everywhere, else a description of the worst."""
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    bad = ~(error <= allowed)  # NaN counts as a failure
    if not bad.any():
        return ""
    ratio = np.where(np.isnan(error), np.inf, error / allowed)
    worst = np.unravel_index(int(np.argmax(ratio)), analytic.shape) if analytic.ndim else ()
    where = tuple(int(w) for w in worst)
    return (
        f"{int(bad.sum())} of {analytic.size} elements differ; worst at index {where}:\n"
        f"    analytic = {analytic[worst]:.12e}\n    numeric  = {numeric[worst]:.12e}\n"
        f"    |analytic - numeric| = {error[worst]:.3e} > atol + rtol*|numeric| = {allowed[worst]:.3e}"
    )
