"""Reverse-mode automatic differentiation: the engine behind ``Tensor.backward`` and ``grad``.

Given outputs y and upstream gradients dL/dy, the engine visits every tensor that some output was
computed from, outputs first (reverse topological order, found iteratively so that a chain of any
depth works), calls each op's ``backward`` exactly once with the sum of all gradients that reached its
output (the multivariate chain rule), sums each input gradient down to that input's shape, and either
accumulates it into a leaf's ``.grad`` or passes it on. Saved arrays are freed as it goes unless
``retain_graph``; with ``create_graph`` the backward ops themselves are recorded. A leaf's
post-accumulate hooks (``grad_hooks.py``) run once its ``.grad`` for this backward is complete.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .anomaly import _Anomaly, backward_phase, check_backward
from .anomaly import detect_anomaly as detect_anomaly  # tg.autograd.detect_anomaly, as in PyTorch
from .backend import get_xp
from .dtypes import to_array
from .function import _GradMode, constant, is_tensor
from .grad_hooks import countdown
from .versions import _Writes, check_unmodified

if TYPE_CHECKING:
    from .tensor import Tensor


class _GradModeContext(contextlib.ContextDecorator):
    """Context manager and decorator setting whether operations record a graph."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self.previous = _GradMode.enabled
        _GradMode.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self.previous

    def __call__(self, fn: Callable) -> Callable:  # a fresh context per call (re-entrant, thread-naive)
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeContext(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _GradModeContext:
    """Record no graph inside (``with no_grad():`` or ``@no_grad()``): for evaluation and updates."""
    return _GradModeContext(False)


def enable_grad() -> _GradModeContext:
    """Record the graph again inside a ``no_grad`` region."""
    return _GradModeContext(True)


def set_grad_enabled(enabled: bool) -> _GradModeContext:
    return _GradModeContext(enabled)


def _reverse_topological(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every non-leaf tensor reachable from ``roots``, each listed before those it was computed from."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack = [(root, False) for root in roots if root.creator is not None]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        inputs = getattr(tensor.creator, "inputs", None)
        if inputs is None:
            raise RuntimeError(
                f"backward: the graph through {tensor.creator} was already freed by an earlier backward; "
                "pass retain_graph=True to the first backward() to backpropagate through it twice"
            )
        stack.append((tensor, True))
        stack.extend((parent, False) for parent in inputs if parent.creator is not None)
    order.reverse()
    return order


def _fit_to(gradient: Tensor, tensor: Tensor) -> Tensor:
    """Sum a (possibly broadcast) gradient down to ``tensor``'s shape and dtype."""
    if gradient.shape != tensor.shape:
        gradient = gradient.sum_to(tensor.shape)
    if gradient.data.dtype != tensor.data.dtype:
        gradient = gradient.astype(tensor.data.dtype)
    return gradient


def _accumulate(store: dict[int, Tensor], tensor: Tensor, gradient: Tensor) -> None:
    key = id(tensor)
    previous = store.get(key)
    store[key] = gradient if previous is None else previous + gradient


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None = None,
) -> dict[int, Tensor]:
    """Backpropagate ``root_grads`` from ``roots``.

    Without ``targets`` leaf gradients accumulate into ``.grad``; with them, the gradients with respect
    to exactly those tensors are returned (keyed by ``id``) and no ``.grad`` is touched.
    """
    target_ids = None if targets is None else {id(t) for t in targets}
    captured: dict[int, Tensor] = {}
    pending: dict[int, Tensor] = {}
    for root, gradient in zip(roots, root_grads, strict=True):
        if root.creator is None:  # a leaf asked for its own gradient
            _deliver_to_leaf(root, gradient, target_ids, captured)
        else:
            _accumulate(pending, root, gradient)
    order = _reverse_topological(roots)
    hooks = countdown(roots, order) if targets is None else None  # None unless a leaf has a hook
    if hooks is not None:
        for root in roots:
            if root.creator is None:
                hooks.edge_done(root, True)
    with set_grad_enabled(create_graph), backward_phase():
        for position, tensor in enumerate(order):
            order[position] = None  # let processed tensors go
            gradient = pending.pop(id(tensor), None)
            if gradient is None:
                if hooks is not None:
                    for parent in tensor.creator.inputs:
                        hooks.edge_done(parent, False)
                continue
            if target_ids is not None and id(tensor) in target_ids:
                _accumulate(captured, tensor, gradient)
            fn = tensor.creator
            if fn.saved_at != _Writes.count:  # some in-place write since fn was recorded
                check_unmodified(fn, tensor)
            input_grads = fn.backward(gradient)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if _Anomaly.enabled:
                check_backward(fn, input_grads)
            if len(input_grads) != len(fn.inputs):
                raise RuntimeError(
                    f"{fn}.backward returned {len(input_grads)} gradients for {len(fn.inputs)} inputs"
                )
            for parent, parent_grad, needed in zip(fn.inputs, input_grads, fn.needs_input_grad, strict=True):
                if parent_grad is None or not needed:
                    if hooks is not None:
                        hooks.edge_done(parent, False)
                    continue
                parent_grad = _fit_to(parent_grad, parent)
                if parent.creator is None:
                    _deliver_to_leaf(parent, parent_grad, target_ids, captured)
                    if hooks is not None:
                        hooks.edge_done(parent, True)
                else:
                    _accumulate(pending, parent, parent_grad)
            if not retain_graph:
                fn.release()
    return captured


def _deliver_to_leaf(leaf: Tensor, gradient: Tensor, target_ids: set[int] | None, captured: dict) -> None:
    if target_ids is None:
        leaf.grad = gradient if leaf.grad is None else leaf.grad + gradient
    elif id(leaf) in target_ids:
        _accumulate(captured, leaf, gradient)


def _root_gradients(outputs: Sequence[Tensor], grad_outputs: Sequence[Any] | None, caller: str) -> list:
    grads = []
    for i, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} (shape {output.shape}) does not require grad and has no creator; "
                "was it computed under no_grad(), or from tensors without requires_grad=True?"
            )
        given = None if grad_outputs is None else grad_outputs[i]
        if given is None:
            if output.size != 1:
                raise RuntimeError(
                    f"{caller}: output {i} has shape {output.shape}, not a scalar; pass a gradient "
                    f"of shape {output.shape} (gradient= / grad_outputs=)"
                )
            given = constant(get_xp(output.data).ones_like(output.data))
        elif not is_tensor(given):
            given = constant(to_array(given, dtype=output.dtype, device=output.device))
        if given.shape != output.shape:
            raise RuntimeError(
                f"{caller}: gradient for output {i} has shape {given.shape}, expected {output.shape}"
            )
        grads.append(given)
    return grads


def backward(
    tensor: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Accumulate d(tensor)/d(leaf), dotted with ``gradient``, into every leaf's ``.grad``."""
    (root_grad,) = _root_gradients([tensor], None if gradient is None else [gradient], "backward")
    run_backward([tensor], [root_grad], retain_graph or create_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The vector-Jacobian products sum_k grad_outputs[k] . d outputs[k] / d inputs[i], one per input.

    ``.grad`` attributes are left untouched. With ``create_graph=True`` the results carry a graph, so
    ``grad`` can be applied to them again (Hessian-vector products, second derivatives).
    """
    outputs = [outputs] if is_tensor(outputs) else list(outputs)
    inputs = [inputs] if is_tensor(inputs) else list(inputs)
    if grad_outputs is not None and not isinstance(grad_outputs, list | tuple):
        grad_outputs = [grad_outputs]
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tensor.shape}) does not require grad")
    root_grads = _root_gradients(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    captured = run_backward(outputs, root_grads, retain, create_graph, targets=inputs)
    results = tuple(captured.get(id(t)) for t in inputs)
    for i, result in enumerate(results):
        if result is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return results


def iter_graph(tensor: Tensor) -> Iterator[Tensor]:
    """Every tensor in ``tensor``'s graph that has a creator (outputs first): for inspection and tests."""
    yield from _reverse_topological([tensor])
