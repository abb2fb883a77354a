"""Properties of the autograd engine on random expression graphs built from the registry's element-wise
and reduction ops: gradients of whole graphs (with shared subexpressions) match finite differences,
are linear in the upstream gradient, and are reproducible."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.shapes import keepdims_shape, normalize_axes
from tinygrad_lm.testing import gradcheck, gradgradcheck
from tinygrad_lm.testing import strategies as tst
from tinygrad_lm.testing.registry import CORE_SPECS, OpSpec

SMOOTH = [s for s in CORE_SPECS if not s.avoid and not s.distinct]  # no kinks, no ties
POOLS = {kind: [s for s in SMOOTH if s.kind == kind] for kind in ("unary", "binary", "reduction")}


@dataclass
class Graph:
    """A DAG over values v0..v{n-1} (the inputs), each step appending v_k = op(operands...)."""

    inputs: int
    shape: tuple[int, ...]
    steps: list[tuple[OpSpec, tuple[int, ...], dict]] = field(default_factory=list)
    reused: int = 0  # the output is v_last + v_reused: a value read twice

    def __call__(self, *xs: tg.Tensor) -> tg.Tensor:
        values = list(xs)
        for spec, operands, params in self.steps:
            domains = spec.domain if isinstance(spec.domain[0], tuple) else (spec.domain,) * spec.arity
            args = [squash(values[i], d) for i, d in zip(operands, domains, strict=True)]
            values.append(spec.fn(*args, **params))
        return values[-1] + values[self.reused]

    def __repr__(self) -> str:
        lines = [f"v{self.inputs + k} = {s.name}({', '.join(f'v{i}' for i in ops)}, {p})"
                 for k, (s, ops, p) in enumerate(self.steps)]  # fmt: skip
        body = "; ".join(lines)
        return f"Graph({self.inputs} inputs of shape {self.shape}: {body}; out = v_last + v{self.reused})"


def squash(x: tg.Tensor, domain: tuple[float, float]) -> tg.Tensor:
    """Map any value smoothly into the op's domain (low, high): low + (high - low) sigmoid(x)."""
    low, high = domain
    return low + (high - low) * x.sigmoid()


@st.composite
def graphs(draw: st.DrawFn, max_depth: int = 4, max_steps: int = 6) -> Graph:
    shape = draw(tst.shapes(0, 3, 1, 3))
    graph = Graph(draw(st.integers(1, 3)), shape)
    depths, shapes, used = [0] * graph.inputs, [shape] * graph.inputs, set()
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(sorted(POOLS)))
        spec = draw(st.sampled_from(POOLS[kind]))
        shallow = [i for i, d in enumerate(depths) if d < max_depth]
        operands = tuple(draw(st.sampled_from(shallow)) for _ in range(spec.arity))
        operand_shapes = tuple(shapes[i] for i in operands)
        params = draw(spec.params(operand_shapes)) if spec.params else {}
        if kind == "reduction":
            params["keepdims"] = True  # keep every value broadcastable against the inputs
            reduced = normalize_axes(params["axis"], len(shape), spec.name, shape)
            shapes.append(keepdims_shape(operand_shapes[0], reduced))
        else:
            shapes.append(np.broadcast_shapes(*operand_shapes))
        graph.steps.append((spec, operands, params))
        depths.append(1 + max(depths[i] for i in operands))
        used.update(operands)
    graph.reused = draw(st.sampled_from(sorted(used)))
    return graph


@st.composite
def graphs_and_inputs(draw: st.DrawFn, max_depth: int = 4, max_steps: int = 6):
    graph = draw(graphs(max_depth, max_steps))
    arrays = draw(tst.float_arrays([graph.shape] * graph.inputs))
    return graph, [tg.Tensor(a, requires_grad=True) for a in arrays]


@given(graphs_and_inputs())
def test_random_graphs_pass_gradcheck(graph_inputs: tuple[Graph, list[tg.Tensor]]) -> None:
    graph, xs = graph_inputs
    assert gradcheck(graph, xs, name=repr(graph))


@given(graphs_and_inputs(max_depth=2, max_steps=3))
def test_random_graphs_pass_gradgradcheck(graph_inputs: tuple[Graph, list[tg.Tensor]]) -> None:
    graph, xs = graph_inputs
    assert gradgradcheck(graph, xs, name=repr(graph))


@given(graphs_and_inputs(), st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 2**32 - 1))
def test_gradients_are_linear_in_the_upstream_gradient(graph_inputs, a: float, b: float, seed: int) -> None:
    """grad(y, x, a u + b v) = a grad(y, x, u) + b grad(y, x, v): backward is a linear map of u."""
    graph, xs = graph_inputs
    y = graph(*xs)
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(y.shape), rng.standard_normal(y.shape)

    def vjp(upstream: np.ndarray) -> list[np.ndarray]:
        grads = tg.grad(y, xs, tg.Tensor(upstream, dtype=y.dtype), retain_graph=True, allow_unused=True)
        return [np.zeros(x.shape) if g is None else g.numpy() for g, x in zip(grads, xs, strict=True)]

    combined = vjp(a * u + b * v)
    for g, gu, gv in zip(combined, vjp(u), vjp(v), strict=True):
        expected = a * gu + b * gv
        scale = np.abs(a * gu).max(initial=0) + np.abs(b * gv).max(initial=0) + 1
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12 * scale)


@given(st.data())
def test_grad_of_a_sum_is_ones(data: st.DataObject) -> None:
    (x,) = data.draw(tst.float_arrays([data.draw(tst.shapes(max_dims=3, max_side=4))]))
    x = tg.Tensor(x, requires_grad=True)
    axis, keepdims = data.draw(tst.axes(x.ndim)), data.draw(tst.keepdims())
    total = x.sum(axis, keepdims)
    (g,) = tg.grad(total, x, tg.ones_like(total))
    np.testing.assert_array_equal(g.numpy(), np.ones(x.shape))
    hidden = x.exp()  # a non-leaf: grad with respect to an intermediate value
    (g_hidden,) = tg.grad(hidden.sum(), hidden)
    np.testing.assert_array_equal(g_hidden.numpy(), np.ones(x.shape))


@given(graphs(), st.integers(0, 2**32 - 1))
def test_identical_seeds_give_identical_results(graph: Graph, seed: int) -> None:
    def run() -> list[np.ndarray]:
        tg.manual_seed(seed)
        xs = [tg.randn(*graph.shape, dtype="float64", requires_grad=True) for _ in range(graph.inputs)]
        y = graph(*xs)
        upstream = tg.randn(*y.shape, dtype="float64")
        return [y.numpy(), *(g.numpy() for g in tg.grad(y, xs, upstream, allow_unused=True) if g is not None)]

    first, second = run(), run()
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
