"""``Module`` and ``Parameter``: trainable state organised in a tree, as in ``torch.nn``.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it (``self.weight = Parameter(..)``,
``self.proj = Linear(..)``); ``register_buffer`` registers non-trainable state that ``state_dict``
saves. Traversals (``named_parameters``, ``named_modules``) visit each object once, by identity, so
a Parameter shared by two modules (weight tying) is listed once and receives the sum of both uses'
gradients. ``state_dict`` follows PyTorch and saves a tied Parameter under every name it has;
``load_state_dict`` then writes the same object once per name (the entries of a saved model agree).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ..backend import parse_device, to_device
from ..dtypes import as_dtype, to_array
from ..function import constant
from ..tensor import Tensor
from ..versions import mark_modified


class Parameter(Tensor):
    """A Tensor that a ``Module`` trains: a leaf with ``requires_grad=True`` (floating point).

    Built from a Tensor it shares that Tensor's array; from anything else it copies.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        array = data.data if isinstance(data, Tensor) else to_array(data)
        if array.dtype.kind != "f":
            raise TypeError(f"Parameter: needs floating-point data, got dtype {array.dtype}")
        self.data, self.grad, self.creator, self.requires_grad = array, None, None, requires_grad
        self._version = 0

    def __repr__(self) -> str:
        return f"Parameter({super().__repr__()})"


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__(): call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        if name in self._buffers and (value is None or isinstance(value, Tensor)):
            self._buffers[name] = value
            return
        if name in self._parameters and value is not None and not isinstance(value, Parameter):
            raise TypeError(
                f"cannot assign a {type(value).__name__} to parameter {name!r} of {type(self).__name__}: "
                "wrap it in Parameter(...) or update it in place (param.data[...] = ...)"
            )
        was_parameter = name in self._parameters
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter) or (value is None and was_parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:  # only reached when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry, {})
            if name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register ``parameter`` under ``name`` (what ``self.name = parameter`` does)."""
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter, got {type(parameter).__name__}"
            )
        self._parameters[name] = parameter

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Non-trainable state moved by ``to``/``astype`` and, when ``persistent``, saved by state_dict."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child under ``name`` (which may be any string, e.g. "0" in ``Sequential``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._modules[name] = module

    # ------------------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, each once (by identity) by default."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, m) for child, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_parameters(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a shared Parameter appears once (under its first name)."""
        return self._named_members("_parameters", prefix, remove_duplicate)

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, remove_duplicate)

    def buffers(self) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers())

    def _named_members(self, registry: str, prefix: str, remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix, remove_duplicate):
            for name, member in getattr(module, registry).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalars in the (distinct) parameters."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant (dropout uses it)."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget accumulated gradients (set them to None)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ------------------------------------------------------------------------- devices and dtypes
    def to(self, device: str) -> Module:
        """Move parameters (and their grads) and buffers to ``device`` in place; identities are kept."""
        device = parse_device(device)
        return self._convert(lambda array: to_device(array, device))

    def astype(self, dtype: Any) -> Module:
        """Convert floating parameters and buffers to ``dtype`` in place (e.g. float64 for gradchecks)."""
        dtype = as_dtype(dtype)
        return self._convert(lambda array: array.astype(dtype) if array.dtype.kind == "f" else array)

    def float(self) -> Module:
        return self.astype("float32")

    def double(self) -> Module:
        return self.astype("float64")

    def _convert(self, convert: Any) -> Module:
        for tensor in [*self.parameters(), *self.buffers()]:
            tensor.data = convert(tensor.data)
            mark_modified(tensor)
            if tensor.grad is not None:
                tensor.grad = constant(convert(tensor.grad.data))
        return self

    # ------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Tensor]:
        """{dotted name: detached Tensor} of every parameter and persistent buffer.

        The Tensors share memory with the module (as in PyTorch): snapshot with ``.numpy().copy()``.
        A tied Parameter appears under each of its names.
        """
        return {key: tensor.detach() for key, tensor in self._state_items()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state`` into the existing parameters and buffers, in place (optimizers keep them).

        Values may be Tensors or arrays. Shape or dtype mismatches are always errors; missing and
        unexpected keys are errors when ``strict`` and are returned otherwise. One RuntimeError lists
        every problem.
        """
        targets = dict(self._state_items())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        problems = [_mismatch(k, targets[k], state[k]) for k in targets if k in state]
        problems = [p for p in problems if p]
        if strict:
            problems += [f"missing key {k!r}" for k in missing]
            problems += [f"unexpected key {k!r}" for k in unexpected]
        if problems:
            listed = "\n  ".join(problems)
            raise RuntimeError(
                f"load_state_dict: {len(problems)} error(s) loading into {type(self).__name__}:\n  {listed}"
            )
        for key, target in targets.items():
            if key in state:
                value = state[key].data if isinstance(state[key], Tensor) else state[key]
                target.data[...] = to_device(value, target.device)
                mark_modified(target)
        return IncompatibleKeys(missing, unexpected)

    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(key, live Tensor) of every parameter and persistent buffer, tied ones under each name."""
        for module_name, module in self.named_modules(remove_duplicate=False):
            skipped = module.__dict__.get("_non_persistent", set())
            for name, tensor in [*module._parameters.items(), *module._buffers.items()]:
                if tensor is not None and name not in skipped:
                    yield (f"{module_name}.{name}" if module_name else name), tensor

    # ------------------------------------------------------------------------- calling and printing
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The constructor arguments shown in ``repr`` (override in subclasses)."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = ([self.extra_repr()] if self.extra_repr() else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _mismatch(key: str, target: Tensor, value: Any) -> str:
    shape, dtype = tuple(getattr(value, "shape", ())), getattr(value, "dtype", None)
    if shape != tuple(target.shape):
        return f"shape mismatch for {key!r}: checkpoint {shape}, model {tuple(target.shape)}"
    if dtype != target.dtype:
        return f"dtype mismatch for {key!r}: checkpoint {dtype}, model {target.dtype}"
    return ""


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``; children named "0", "1", ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self.children():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self.children())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (children named "0", "1", ...)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        return ModuleList(items[index]) if isinstance(index, slice) else items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(range(len(self))[index]), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class ModuleDict(Module):
    """A dict of named modules whose parameters are registered."""

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for name, module in (modules or {}).items():
            self[name] = module

    def __getitem__(self, name: str) -> Module:
        return self._modules[name]

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, module)

    def __delitem__(self, name: str) -> None:
        del self._modules[name]

    def __contains__(self, name: str) -> bool:
        return name in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())


def functional_call(module: Module, tensors: dict[str, Tensor], *args: Any, **kwargs: Any) -> Any:
    """``module(*args, **kwargs)`` with the parameters/buffers named in ``tensors`` replaced by those
    Tensors for this one call (as ``torch.func.functional_call``): the result is differentiable with
    respect to them, which is how gradchecks treat a module's weights as inputs."""
    owners = dict(module.named_modules(remove_duplicate=False))
    swapped = []
    try:
        for key, tensor in tensors.items():
            owner_name, _, attr = key.rpartition(".")
            owner = owners.get(owner_name, module)
            registry = owner._parameters if attr in owner._parameters else owner._buffers
            if owner_name not in owners or attr not in registry:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter or buffer {key!r}")
            swapped.append((registry, attr, registry[attr]))
            registry[attr] = tensor
        return module(*args, **kwargs)
    finally:
        for registry, attr, original in reversed(swapped):
            registry[attr] = original
