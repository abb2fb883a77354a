"""Registry entries (``OpSpec``, see ``specs.py``) for the ops that reduce, contract or move elements:
sum/mean/max/min/var/std/logsumexp, softmax and log_softmax, matmul, reshape/permute/transpose and the
other shape ops, cat/stack/split/chunk, and indexing (getitem, gather, masked_fill, tril/triu).
Integer arguments (axes, target shapes, indices) are drawn as ``params``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg

from ..shapes import normalize_axes
from . import strategies as tst
from .specs import Convention, OpSpec, as_torch, torch_module
from .strategies import Shape

D = st.fixed_dictionaries


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


def _treduce(op: str) -> Callable[..., Any]:
    """A torch reduction taking ``axis``/``keepdims`` like ours (``axis=()`` reduces nothing)."""

    def run(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        fn = getattr(torch_module(), op)
        if axis == () or x.ndim == 0:
            return fn(x.unsqueeze(0), dim=0, keepdim=False, **kw)
        dims = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        return fn(x, dim=dims, keepdim=keepdims, **kw)

    return run


def _torch_getitem(x: Any, index: Any) -> Any:
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, slice) and (i.step or 1) < 0 for i in items):
        raise NotImplementedError("torch has no negative slice steps")
    return x[tuple(as_torch(i) if isinstance(i, np.ndarray) else i for i in items)]


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


def _reduction(name: str, ref: Callable, torch_op: str, covers: tuple[str, ...], **kw: Any) -> OpSpec:
    fn = lambda x, **p: getattr(x, name)(**p)
    kw.setdefault("params", _reduce_params)
    return OpSpec(name, fn, ref, covers=covers, kind="reduction", torch_fn=_treduce(torch_op), **kw)


def _np_reduce(name: str) -> Callable[..., np.ndarray]:
    return lambda x, axis=None, keepdims=False, correction=0: getattr(np, name)(
        x, axis=axis, keepdims=keepdims, **({"ddof": correction} if name in ("var", "std") else {})
    )


# fmt: off
REDUCE_MOVEMENT_SPECS: list[OpSpec] = [
    # ------------------------------------------------------------------------------------------ reductions
    _reduction("sum", _np_reduce("sum"), "sum", ("Sum", "Tensor.sum")),
    _reduction("mean", _np_reduce("mean"), "mean", ("Tensor.mean",)),
    _reduction("max", _np_reduce("max"), "amax", ("Max", "Tensor.max"), distinct=True,  # ties share equally
               conventions=(Convention(([[1.0, 1.0, 0.0, 1.0]],), ([[1 / 3, 1 / 3, 0.0, 1 / 3]],),
                                       {"axis": 1}),)),
    _reduction("min", _np_reduce("min"), "amin", ("Max", "Tensor.min"), distinct=True,
               conventions=(Convention(([[0.0, 1.0, 0.0]],), ([[0.5, 0.0, 0.5]],), {"axis": None}),)),
    _reduction("var", _np_reduce("var"), "var", ("Tensor.var",), params=_var_params),
    _reduction("std", _np_reduce("std"), "std", ("Tensor.std",), distinct=True, min_dims=1, min_side=2,
               params=lambda s: _var_params(s, positive=True), conventions=(  # a constant row: gradient 0
                   Convention(([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]],), ([[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]],),
                              {"axis": 1, "correction": 1}),)),
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
           covers=("MatMul", "Tensor.__rmatmul__"), torch_fn=lambda y, a: as_torch(a) @ y),
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
           torch_fn=lambda *xs, axis: torch_module().cat(xs, axis)),
    OpSpec("stack", lambda *xs, axis: tg.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis), arity=3,
           shapes=lambda b: tst.joinable_shapes(stack=True), covers=("tg.stack",),
           params=lambda s: D({"axis": tst.signed_axis(len(s[0]), 1)}),
           torch_fn=lambda *xs, axis: torch_module().stack(xs, axis)),
    OpSpec("split", lambda x, sizes, axis: x.split(sizes, axis), _split_ref, min_dims=1, params=_split_params,
           covers=("Tensor.split",), torch_fn=lambda x, sizes, axis: torch_module().split(x, sizes, axis)),
    OpSpec("chunk", lambda x, chunks, axis: x.chunk(chunks, axis), min_dims=1,
           ref=lambda x, chunks, axis: _split_ref(x, -(-x.shape[axis] // chunks), axis),
           params=lambda s: _split_params(s, chunk=True), covers=("Tensor.chunk",),
           torch_fn=lambda x, chunks, axis: torch_module().chunk(x, chunks, axis)),
    OpSpec("iter", lambda x: tg.stack(list(x)), lambda x: np.stack(list(x)), min_dims=1,
           covers=("Tensor.__iter__",), torch_fn=lambda x: torch_module().stack(list(x))),
    # ------------------------------------------------------------------------------------------- indexing
    OpSpec("getitem", lambda x, index: x[_on(x, index)], lambda x, index: x[index],
           covers=("GetItem", "IndexAdd", "Tensor.__getitem__"),
           params=lambda s: D({"index": tst.indices(s[0])}), torch_fn=_torch_getitem),
    OpSpec("gather", lambda x, axis, index: x.gather(axis, tg.Tensor(index, device=x.device)),
           lambda x, axis, index: np.take_along_axis(x, index, axis), min_dims=1, params=_gather_params,
           covers=("Tensor.gather",),
           torch_fn=lambda x, axis, index: torch_module().gather(x, axis, as_torch(index))),
    OpSpec("masked_fill", lambda x, mask, value: x.masked_fill(mask, value),
           lambda x, mask, value: np.where(mask, value, x), covers=("Tensor.masked_fill",),
           params=lambda s: D({"mask": tst.masks(s[0]), "value": st.sampled_from([0.0, -2.5])}),
           torch_fn=lambda x, mask, value: x.masked_fill(as_torch(mask), value)),
    OpSpec("tril", lambda x, k: x.tril(k), lambda x, k: np.tril(x, k), min_dims=2, covers=("Tensor.tril",),
           params=lambda s: D({"k": st.integers(-2, 2)}), torch_fn=lambda x, k: x.tril(k)),
    OpSpec("triu", lambda x, k: x.triu(k), lambda x, k: np.triu(x, k), min_dims=2, covers=("Tensor.triu",),
           params=lambda s: D({"k": st.integers(-2, 2)}), torch_fn=lambda x, k: x.triu(k)),
]
# fmt: on
