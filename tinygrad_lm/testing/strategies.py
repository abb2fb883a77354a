"""Hypothesis strategies for property-based tests of tensor code: shapes, tensors, axes, indices, tokens.

Sizes are kept small by default (at most 4 dimensions of at most 5 elements) so that element-wise
finite differences stay fast. Values are drawn from a ``domain`` (low, high) and can be kept away
from the points where a function is not differentiable:

* ``avoid=(0.0,)`` moves every value closer than ``margin`` to 0 out to +-margin (relu, abs, clip);
* ``distinct=True`` makes all values (of all tensors drawn together) pairwise at least a small gap
  apart, so there are no ties for max/min/maximum/minimum. It is built by construction (distinct
  slots of a grid over the domain, each jittered by less than a quarter slot), never by rejection.

The margin (1e-3) is three orders of magnitude above gradcheck's step eps = 1e-6, so a central
difference never straddles a kink, and far above float32's resolution, so a float32 cast keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor

Shape = tuple[int, ...]
Domain = tuple[float, float]

DEFAULT_DOMAIN: Domain = (-3.0, 3.0)
MARGIN = 1e-3

__all__ = [
    "DEFAULT_DOMAIN",
    "MARGIN",
    "axes",
    "broadcastable_shapes",
    "broadcastable_tensors",
    "expand_targets",
    "float_arrays",
    "indices",
    "joinable_shapes",
    "keepdims",
    "masks",
    "matmul_shapes",
    "reshape_targets",
    "shapes",
    "signed_axis",
    "signed_permutations",
    "split_sizes",
    "squeeze_axes",
    "sum_to_targets",
    "tensors",
    "token_batches",
]


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    """Array shapes with ``min_dims..max_dims`` dimensions of ``min_side..max_side`` elements each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(
    n: int = 2, min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy:
    """Tuples of ``n`` shapes that broadcast together (NumPy's rules: trailing axes align, 1 stretches)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda drawn: tuple(drawn.input_shapes))


@st.composite
def joinable_shapes(draw: Any, stack: bool = False, max_count: int = 3) -> tuple[Shape, ...]:
    """1..max_count shapes equal except along one axis (for ``cat``), or all equal (``stack``)."""
    base = list(draw(shapes(1, 3, 1, 3)))
    axis = draw(st.integers(0, len(base) - 1))
    drawn = []
    for _ in range(draw(st.integers(1, max_count))):
        side = base[axis] if stack else draw(st.integers(1, 3))
        drawn.append(tuple(base[:axis] + [side] + base[axis + 1 :]))
    return tuple(drawn)


@st.composite
def matmul_shapes(draw: Any, broadcast: bool = False) -> tuple[Shape, Shape]:
    """Operand shapes for ``x @ y``: 1-D and 2-D, batched; batch dims broadcast if ``broadcast``."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    if broadcast:
        bx, by = draw(broadcastable_shapes(2, 1, 2, max_side=3).filter(lambda b: b[0] != b[1]))
        return draw(st.sampled_from([((*bx, n, k), (*by, k, m)), ((k,), (*by, k, m)), ((*bx, n, k), (k,))]))
    batch = draw(shapes(1, 2, max_side=3))
    pairs = [((k,), (k,)), ((k,), (k, m)), ((n, k), (k,)), ((n, k), (k, m)), ((*batch, n, k), (*batch, k, m))]
    return draw(st.sampled_from(pairs))


def _push_away(values: np.ndarray, avoid: Sequence[float], margin: float) -> np.ndarray:
    """Move every value closer than ``margin`` to an avoided point out to point +- margin."""
    for point in avoid:
        near = np.abs(values - point) < margin
        values = np.where(near, point + np.where(values >= point, margin, -margin), values)
    return values


@st.composite
def float_arrays(
    draw: Any,
    shapes: Sequence[Shape],
    dtype: Any = "float64",
    domains: Domain | Sequence[Domain] = DEFAULT_DOMAIN,
    avoid: Sequence[float] = (),
    distinct: bool = False,
    margin: float = MARGIN,
) -> tuple[np.ndarray, ...]:
    """One NumPy array per shape, with values in its domain (one pair for all, or one pair each).

    With ``distinct`` all values are drawn jointly from the first domain.
    """
    dtype = np.dtype(dtype)
    if len(domains) == 2 and not isinstance(domains[0], Sequence):
        domains = [domains] * len(shapes)
    if distinct:
        return tuple(a.astype(dtype) for a in _distinct(draw, shapes, domains[0], avoid, margin))
    arrays = []
    for shape, (low, high) in zip(shapes, domains, strict=True):
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        values = draw(hnp.arrays(np.float64, shape, elements=elements))
        arrays.append(_push_away(values, avoid, margin).astype(dtype))
    return tuple(arrays)


def _distinct(draw: Any, shapes: Sequence[Shape], domain: Domain, avoid: Sequence[float], margin: float):
    """Values at distinct slots of a grid of k cells over the domain: pairwise gaps >= half a cell."""
    low, high = domain
    total = sum(int(np.prod(s)) for s in shapes)
    cells = max(4 * total, 64)
    width = (high - low) / cells
    centers = low + width * (np.arange(cells) + 0.5)
    allowed = np.ones(cells, dtype=bool)
    for point in avoid:
        allowed &= np.abs(centers - point) > margin + width
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    slots = rng.choice(np.flatnonzero(allowed), size=total, replace=False)
    values = centers[slots] + width * rng.uniform(-0.25, 0.25, size=total)
    arrays, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        arrays.append(values[start : start + size].reshape(shape))
        start += size
    return arrays


@st.composite
def tensors(
    draw: Any,
    shape: Shape | st.SearchStrategy | None = None,
    dtype: Any = "float64",
    elements: st.SearchStrategy | None = None,
    domain: Domain = DEFAULT_DOMAIN,
    avoid: Sequence[float] = (),
    distinct: bool = False,
    requires_grad: bool | None = None,
    device: str | None = None,
) -> Tensor:
    """A ``tg.Tensor`` of ``dtype``; floating ones require grad unless ``requires_grad=False``.

    ``shape`` is a tuple, a strategy of tuples, or None (any of ``shapes()``); ``elements`` (a
    strategy of scalars) overrides ``domain``/``avoid``/``distinct``. Integer dtypes draw from
    ``range(int(low), int(high))`` and bool from {False, True}.
    """
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    dtype = np.dtype(dtype)
    if elements is not None:
        array = draw(hnp.arrays(dtype, shape, elements=elements))
    elif dtype.kind == "f":
        (array,) = draw(float_arrays([shape], dtype, domain, avoid, distinct))
    elif dtype.kind == "b":
        array = draw(hnp.arrays(dtype, shape, elements=st.booleans()))
    else:
        array = draw(hnp.arrays(dtype, shape, elements=st.integers(int(domain[0]), int(domain[1]) - 1)))
    grad = dtype.kind == "f" if requires_grad is None else requires_grad
    return Tensor(array, dtype=dtype, device=device, requires_grad=grad)


@st.composite
def broadcastable_tensors(
    draw: Any,
    n: int = 2,
    dtype: Any = "float64",
    domain: Domain | Sequence[Domain] = DEFAULT_DOMAIN,
    avoid: Sequence[float] = (),
    distinct: bool = False,
    min_dims: int = 1,
    max_dims: int = 4,
    max_side: int = 5,
    device: str | None = None,
) -> tuple[Tensor, ...]:
    """``n`` float tensors (requiring grad) of mutually broadcastable shapes; ``distinct`` spans all.

    At least one dimension by default (``min_dims=1``), so functions reducing ``axis=-1`` apply.
    """
    drawn = draw(broadcastable_shapes(n, min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    arrays = draw(float_arrays(drawn, dtype, domain, avoid, distinct))
    return tuple(Tensor(a, dtype=a.dtype, device=device, requires_grad=True) for a in arrays)


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """Reduction axes for ``ndim`` dimensions: None, an int, or a tuple of distinct ints (any sign)."""
    options = [st.none()] if allow_none or ndim == 0 else []
    if ndim == 0:
        return st.one_of(*options, st.just(()))
    options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        signed = st.lists(
            st.tuples(st.integers(0, ndim - 1), st.booleans()), max_size=ndim, unique_by=lambda p: p[0]
        )
        options.append(signed.map(lambda pairs: tuple(a - ndim if negative else a for a, negative in pairs)))
    return st.one_of(*options)


def keepdims() -> st.SearchStrategy:
    return st.booleans()


def signed_axis(ndim: int, extra: int = 0) -> st.SearchStrategy:
    """An axis of ``ndim + extra`` dimensions (``extra=1``: where unsqueeze/stack insert), either sign."""
    n = ndim + extra
    return st.tuples(st.integers(0, n - 1), st.booleans()).map(lambda p: p[0] - n if p[1] else p[0])


def signed_permutations(ndim: int) -> st.SearchStrategy:
    """A permutation of ``range(ndim)`` with each axis written either as a or a - ndim."""
    signs = st.lists(st.booleans(), min_size=ndim, max_size=ndim)
    return st.tuples(st.permutations(range(ndim)), signs).map(
        lambda p: tuple(a - ndim if neg else a for a, neg in zip(p[0], p[1], strict=True))
    )


@st.composite
def reshape_targets(draw: Any, shape: Shape) -> Shape:
    """A shape with the same number of elements: the sides shuffled, 1s inserted, maybe one -1."""
    new = list(draw(st.permutations(list(shape) + [1] * draw(st.integers(0, 2)))))
    if new and draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return tuple(new)


@st.composite
def expand_targets(draw: Any, shape: Shape) -> Shape:
    """A shape ``shape`` broadcasts to: new leading sides, 1s stretched, other sides kept or -1."""
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    sides = [draw(st.integers(1, 3)) if n == 1 else draw(st.sampled_from([n, -1])) for n in shape]
    return tuple(lead + sides)


@st.composite
def sum_to_targets(draw: Any, shape: Shape) -> Shape:
    """A shape that broadcasts to ``shape`` (a suffix of it, some sides replaced by 1)."""
    keep = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - keep :])


@st.composite
def squeeze_axes(draw: Any, shape: Shape) -> Any:
    """None, or an axis (int) or axes (tuple) of ``shape`` with side 1."""
    ones = [i for i, n in enumerate(shape) if n == 1]
    if not ones or draw(st.booleans()):
        return None
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    chosen = [draw(st.sampled_from([a, a - len(shape)])) for a in chosen]
    return chosen[0] if len(chosen) == 1 and draw(st.booleans()) else tuple(chosen)


@st.composite
def split_sizes(draw: Any, n: int) -> Any:
    """Sizes for ``split`` of a side n: a list of positive sizes adding to n, or one int in [1, n]."""
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=3))) if n > 1 else []
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    return draw(st.sampled_from([sizes, draw(st.integers(1, n))]))


def masks(shape: Shape) -> st.SearchStrategy:
    """Boolean NumPy arrays whose shape broadcasts to ``shape`` (leading axes dropped, sides 1)."""
    ndim = len(shape)

    def mask_shape(p: tuple) -> Shape:
        return tuple(1 if one else n for n, one in zip(shape, p[1], strict=True))[p[0] :]

    layouts = st.tuples(st.integers(0, ndim), st.lists(st.booleans(), min_size=ndim, max_size=ndim))
    return layouts.flatmap(lambda p: hnp.arrays(np.bool_, mask_shape(p), elements=st.booleans()))


def _integer_array(n: int) -> st.SearchStrategy:
    """1-D or 2-D int64 indices into a side of n, in [-n, n), often with repeated entries."""

    def build(args: tuple) -> np.ndarray:
        values, repeat, two_d = args
        values = values + values[:1] if repeat else values
        array = np.asarray(values, dtype=np.int64)
        return array.reshape(2, -1) if two_d and len(array) % 2 == 0 else array

    return st.tuples(
        st.lists(st.integers(-n, n - 1), min_size=1, max_size=4), st.booleans(), st.booleans()
    ).map(build)


@st.composite
def indices(draw: Any, shape: Shape, allow_advanced: bool = True) -> Any:
    """An index expression valid for ``shape``: what ``x[index]`` accepts.

    Basic: ints (any sign), slices with steps (negative too), None and Ellipsis. Advanced: an integer
    array (1-D or 2-D, with repeats) on one axis, two integer arrays of one length on two adjacent
    axes, or a boolean mask over the leading axes (possibly all of them), after ``slice(None)``s.
    """
    ndim = len(shape)
    kinds = ["basic"] + (["integer", "integers", "mask"] if allow_advanced and ndim > 0 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    if kind == "mask":
        start = draw(st.integers(0, ndim - 1))
        stop = draw(st.integers(start + 1, ndim))
        mask = draw(hnp.arrays(np.bool_, shape[start:stop], elements=st.booleans()))
        return (slice(None),) * start + (mask,)
    axis = draw(st.integers(0, ndim - 1))
    index = draw(_integer_array(shape[axis]))
    lead = (slice(None),) * axis
    if kind == "integers" and axis + 1 < ndim:
        partner = draw(hnp.arrays(np.int64, index.shape, elements=st.integers(0, shape[axis + 1] - 1)))
        return (*lead, index, partner)
    tail = draw(st.sampled_from([(), (Ellipsis,), (slice(None, None, -1),) if axis + 1 < ndim else ()]))
    return (*lead, index, *tail)


def token_batches(
    vocab_size: int, max_batch: int = 4, max_len: int = 8, min_len: int = 1
) -> st.SearchStrategy:
    """int64 arrays (B, T) of token ids in [0, vocab_size), 1 <= B <= max_batch, min_len <= T <= max_len."""
    sizes = st.tuples(st.integers(1, max_batch), st.integers(min_len, max_len))
    return sizes.flatmap(lambda bt: hnp.arrays(np.int64, bt, elements=st.integers(0, vocab_size - 1)))
