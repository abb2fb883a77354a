"""Post-accumulate gradient hooks: a leaf's hook runs once its gradient for this backward is complete.

``register_post_accumulate_grad_hook(leaf, hook)`` (also ``Tensor.register_post_accumulate_grad_hook``,
as in PyTorch) asks ``backward()`` to call ``hook(leaf)`` after the last contribution of this backward
has been added to ``leaf.grad``. A leaf used k times in the graph receives k gradients, summed as
they arrive (dL/dw = sum_k dL/dw_k); the engine therefore counts, before it starts, the edges into
each hooked leaf from the part of the graph this backward visits, and runs the hook when the count
reaches zero. A hooked leaf that is reached but receives no gradient (every edge into it carried
``None``) gets no call, and a leaf this backward does not reach is not called either.

This is what ``distributed.DistributedDataParallel`` needs to all-reduce a bucket of gradients as soon
as all of them are final, while the rest of the backward still runs.

Cost when no hook is registered: one test of an empty dict per ``backward()`` (``countdown`` returns
``None``) and one ``is None`` per node. Hooks run only in ``backward()``, not in ``grad()`` (which
leaves ``.grad`` untouched).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tensor import Tensor

Hook = Callable[["Tensor"], None]

# id(leaf) -> (weak reference to the leaf, its hooks in registration order)
_HOOKS: dict[int, tuple[weakref.ref, list[Hook]]] = {}


class HookHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, leaf: Tensor, hook: Hook) -> None:
        self._key, self._hook = id(leaf), hook

    def remove(self) -> None:
        entry = _HOOKS.get(self._key)
        if entry is not None and self._hook in entry[1]:
            entry[1].remove(self._hook)
            if not entry[1]:
                del _HOOKS[self._key]


def register_post_accumulate_grad_hook(leaf: Tensor, hook: Hook) -> HookHandle:
    """Call ``hook(leaf)`` in every ``backward()`` once ``leaf.grad`` holds all of that backward's
    contributions. ``leaf`` must be a leaf that requires grad (a parameter)."""
    if leaf.creator is not None or not leaf.requires_grad:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: only a leaf tensor that requires grad has a .grad to "
            f"hook (got shape {leaf.shape}, requires_grad={leaf.requires_grad}, "
            f"created by {leaf.creator})"
        )
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {hook!r}")
    key = id(leaf)
    entry = _HOOKS.get(key)
    if entry is None or entry[0]() is not leaf:  # a new leaf (or a dead one's id reused)
        entry = _HOOKS[key] = (weakref.ref(leaf, lambda _ref, key=key: _forget(key, _ref)), [])
    entry[1].append(hook)
    return HookHandle(leaf, hook)


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _HOOKS.get(key)
    if entry is not None and entry[0] is ref:
        del _HOOKS[key]


class Countdown:
    """For one backward: how many edges into each hooked leaf are still to be processed."""

    def __init__(self, remaining: dict[int, int]) -> None:
        self.remaining = remaining
        self.received: set[int] = set()

    def edge_done(self, leaf: Tensor, delivered: bool) -> None:
        """One edge into ``leaf`` is processed (``delivered``: it added to ``leaf.grad``)."""
        key = id(leaf)
        left = self.remaining.get(key)
        if left is None:
            return
        if delivered:
            self.received.add(key)
        if left > 1:
            self.remaining[key] = left - 1
            return
        del self.remaining[key]
        if key in self.received:
            for hook in list(_HOOKS[key][1]):
                hook(leaf)


def countdown(roots: Sequence[Tensor], order: Sequence[Tensor]) -> Countdown | None:
    """The edge counts of this backward (root leaves and the inputs of every op in ``order``), or
    ``None`` when no hook is registered."""
    if not _HOOKS:
        return None
    remaining: dict[int, int] = {}
    for root in roots:
        if root.creator is None and id(root) in _HOOKS:
            remaining[id(root)] = remaining.get(id(root), 0) + 1
    for tensor in order:
        for parent in tensor.creator.inputs:
            if parent.creator is None and id(parent) in _HOOKS:
                remaining[id(parent)] = remaining.get(id(parent), 0) + 1
    return Countdown(remaining) if remaining else None
