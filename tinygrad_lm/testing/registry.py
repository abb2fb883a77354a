"""The op registry: one ``OpSpec`` per public differentiable operation, checked by the test suite.

An ``OpSpec`` says how to call the op and what it should compute:

* ``name``: the test id; ``fn(*tensors, **params)`` calls the op on ``tg.Tensor`` inputs and returns a
  Tensor or a tuple of Tensors; ``ref(*arrays, **params)`` is the NumPy reference on the same values
  (float64 arrays) and returns an array or a tuple of arrays; ``torch_fn(*torch_tensors, **params)``
  is the optional PyTorch counterpart (raise ``NotImplementedError`` for params torch cannot express).
* ``arity``: the number of tensor inputs (the most, for variadic ops: a ``shapes`` strategy decides).
* ``covers``: what the spec exercises: names of ``Function`` subclasses (``"GetItem"``) and of public
  API (``"Tensor.__getitem__"``, ``"tg.cat"``, ``"functional.layer_norm"``). Every Function subclass
  under ``tinygrad_lm`` and every public Tensor method / ``tg`` function / ``functional`` function
  must be covered by some spec or listed in ``NOT_DIFFERENTIABLE`` (tests/test_op_registry.py).
* Inputs: ``shapes(broadcast) -> strategy of a tuple of shapes`` (default: one shape of
  ``min_dims..max_dims`` dims with sides ``min_side..max_side``, repeated ``arity`` times, or mutually
  broadcastable shapes when ``broadcast``); values per input in ``domain`` (one (low, high) pair or one
  per input), kept ``MARGIN`` away from the points in ``avoid``, pairwise apart if ``distinct`` (ties).
* ``params(shapes) -> strategy of a dict`` of non-tensor arguments (axis, keepdims, index, masks...).
* ``broadcasts``: the inputs broadcast against each other (checked with broadcast shapes too).
* ``first_order`` / ``second_order`` / ``float32``: True, or a string saying why that check does not
  apply (printed as n/a in the report). Piecewise-linear ops have a zero second derivative almost
  everywhere: that is still checked. ``keeps_dtype``: the output has the input's dtype.
* ``kind``: ``"unary"``/``"binary"`` (element-wise) or ``"reduction"`` (axis, keepdims) make the op
  available to the random expression graphs of tests/test_composite_properties.py.

``SPECS`` is ``CORE_SPECS`` (this file) + ``NN_SPECS`` (``registry_functional.py``, for
``tinygrad_lm.functional``/``nn``, in this format; ``NN_NOT_DIFFERENTIABLE`` there may add names).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg

from ..shapes import normalize_axes
from . import registry_functional
from . import strategies as tst
from .strategies import DEFAULT_DOMAIN, Domain, Shape


class Case(NamedTuple):
    """One drawn example: the tensor inputs' values (NumPy) and the op's other arguments."""

    arrays: tuple[np.ndarray, ...]
    params: dict

    def tensors(self, device: str = "cpu", dtype: Any = None) -> list[tg.Tensor]:
        return [tg.Tensor(a, dtype=dtype or a.dtype, device=device, requires_grad=True) for a in self.arrays]


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    arity: int = 1
    covers: tuple[str, ...] = ()
    domain: Domain | tuple[Domain, ...] = DEFAULT_DOMAIN
    avoid: tuple[float, ...] = ()
    distinct: bool = False
    params: Callable[[tuple[Shape, ...]], st.SearchStrategy] | None = None
    shapes: Callable[[bool], st.SearchStrategy] | None = None
    min_dims: int = 0
    max_dims: int = 3
    min_side: int = 1
    max_side: int = 4
    broadcasts: bool = False
    first_order: bool | str = True
    second_order: bool | str = True
    float32: bool | str = True
    keeps_dtype: bool = True
    kind: str = "other"
    torch_fn: Callable[..., Any] | None = None

    def cases(self, dtype: Any = "float64", broadcast: bool = False) -> st.SearchStrategy:
        """Strategy of ``Case``s: values of ``dtype``, broadcast shapes if ``broadcast``."""
        return _cases(self, np.dtype(dtype), broadcast)

    def draw_shapes(self, broadcast: bool = False) -> st.SearchStrategy:
        if self.shapes is not None:
            return self.shapes(broadcast)
        sizes = dict(
            min_dims=self.min_dims, max_dims=self.max_dims, min_side=self.min_side, max_side=self.max_side
        )
        if broadcast and self.broadcasts:
            return tst.broadcastable_shapes(self.arity, **sizes).filter(lambda ss: len(set(ss)) > 1)
        return tst.shapes(**sizes).map(lambda s: (s,) * self.arity)


@st.composite
def _cases(draw: Any, spec: OpSpec, dtype: np.dtype, broadcast: bool) -> Case:
    shapes = draw(spec.draw_shapes(broadcast))
    arrays = draw(tst.float_arrays(shapes, dtype, spec.domain, spec.avoid, spec.distinct))
    params = draw(spec.params(shapes)) if spec.params else {}
    return Case(arrays, params)


# ------------------------------------------------------------------------------------- param strategies
def _count(shape: Shape, axis: Any) -> int:
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape), "registry", shape))


def _reduce_params(shapes: tuple[Shape, ...]) -> st.SearchStrategy:
    return st.fixed_dictionaries({"axis": tst.axes(len(shapes[0])), "keepdims": st.booleans()})


@st.composite
def _var_params(draw: Any, shapes: tuple[Shape, ...], positive: bool = False) -> dict:
    """var/std: N - correction > 0 for the N reduced elements; std (``positive``) needs N >= 2."""
    axis = draw(tst.axes(len(shapes[0])))
    if positive and _count(shapes[0], axis) < 2:
        axis = None
    correction = draw(st.sampled_from([0, 1])) if _count(shapes[0], axis) > 1 else 0
    return {"axis": axis, "keepdims": draw(st.booleans()), "correction": correction}


def _axis_param(shapes: tuple[Shape, ...], **extra: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries({"axis": tst.signed_axis(len(shapes[0])), **extra})


@st.composite
def _transpose_params(draw: Any, shapes: tuple[Shape, ...]) -> dict:
    ndim = len(shapes[0])
    hows = ["T", "swapaxes", "transpose", "default"][: 1 if ndim == 0 else 3 if ndim == 1 else 4]
    axes = (draw(tst.signed_axis(ndim)), draw(tst.signed_axis(ndim))) if ndim else ()
    return {"how": draw(st.sampled_from(hows)), "axes": axes}


@st.composite
def _flatten_params(draw: Any, shapes: tuple[Shape, ...]) -> dict:
    ndim = len(shapes[0])
    if ndim == 0:
        return {}
    start = draw(st.integers(0, ndim - 1))
    end = draw(st.integers(start, ndim - 1))
    return {
        "start": draw(st.sampled_from([start, start - ndim])),
        "end": draw(st.sampled_from([end, end - ndim])),
    }


@st.composite
def _split_params(draw: Any, shapes: tuple[Shape, ...], chunk: bool = False) -> dict:
    ndim = len(shapes[0])
    axis = draw(tst.signed_axis(ndim))
    if chunk:
        return {"chunks": draw(st.integers(1, 4)), "axis": axis}
    return {"sizes": draw(tst.split_sizes(shapes[0][axis])), "axis": axis}


@st.composite
def _cat_params(draw: Any, shapes: tuple[Shape, ...]) -> dict:
    ndim = len(shapes[0])
    differ = [a for a in range(ndim) if len({s[a] for s in shapes}) > 1]
    axis = differ[0] if differ else draw(st.integers(0, ndim - 1))
    return {"axis": draw(st.sampled_from([axis, axis - ndim]))}


@st.composite
def _rmatmul_params(draw: Any, shapes: tuple[Shape, ...]) -> dict:
    shape = shapes[0]
    k = shape[-2] if len(shape) > 1 else shape[0]
    left = draw(st.sampled_from([(k,), (draw(st.integers(1, 3)), k)]))
    return {"a": draw(tst.float_arrays([left]))[0]}


@st.composite
def _gather_params(draw: Any, shapes: tuple[Shape, ...]) -> dict:
    shape, ndim = shapes[0], len(shapes[0])
    axis = draw(st.integers(0, ndim - 1))
    index_shape = shape[:axis] + (draw(st.integers(1, 4)),) + shape[axis + 1 :]
    index = draw(tst.tensors(index_shape, dtype="int64", domain=(0, shape[axis]))).numpy()
    return {"axis": draw(st.sampled_from([axis, axis - ndim])), "index": index}


# --------------------------------------------------------------------------------------------- helpers
def _on(x: tg.Tensor, index: Any) -> Any:
    """The arrays of an index expression on x's device (NumPy arrays index CPU tensors as they are)."""
    if x.device == "cpu":
        return index
    items = index if isinstance(index, tuple) else (index,)
    moved = tuple(tg.Tensor(i, device=x.device) if isinstance(i, np.ndarray) else i for i in items)
    return moved if isinstance(index, tuple) else moved[0]


def _other_device(x: tg.Tensor) -> str:
    return "cuda" if x.device == "cpu" and tg.cuda.is_available() else "cpu"


def _torch() -> Any:
    import torch

    return torch


def _t(array: Any) -> Any:
    return _torch().as_tensor(array)


def _treduce(op: str) -> Callable[..., Any]:
    """A torch reduction taking ``axis``/``keepdims`` like ours (``axis=()`` reduces nothing)."""

    def run(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        fn = getattr(_torch(), op)
        if axis == () or x.ndim == 0:
            return fn(x.unsqueeze(0), dim=0, keepdim=False, **kw)
        dims = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        return fn(x, dim=dims, keepdim=keepdims, **kw)

    return run


def _torch_getitem(x: Any, index: Any) -> Any:
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, slice) and (i.step or 1) < 0 for i in items):
        raise NotImplementedError("torch has no negative slice steps")
    return x[tuple(_t(i) if isinstance(i, np.ndarray) else i for i in items)]


def _split_ref(x: np.ndarray, sizes: Any, axis: int) -> tuple[np.ndarray, ...]:
    n = x.shape[axis]
    if isinstance(sizes, int):
        sizes = [min(sizes, n - start) for start in range(0, n, sizes)]
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp_ref(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


def _expand_ref(x: np.ndarray, shape: Shape, how: str) -> np.ndarray:
    lead = len(shape) - x.ndim
    return np.broadcast_to(x, tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape)))


def _sum_to_ref(x: np.ndarray, shape: Shape) -> np.ndarray:
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)


def _flatten_ref(x: np.ndarray, start: int = 0, end: int = -1) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start % x.ndim, end % x.ndim
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1 :])


def _gelu_ref(x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "none":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


D = st.fixed_dictionaries
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
_erf = np.vectorize(math.erf, otypes=[np.float64])
_TRANSPOSE = {
    "T": lambda x, a: x.T,
    "swapaxes": lambda x, a: x.swapaxes(*a),
    "transpose": lambda x, a: x.transpose(*a) if isinstance(x, tg.Tensor) else np.swapaxes(x, *a),
    "default": lambda x, a: x.transpose() if isinstance(x, tg.Tensor) else np.swapaxes(x, -2, -1),
}
_TORCH_TRANSPOSE = {
    "T": lambda x, a: x.permute(tuple(reversed(range(x.ndim)))),
    "swapaxes": lambda x, a: x.swapaxes(*a),
    "transpose": lambda x, a: x.transpose(*a),
    "default": lambda x, a: x.transpose(-2, -1),
}
_scalar = st.sampled_from([-1.5, 0.5, 2.0])
_ops = st.sampled_from(["+", "-", "*", "/"])
_sides = st.sampled_from(["left", "right"])
POSITIVE = (0.5, 3.0)


def _unary(name: str, method: str, ref: Callable, torch_name: str | None = None, **kw: Any) -> OpSpec:
    covers = (method[0].upper() + method[1:], f"Tensor.{method}")
    torch_fn = (lambda x: getattr(_torch(), torch_name or method)(x)) if torch_name != "" else None
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
                  params=lambda s: st.fixed_dictionaries({"how": st.sampled_from(["method", "function"])}),
                  torch_fn=lambda x, y, how: getattr(_torch(), name)(x, y))  # fmt: skip


def _reduction(name: str, ref: Callable, torch_op: str, covers: tuple[str, ...], **kw: Any) -> OpSpec:
    fn = lambda x, **p: getattr(x, name)(**p)
    kw.setdefault("params", _reduce_params)
    return OpSpec(name, fn, ref, covers=covers, kind="reduction", torch_fn=_treduce(torch_op), **kw)


def _np_reduce(name: str) -> Callable[..., np.ndarray]:
    return lambda x, axis=None, keepdims=False, correction=0: getattr(np, name)(
        x, axis=axis, keepdims=keepdims, **({"ddof": correction} if name in ("var", "std") else {})
    )


# fmt: off
CORE_SPECS: list[OpSpec] = [
    # ------------------------------------------------------------------------------ element-wise, binary
    _binary("add", "+", "Add", "__add__"),
    _binary("sub", "-", "Sub", "__sub__"),
    _binary("mul", "*", "Mul", "__mul__"),
    _binary("div", "/", "Div", "__truediv__", domain=(DEFAULT_DOMAIN, POSITIVE)),
    _binary("pow", "**", "Pow", "__pow__", domain=(POSITIVE, (-2.0, 2.0))),
    OpSpec("scalar_arith", lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c),
           lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c), domain=POSITIVE,
           covers=("Tensor.__radd__", "Tensor.__rsub__", "Tensor.__rmul__", "Tensor.__rtruediv__"),
           params=lambda s: D({"op": _ops, "side": _sides, "c": _scalar}),
           torch_fn=lambda x, op, side, c: ARITH[op](c, x) if side == "left" else ARITH[op](x, c)),
    OpSpec("pow_scalar", lambda x, side, c: c**x if side == "left" else x**c,
           lambda x, side, c: c**x if side == "left" else x**c, domain=POSITIVE,
           covers=("Pow", "Tensor.__pow__", "Tensor.__rpow__"),
           params=lambda s: st.one_of(
               D({"side": st.just("left"), "c": st.sampled_from([0.5, 2.0, math.e])}),
               D({"side": st.just("right"), "c": st.sampled_from([0, 1, 2, 3, -1, 0.5, 2.5])})),
           torch_fn=lambda x, side, c: c**x if side == "left" else x**c),
    _extreme("maximum", "Maximum"),
    _extreme("minimum", "Minimum"),
    OpSpec("where", lambda x, y, cond: tg.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y), arity=2,
           covers=("Where", "tg.where"), broadcasts=True, kind="binary",
           params=lambda s: D({"cond": tst.masks(np.broadcast_shapes(*s))}),
           torch_fn=lambda x, y, cond: _torch().where(_t(cond), x, y)),
    # ------------------------------------------------------------------------------- element-wise, unary
    OpSpec("neg", lambda x: -x, np.negative, covers=("Neg", "Tensor.__neg__"), kind="unary",
           torch_fn=lambda x: -x),
    _unary("exp", "exp", np.exp),
    _unary("log", "log", np.log, domain=(0.1, 10.0)),
    _unary("sqrt", "sqrt", np.sqrt, domain=(0.1, 10.0)),
    _unary("abs", "abs", np.abs, avoid=(0.0,)),
    _unary("tanh", "tanh", np.tanh),
    _unary("sigmoid", "sigmoid", lambda x: 1 / (1 + np.exp(-x)), domain=(-6.0, 6.0)),
    _unary("relu", "relu", lambda x: np.maximum(x, 0), avoid=(0.0,)),
    _unary("erf", "erf", _erf),
    OpSpec("gelu", lambda x, approximate: x.gelu(approximate), _gelu_ref, kind="unary",
           covers=("GeluTanh", "GeluErf", "Tensor.gelu"),
           params=lambda s: D({"approximate": st.sampled_from(["tanh", "none"])}),
           torch_fn=lambda x, approximate: _torch().nn.functional.gelu(x, approximate=approximate)),
    OpSpec("clip", lambda x, low, high: x.clip(low, high), lambda x, low, high: np.clip(x, low, high),
           avoid=(-1.0, 0.5, 1.0, 2.0), covers=("Clip", "Tensor.clip"),
           params=lambda s: st.sampled_from([(-1.0, None), (None, 1.0), (-1.0, 1.0), (0.5, 2.0)]).map(
               lambda p: {"low": p[0], "high": p[1]}),
           torch_fn=lambda x, low, high: _torch().clamp(x, low, high)),
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
    # ------------------------------------------------------------------------------------------ reductions
    _reduction("sum", _np_reduce("sum"), "sum", ("Sum", "Tensor.sum")),
    _reduction("mean", _np_reduce("mean"), "mean", ("Tensor.mean",)),
    _reduction("max", _np_reduce("max"), "amax", ("Max", "Tensor.max"), distinct=True),
    _reduction("min", _np_reduce("min"), "amin", ("Max", "Tensor.min"), distinct=True),
    _reduction("var", _np_reduce("var"), "var", ("Tensor.var",), params=_var_params),
    _reduction("std", _np_reduce("std"), "std", ("Tensor.std",), distinct=True, min_dims=1, min_side=2,
               params=lambda s: _var_params(s, positive=True)),
    _reduction("logsumexp", _logsumexp_ref, "logsumexp", ("LogSumExp", "Tensor.logsumexp")),
    OpSpec("softmax", lambda x, axis: x.softmax(axis), _softmax_ref, covers=("Softmax", "Tensor.softmax"),
           min_dims=1, params=_axis_param, torch_fn=lambda x, axis: x.softmax(axis)),
    OpSpec("log_softmax", lambda x, axis: x.log_softmax(axis),
           lambda x, axis: np.log(_softmax_ref(x, axis)), min_dims=1, params=_axis_param,
           covers=("LogSoftmax", "Tensor.log_softmax"), torch_fn=lambda x, axis: x.log_softmax(axis)),
    # -------------------------------------------------------------------------------------------- matmul
    OpSpec("matmul", operator.matmul, operator.matmul, arity=2, shapes=tst.matmul_shapes, broadcasts=True,
           covers=("MatMul", "Tensor.__matmul__"), torch_fn=operator.matmul),
    OpSpec("rmatmul", lambda y, a: a.astype(y.dtype) @ y, lambda y, a: a @ y, params=_rmatmul_params,
           shapes=lambda b: tst.matmul_shapes(False).map(lambda s: s[1:]),
           covers=("MatMul", "Tensor.__rmatmul__"), torch_fn=lambda y, a: _t(a) @ y),
    # ------------------------------------------------------------------------------------ shape, movement
    OpSpec("reshape", lambda x, shape, varargs: x.reshape(*shape) if varargs else x.reshape(shape),
           lambda x, shape, varargs: x.reshape(shape), covers=("Reshape", "Tensor.reshape"),
           params=lambda s: D({"shape": tst.reshape_targets(s[0]), "varargs": st.booleans()}),
           torch_fn=lambda x, shape, varargs: x.reshape(shape)),
    OpSpec("flatten", lambda x, **p: x.flatten(**p), _flatten_ref, covers=("Tensor.flatten",),
           params=_flatten_params, torch_fn=lambda x, start=0, end=-1: x.reshape(-1) if x.ndim == 0
           else x.flatten(start, end)),  # fmt: skip
    OpSpec("permute", lambda x, axes, varargs: x.permute(*axes) if varargs else x.permute(axes),
           lambda x, axes, varargs: np.transpose(x, axes), covers=("Permute", "Tensor.permute"),
           params=lambda s: D({"axes": tst.signed_permutations(len(s[0])),
                                                   "varargs": st.booleans()}),
           torch_fn=lambda x, axes, varargs: x.permute(tuple(axes))),  # fmt: skip
    OpSpec("transpose", lambda x, how, axes: _TRANSPOSE[how](x, axes),
           lambda x, how, axes: _TRANSPOSE[how](x, axes),
           covers=("Tensor.T", "Tensor.transpose", "Tensor.swapaxes"), params=_transpose_params,
           torch_fn=lambda x, how, axes: _TORCH_TRANSPOSE[how](x, axes)),
    OpSpec("expand", lambda x, shape, how: getattr(x, how)(*shape), _expand_ref,
           covers=("Expand", "Tensor.expand", "Tensor.broadcast_to"),
           params=lambda s: D({"shape": tst.expand_targets(s[0]),
                                                   "how": st.sampled_from(["expand", "broadcast_to"])}),
           torch_fn=lambda x, shape, how: x.expand(tuple(shape))),  # fmt: skip
    OpSpec("sum_to", lambda x, shape: x.sum_to(shape), _sum_to_ref,
           covers=("SumTo", "Expand", "Tensor.sum_to"),
           params=lambda s: D({"shape": tst.sum_to_targets(s[0])}),
           torch_fn=lambda x, shape: x.sum_to_size(shape)),
    OpSpec("squeeze", lambda x, axis: x.squeeze(axis), lambda x, axis: np.squeeze(x, axis),
           covers=("Tensor.squeeze",), params=lambda s: D({"axis": tst.squeeze_axes(s[0])}),
           torch_fn=lambda x, axis: x.squeeze() if axis is None else x.squeeze(axis)),
    OpSpec("unsqueeze", lambda x, axis: x.unsqueeze(axis), lambda x, axis: np.expand_dims(x, axis),
           covers=("Tensor.unsqueeze",), params=lambda s: D({"axis": tst.signed_axis(len(s[0]), 1)}),
           torch_fn=lambda x, axis: x.unsqueeze(axis)),
    OpSpec("cat", lambda *xs, axis: tg.cat(xs, axis), lambda *xs, axis: np.concatenate(xs, axis), arity=3,
           shapes=lambda b: tst.joinable_shapes(), params=_cat_params, covers=("Cat", "tg.cat"),
           torch_fn=lambda *xs, axis: _torch().cat(xs, axis)),
    OpSpec("stack", lambda *xs, axis: tg.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis), arity=3,
           shapes=lambda b: tst.joinable_shapes(stack=True), covers=("tg.stack",),
           params=lambda s: D({"axis": tst.signed_axis(len(s[0]), 1)}),
           torch_fn=lambda *xs, axis: _torch().stack(xs, axis)),
    OpSpec("split", lambda x, sizes, axis: x.split(sizes, axis), _split_ref, min_dims=1, params=_split_params,
           covers=("Tensor.split",), torch_fn=lambda x, sizes, axis: _torch().split(x, sizes, axis)),
    OpSpec("chunk", lambda x, chunks, axis: x.chunk(chunks, axis), min_dims=1,
           ref=lambda x, chunks, axis: _split_ref(x, -(-x.shape[axis] // chunks), axis),
           params=lambda s: _split_params(s, chunk=True), covers=("Tensor.chunk",),
           torch_fn=lambda x, chunks, axis: _torch().chunk(x, chunks, axis)),
    OpSpec("iter", lambda x: tg.stack(list(x)), lambda x: np.stack(list(x)), min_dims=1,
           covers=("Tensor.__iter__",), torch_fn=lambda x: _torch().stack(list(x))),
    # ------------------------------------------------------------------------------------------- indexing
    OpSpec("getitem", lambda x, index: x[_on(x, index)], lambda x, index: x[index],
           covers=("GetItem", "IndexAdd", "Tensor.__getitem__"),
           params=lambda s: D({"index": tst.indices(s[0])}), torch_fn=_torch_getitem),
    OpSpec("gather", lambda x, axis, index: x.gather(axis, tg.Tensor(index, device=x.device)),
           lambda x, axis, index: np.take_along_axis(x, index, axis), min_dims=1, params=_gather_params,
           covers=("Tensor.gather",), torch_fn=lambda x, axis, index: _torch().gather(x, axis, _t(index))),
    OpSpec("masked_fill", lambda x, mask, value: x.masked_fill(mask, value),
           lambda x, mask, value: np.where(mask, value, x), covers=("Tensor.masked_fill",),
           params=lambda s: D({"mask": tst.masks(s[0]), "value": st.sampled_from([0.0, -2.5])}),
           torch_fn=lambda x, mask, value: x.masked_fill(_t(mask), value)),
    OpSpec("tril", lambda x, k: x.tril(k), lambda x, k: np.tril(x, k), min_dims=2, covers=("Tensor.tril",),
           params=lambda s: D({"k": st.integers(-2, 2)}), torch_fn=lambda x, k: x.tril(k)),
    OpSpec("triu", lambda x, k: x.triu(k), lambda x, k: np.triu(x, k), min_dims=2, covers=("Tensor.triu",),
           params=lambda s: D({"k": st.integers(-2, 2)}), torch_fn=lambda x, k: x.triu(k)),
]

NOT_DIFFERENTIABLE: frozenset[str] = frozenset(
    [f"Tensor.{name}" for name in (
        "__init__ __repr__ __len__ __bool__ __float__ __int__ __setitem__ __lt__ __le__ __gt__ __ge__ __eq__ "
        "__ne__ __invert__ __and__ __or__ any all argmax argmin item numpy tolist detach long backward "
        "requires_grad_ shape ndim size dtype device is_leaf data grad creator requires_grad").split()]
    + [f"tg.{name}" for name in (
        "Function Generator Tensor arange bool_ cuda default_generator enable_grad eye float32 float64 full "
        "full_like grad int64 is_grad_enabled manual_seed no_grad one_hot ones ones_like rand rand_like "
        "randint randn randn_like set_grad_enabled tensor zeros zeros_like save load").split()]
    + list(getattr(registry_functional, "NN_NOT_DIFFERENTIABLE", ()))
)
# fmt: on

NN_SPECS: list[OpSpec] = list(registry_functional.NN_SPECS)
SPECS: list[OpSpec] = CORE_SPECS + NN_SPECS
