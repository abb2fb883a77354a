"""Registry entries (``OpSpec``, see ``specs.py``) for the element-wise ops: the arithmetic operators
(with tensors and with Python scalars), maximum/minimum/where, the unary math functions, gelu, clip,
dtype casts and device moves.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg

from . import strategies as tst
from .specs import Convention, OpSpec, as_torch, torch_module
from .strategies import DEFAULT_DOMAIN

D = st.fixed_dictionaries
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
POSITIVE = (0.5, 3.0)
_erf = np.vectorize(math.erf, otypes=[np.float64])
_scalar = st.sampled_from([-1.5, 0.5, 2.0])
_ops = st.sampled_from(["+", "-", "*", "/"])
_sides = st.sampled_from(["left", "right"])


def _other_device(x: tg.Tensor) -> str:
    return "cuda" if x.device == "cpu" and tg.cuda.is_available() else "cpu"


def _gelu_ref(x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "none":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _unary(name: str, method: str, ref: Callable, torch_name: str | None = None, **kw: Any) -> OpSpec:
    covers = (method[0].upper() + method[1:], f"Tensor.{method}")
    torch_fn = (lambda x: getattr(torch_module(), torch_name or method)(x)) if torch_name != "" else None
    return OpSpec(
        name, lambda x: getattr(x, method)(), ref, covers=covers, kind="unary", torch_fn=torch_fn, **kw
    )


def _binary(name: str, symbol: str, cls: str, dunder: str, **kw: Any) -> OpSpec:
    op = ARITH[symbol]
    return OpSpec(name, op, op, arity=2, covers=(cls, f"Tensor.{dunder}"), broadcasts=True, kind="binary",
                  torch_fn=op, **kw)  # fmt: skip


def _extreme(name: str, cls: str) -> OpSpec:
    """maximum/minimum, as a method and as tg.<name>; distinct values, so no ties."""

    def fn(x: tg.Tensor, y: tg.Tensor, how: str) -> tg.Tensor:
        return getattr(x, name)(y) if how == "method" else getattr(tg, name)(x, y)

    ref = lambda x, y, how: getattr(np, name)(x, y)
    return OpSpec(name, fn, ref, arity=2, distinct=True, broadcasts=True,
                  covers=(cls, f"Tensor.{name}", f"tg.{name}"), kind="binary",
                  conventions=(Convention(([1.0, 2.0], [1.0, 0.0]), ([0.5, 1.0 if name == "maximum" else 0.0],
                                                                   [0.5, 0.0 if name == "maximum" else 1.0]),
                                          {"how": "method"}),),  # a tie: the gradient is split in half
                  params=lambda s: st.fixed_dictionaries({"how": st.sampled_from(["method", "function"])}),
                  torch_fn=lambda x, y, how: getattr(torch_module(), name)(x, y))  # fmt: skip


# fmt: off
ELEMENTWISE_SPECS: list[OpSpec] = [
    # ------------------------------------------------------------------------------ element-wise, binary
    _binary("add", "+", "Add", "__add__"),
    _binary("sub", "-", "Sub", "__sub__"),
    _binary("mul", "*", "Mul", "__mul__"),
    _binary("div", "/", "Div", "__truediv__", domain=(DEFAULT_DOMAIN, POSITIVE)),
    _binary("pow", "**", "Pow", "__pow__", domain=(POSITIVE, (-2.0, 2.0)), conventions=(
        # d/dx x**0 = 0 (also at 0); d/dx at 0 of x**2 is 0, of x**0.5 is inf; d/dy at x = 0 is 0
        Convention(([0.0, 0.0, 0.0, 2.0], [0.0, 2.0, 0.5, 0.0]),
                   ([0.0, 0.0, np.inf, 0.0], [0.0, 0.0, 0.0, np.log(2.0)])),
    )),
    OpSpec("scalar_arith", lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c),
           lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c), domain=POSITIVE,
           covers=("Tensor.__radd__", "Tensor.__rsub__", "Tensor.__rmul__", "Tensor.__rtruediv__"),
           params=lambda s: D({"op": _ops, "side": _sides, "c": _scalar}),
           torch_fn=lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c)),
    OpSpec("pow_scalar", lambda x, side, c: c**x if side == "left" else x**c,
           lambda x, side, c: c**x if side == "left" else x**c, domain=POSITIVE,
           covers=("Pow", "Tensor.__pow__", "Tensor.__rpow__"),
           conventions=(Convention(([0.0, 3.0],), ([0.0, 0.0],), {"side": "right", "c": 0}),),
           params=lambda s: st.one_of(
               D({"side": st.just("left"), "c": st.sampled_from([0.5, 2.0, math.e])}),
               D({"side": st.just("right"), "c": st.sampled_from([0, 1, 2, 3, -1, 0.5, 2.5])})),
           torch_fn=lambda x, side, c: c**x if side == "left" else x**c),
    _extreme("maximum", "Maximum"),
    _extreme("minimum", "Minimum"),
    OpSpec("where", lambda x, y, cond: tg.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y), arity=2,
           covers=("Where", "tg.where"), broadcasts=True, kind="binary",
           params=lambda s: D({"cond": tst.masks(np.broadcast_shapes(*s))}),
           torch_fn=lambda x, y, cond: torch_module().where(as_torch(cond), x, y)),
    # ------------------------------------------------------------------------------- element-wise, unary
    OpSpec("neg", lambda x: -x, np.negative, covers=("Neg", "Tensor.__neg__"), kind="unary",
           torch_fn=lambda x: -x),
    _unary("exp", "exp", np.exp),
    _unary("log", "log", np.log, domain=(0.1, 10.0)),
    _unary("sqrt", "sqrt", np.sqrt, domain=(0.1, 10.0), conventions=(Convention(([0.0],), ([np.inf],)),)),
    _unary("abs", "abs", np.abs, avoid=(0.0,), conventions=(Convention(([0.0, -0.0],), ([0.0, 0.0],)),)),
    _unary("tanh", "tanh", np.tanh),
    _unary("sigmoid", "sigmoid", lambda x: 1 / (1 + np.exp(-x)), domain=(-6.0, 6.0)),
    _unary("relu", "relu", lambda x: np.maximum(x, 0), avoid=(0.0,),
           conventions=(Convention(([0.0],), ([0.0],)),)),
    _unary("erf", "erf", _erf),
    OpSpec("gelu", lambda x, approximate: x.gelu(approximate), _gelu_ref, kind="unary",
           covers=("GeluTanh", "GeluErf", "Tensor.gelu"),
           params=lambda s: D({"approximate": st.sampled_from(["tanh", "none"])}),
           torch_fn=lambda x, approximate: torch_module().nn.functional.gelu(x, approximate=approximate)),
    OpSpec("clip", lambda x, low, high: x.clip(low, high), lambda x, low, high: np.clip(x, low, high),
           avoid=(-1.0, 0.5, 1.0, 2.0), covers=("Clip", "Tensor.clip"), conventions=(  # bounds are inside
               Convention(([-1.0, 1.0],), ([1.0, 1.0],), {"low": -1.0, "high": 1.0}),
               Convention(([0.5, 2.0],), ([1.0, 1.0],), {"low": 0.5, "high": 2.0})),
           params=lambda s: st.sampled_from([(-1.0, None), (None, 1.0), (-1.0, 1.0), (0.5, 2.0)]).map(
               lambda p: {"low": p[0], "high": p[1]}),
           torch_fn=lambda x, low, high: torch_module().clamp(x, low, high)),
    OpSpec("astype_float64", lambda x, how: x.double() if how == "double" else x.astype("float64"),
           lambda x, how: x.astype(np.float64), keeps_dtype=False,
           covers=("Cast", "Tensor.astype", "Tensor.double"),
           params=lambda s: D({"how": st.sampled_from(["double", "astype"])}),
           torch_fn=lambda x, how: x.double()),
    OpSpec("astype_float32", lambda x, how: x.float() if how == "float" else x.astype("float32"),
           lambda x, how: x.astype(np.float32), keeps_dtype=False, covers=("Cast", "Tensor.float"),
           first_order="rounds to float32: a float64 finite difference would measure the rounding "
           "(its backward is checked against float64 in the float32 column)",
           second_order="rounds to float32 (see first order)",
           params=lambda s: D({"how": st.sampled_from(["float", "astype"])})),
    OpSpec("to_device", lambda x: x.to(_other_device(x)), lambda x: x, covers=("ToDevice", "Tensor.to"),
           torch_fn=lambda x: x.to("cpu")),
]
# fmt: on
