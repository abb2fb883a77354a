"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad`` and ``state_dict``.

A subclass says only what is particular to it: its default hyper-parameters and their checks
(``hyperparameter_checks``), the per-parameter state it starts from (``init_state``) and one update
(``update``). The update works on raw backend arrays (NumPy or CuPy) of any shape and changes the
parameter's array in place, so modules keep the arrays they hold, and a later "flat buffer"
optimisation can call the same update once on a concatenation of many parameters.

Parameters are numbered 0, 1, 2, ... in the order the groups list them. Per-parameter state is keyed
by that index, which is also how ``state_dict`` names it (as PyTorch does), so a state dict loads into
a fresh optimizer built over the same parameters in the same order.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..autograd import enable_grad, no_grad
from ..backend import device_of, get_xp, to_device
from ..tensor import Tensor
from ..versions import mark_modified
from .flat import FlatGroup, can_flatten

ParamsArg = Iterable[Tensor] | Iterable[dict[str, Any]]
Check = tuple[Callable[[Any], bool], str]


def non_negative(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 0


def in_unit_interval(value: Any) -> bool:
    """0 <= value < 1, as the betas of Adam need."""
    return non_negative(value) and value < 1


def pair_in_unit_interval(value: Any) -> bool:
    return isinstance(value, tuple | list) and len(value) == 2 and all(map(in_unit_interval, value))


class Optimizer:
    """Base class of the optimizers (see the module docstring).

    ``params`` is an iterable of Tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` (parameter
    groups), each with its own hyper-parameters; keys a group leaves out take the constructor's
    values. Typical use: one group for weights and one with ``weight_decay=0`` for biases and norms.
    """

    hyperparameter_checks: dict[str, Check] = {}
    flatten = True  # update each fully-graded group over flat buffers (see flat.py); False: one by one

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._flat_groups: dict[int, FlatGroup] = {}
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        groups = self._as_list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ----------------------------------------------------------------------------- groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Append a group; its missing hyper-parameters come from the constructor's defaults."""
        if not isinstance(group, dict):
            raise TypeError(
                f"{self._name}: mix of Tensors and parameter-group dicts ({type(group).__name__})"
            )
        if "params" not in group:
            raise ValueError(f"{self._name}: parameter group {len(self.param_groups)} has no 'params' key")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else self._as_list(params)
        if not params:
            raise ValueError(f"{self._name}: parameter group {len(self.param_groups)} is empty")
        owner = {id(p): f"in group {i}" for i, g in enumerate(self.param_groups) for p in g["params"]}
        for position, param in enumerate(params):
            self._check_parameter(param, position)
            if id(param) in owner:
                raise ValueError(
                    f"{self._name}: parameter {position} of group {len(self.param_groups)} "
                    f"(shape {param.shape}) is already {owner[id(param)]}; a parameter may appear only once"
                )
            owner[id(param)] = "earlier in this group"
        full = {**self.defaults, **group, "params": params}
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _as_list(self, params: Any) -> list[Any]:
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts, not a Tensor")
        if isinstance(params, set | frozenset):
            raise TypeError(
                f"{self._name}: params must be ordered (a list), not a set: the order numbers them"
            )
        return list(params)

    def _check_parameter(self, param: Any, position: int) -> None:
        where = f"{self._name}: parameter {position} of group {len(self.param_groups)}"
        if not isinstance(param, Tensor):
            raise TypeError(f"{where} is a {type(param).__name__}, not a Tensor")
        if param.dtype.kind != "f":
            raise TypeError(f"{where} has dtype {param.dtype}; only floating-point tensors can be optimized")
        if not param.is_leaf:
            raise ValueError(f"{where} is not a leaf tensor (it was computed by {param.creator})")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for key, (valid, expected) in self.hyperparameter_checks.items():
            if not valid(group[key]):
                raise ValueError(f"{self._name}: invalid {key}={group[key]!r}; expected {expected}")

    def _indexed_params(self) -> Iterator[tuple[int, Tensor, dict[str, Any]]]:
        """(index, parameter, group) for every parameter, numbered in the groups' order."""
        index = 0
        for group in self.param_groups:
            for param in group["params"]:
                yield index, param, group
                index += 1

    # ----------------------------------------------------------------------------- updates
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``); the next backward starts afresh."""
        for _, param, _ in self._indexed_params():
            param.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; return ``closure()`` if given.

        A group whose parameters all have gradients is updated in one call over flat buffers
        (``flat.FlatGroup``); otherwise each parameter is updated on its own. Both give the same result.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            index = 0
            for position, group in enumerate(self.param_groups):
                indices = range(index, index + len(group["params"]))
                index += len(group["params"])
                for i, param in zip(indices, group["params"], strict=True):
                    self._check_gradient(i, param)
                flat = self.flatten and self.flattening_pays(group)
                if not (flat and self._step_flat(position, group, indices)):
                    self._step_each(group, indices)
                for param in group["params"]:
                    if param.grad is not None:  # updated in place: a graph saved before now refuses backward
                        mark_modified(param)
        return loss

    def _check_gradient(self, index: int, param: Tensor) -> None:
        if param.grad is not None:
            grad = param.grad.data
            if grad.shape != param.shape or grad.dtype != param.dtype:
                raise ValueError(
                    f"{self._name}.step: parameter {index} is {param.shape} {param.dtype} but its grad "
                    f"is {grad.shape} {grad.dtype}"
                )

    def _step_each(self, group: dict[str, Any], indices: range) -> None:
        for index, param in zip(indices, group["params"], strict=True):
            if param.grad is None:
                continue
            if index not in self.state:
                self.state[index] = self.init_state(param.data)
            self.update(param.data, param.grad.data, self.state[index], group)

    def _step_flat(self, position: int, group: dict[str, Any], indices: range) -> bool:
        """One update over the group's flat buffers; False when the group cannot be flattened now."""
        params = group["params"]
        states = [self.state.get(i) for i in indices]
        flat = self._flat_groups.get(position)
        if flat is None or not flat.is_current(params, states):
            if not can_flatten(params, states):
                return False
            flat = self._flat_groups[position] = FlatGroup(params, states, self.init_state)
        elif any(p.grad is None for p in params):
            return False
        self.update(*flat.gather(params), flat.state, group)
        flat.scatter(params)
        for i, state in zip(indices, flat.per_parameter_states(), strict=True):
            self.state[i] = state
        return True

    def flattening_pays(self, group: dict[str, Any]) -> bool:
        """Whether one update over flat buffers beats one per parameter for this group (default: yes;
        an optimizer whose update is a compiled loop says no: its calls are cheap, the copies are not)."""
        return True

    def init_state(self, param: Any) -> dict[str, Any]:
        """The state of a parameter before its first update (arrays like ``param``)."""
        return {}

    def update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update the array ``param`` in place from ``grad``, ``state`` and the group's hyper-parameters."""
        raise NotImplementedError(f"{self._name}.update is not implemented")

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        State arrays are the optimizer's own (not copies), as in PyTorch: save or copy them before the
        next ``step`` if a snapshot is wanted. ``serialization.save`` writes it as is.
        """
        groups, index = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            groups.append({**group, "params": list(range(index, index + count))})
            index += count
        return {"state": {i: dict(s) for i, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by ``state_dict``.

        The parameters stay this optimizer's own: the saved groups must list as many parameters as
        ours, and the i-th parameter they list is matched with our i-th. Saved hyper-parameters
        replace ours. State arrays are copied onto each parameter's device, floating ones cast to its
        dtype (as PyTorch does), so a resumed run continues bit for bit.
        """
        groups = self._loaded_groups(state_dict["param_groups"])
        state = self._loaded_state(state_dict["state"], state_dict["param_groups"])
        self.param_groups, self.state = groups, state

    def _loaded_groups(self, saved_groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Our groups with the saved hyper-parameters, after checking that their sizes agree."""
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self._name}.load_state_dict: the state has {len(saved_groups)} parameter group(s), "
                f"this optimizer {len(self.param_groups)}"
            )
        groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            missing = sorted(set(self.defaults) - set(saved))
            if missing:
                others = ", ".join(sorted(set(saved) - set(self.defaults) - {"params"})) or "nothing else"
                raise ValueError(
                    f"{self._name}.load_state_dict: group {i} of the state lacks {', '.join(missing)} and "
                    f"has {others}: it was saved by another optimizer (a {self._name} has "
                    f"{', '.join(self.defaults)})"
                )
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{self._name}.load_state_dict: group {i} has {len(saved['params'])} parameters in "
                    f"the state and {len(group['params'])} in this optimizer"
                )
            groups.append({**group, **saved, "params": group["params"]})
            self._check_hyperparameters(groups[-1])
        return groups

    def _loaded_state(self, saved_state: dict[Any, Any], saved_groups: list[dict[str, Any]]) -> dict:
        """The saved per-parameter state, re-keyed by our indices and copied onto our parameters."""
        ours = [param for _, param, _ in self._indexed_params()]
        index_of = {name: i for i, name in enumerate(n for saved in saved_groups for n in saved["params"])}
        state = {}
        for name, entries in saved_state.items():
            if name not in index_of:
                raise ValueError(
                    f"{self._name}.load_state_dict: state for parameter {name!r}, which no saved group lists"
                )
            i = index_of[name]
            state[i] = {key: self._restore(value, ours[i], i, key) for key, value in entries.items()}
        return state

    def _restore(self, value: Any, param: Tensor, index: int, name: str) -> Any:
        """A copy of one saved state entry, on the parameter's device (and dtype, for float arrays)."""
        if isinstance(value, Tensor):
            value = value.data
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            return value
        if value.ndim == 0 and param.ndim != 0:  # a counter saved as a NumPy scalar
            return value.item()
        if value.shape != param.shape:
            raise ValueError(
                f"{self._name}.load_state_dict: state {name!r} of parameter {index} has shape "
                f"{value.shape}, the parameter {param.shape}"
            )
        xp = get_xp(param.data)
        array = to_device(value, device_of(param.data))
        dtype = param.dtype if array.dtype.kind == "f" else array.dtype
        return xp.array(array, dtype=dtype, copy=True)
