"""One buffer per parameter group: the optimizer's update runs once over all its parameters.

An update such as Adam's is ten or so element-wise passes. Run per parameter, a GPT's 36 tensors
cost 360 array calls a step, most on small arrays, and the time goes to call overhead. Because an
``Optimizer.update`` is element-wise and shape-agnostic, it can run once on the concatenation of a
group instead. ``FlatGroup`` keeps what that needs:

* every per-parameter state array (Adam's m and v, SGD's momentum) is a view into one buffer of the
  flat state, so ``optimizer.state`` and ``state_dict()`` look exactly as without flattening;
* each step the parameters and the gradients are each copied into one buffer (one concatenation
  each), the update runs once on (parameters, gradients, flat state), and the new values are copied
  back into the parameters' own arrays: they are updated in place, as PyTorch's are, so anyone
  holding ``param.data`` sees the new values.

State replaced behind the group's back (``load_state_dict``), or a step in which some parameter had
no gradient and was updated on its own, is noticed by ``is_current``; the group is then flattened
again from the arrays now in place, or updated parameter by parameter while their steps differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import get_xp
from ..tensor import Tensor


def can_flatten(params: list[Tensor], states: list[dict[str, Any] | None]) -> bool:
    """Whether a group's parameters can share buffers: all with a gradient, one dtype, one kind of array,
    and the same progress (all without state, or all with equal scalar state such as Adam's step)."""
    if len(params) < 2 or any(p.grad is None for p in params):
        return False
    first = params[0].data
    if any(p.data.dtype != first.dtype or type(p.data) is not type(first) for p in params):
        return False
    if all(s is None for s in states):
        return True
    if any(s is None for s in states):
        return False
    return all(_scalars(s) == _scalars(states[0]) and s.keys() == states[0].keys() for s in states)


def _scalars(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if not hasattr(v, "shape")}


class FlatGroup:
    """A parameter group's optimizer state as one buffer per entry (handed out as per-parameter views),
    and the buffers its parameters and gradients are gathered into for each update."""

    def __init__(
        self,
        params: list[Tensor],
        states: list[dict[str, Any] | None],
        init_state: Callable[[Any], dict[str, Any]],
    ) -> None:
        xp = get_xp(params[0].data)
        self.shapes = [p.data.shape for p in params]
        self.bounds = [0]
        for p in params:
            self.bounds.append(self.bounds[-1] + p.data.size)
        self.param = xp.concatenate([p.data.ravel() for p in params])
        self.grad = xp.empty_like(self.param)
        if states[0] is None:
            self.state = init_state(self.param)
        else:
            self.state = {
                k: xp.concatenate([s[k].ravel() for s in states]) if hasattr(v, "shape") else v
                for k, v in states[0].items()
            }
        self.state_views: dict[str, list[Any]] = {}

    def views(self, flat: Any) -> list[Any]:
        """``flat`` cut into per-parameter views of the parameters' shapes."""
        return [
            flat[start:stop].reshape(shape)
            for start, stop, shape in zip(self.bounds, self.bounds[1:], self.shapes, strict=False)
        ]

    def is_current(self, params: list[Tensor], states: list[dict[str, Any] | None]) -> bool:
        """True while every state array is still the view this group made of it and every scalar
        (Adam's step) still agrees with the group's."""
        if [p.data.shape for p in params] != self.shapes:
            return False
        for key, views in self.state_views.items():
            if any(s is None or s.get(key) is not v for s, v in zip(states, views, strict=True)):
                return False
        scalars = _scalars(self.state)  # a parameter updated on its own since (it lacked a gradient)
        return all(s is None or _scalars(s) == scalars for s in states) if self.state_views else True

    def gather(self, params: list[Tensor]) -> tuple[Any, Any]:
        """The parameters and their gradients, each concatenated into the group's buffer."""
        xp = get_xp(self.grad)
        xp.concatenate([p.data.ravel() for p in params], out=self.param)
        xp.concatenate([p.grad.data.ravel() for p in params], out=self.grad)
        return self.param, self.grad

    def scatter(self, params: list[Tensor]) -> None:
        """Copy the updated values back into each parameter's own array."""
        xp = get_xp(self.param)
        for p, view in zip(params, self.views(self.param), strict=True):
            xp.copyto(p.data, view)

    def per_parameter_states(self) -> list[dict[str, Any]]:
        """The flat state handed out per parameter: views of its arrays, copies of its scalars."""
        for key, value in self.state.items():
            if hasattr(value, "shape") and key not in self.state_views:
                self.state_views[key] = self.views(value)
        scalars = _scalars(self.state)
        return [
            {**scalars, **{key: views[i] for key, views in self.state_views.items()}}
            for i in range(len(self.shapes))
        ]
