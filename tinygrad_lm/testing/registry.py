"""The op registry: one ``OpSpec`` (see ``specs.py``) per public differentiable operation, checked by
the test suite (tests/test_op_registry.py, tests/test_torch_reference.py) and by ``report.py``.

The entries live in one table per op family, and this module gathers them:

* ``registry_elementwise.py``: arithmetic, maximum/minimum/where, unary math, casts, device moves;
* ``registry_reduce_movement.py``: reductions, softmax, matmul, shape ops, joins/splits, indexing;
* ``registry_nn.py``: ``functional``'s losses, layers and activations;
* ``registry_sequence.py``: attention and the fused recurrent scan.

``CORE_SPECS`` (the Tensor and ``tg`` ops, used by the random expression graphs of
tests/test_composite_properties.py) + ``NN_SPECS`` (``functional``/``nn``) = ``SPECS``.
``NOT_DIFFERENTIABLE`` lists the public names that need no spec (tests/test_op_registry.py).
"""

from __future__ import annotations

from .registry_elementwise import ELEMENTWISE_SPECS
from .registry_nn import ACTIVATION_SPECS, LOSS_LAYER_SPECS
from .registry_reduce_movement import REDUCE_MOVEMENT_SPECS
from .registry_sequence import SEQUENCE_NOT_DIFFERENTIABLE, SEQUENCE_SPECS
from .specs import Case, Convention, OpSpec

__all__ = ["CORE_SPECS", "NN_NOT_DIFFERENTIABLE", "NN_SPECS", "NOT_DIFFERENTIABLE", "SPECS"]
__all__ += ["Case", "Convention", "OpSpec"]

CORE_SPECS: list[OpSpec] = ELEMENTWISE_SPECS + REDUCE_MOVEMENT_SPECS
NN_SPECS: list[OpSpec] = LOSS_LAYER_SPECS + SEQUENCE_SPECS + ACTIVATION_SPECS
SPECS: list[OpSpec] = CORE_SPECS + NN_SPECS

NN_NOT_DIFFERENTIABLE: frozenset[str] = SEQUENCE_NOT_DIFFERENTIABLE
# fmt: off
NOT_DIFFERENTIABLE: frozenset[str] = frozenset(
    [f"Tensor.{name}" for name in (
        "__init__ __repr__ __len__ __bool__ __float__ __int__ __setitem__ __lt__ __le__ __gt__ __ge__ __eq__ "
        "__ne__ __invert__ __and__ __or__ any all argmax argmin item numpy tolist detach long backward "
        "requires_grad_ shape ndim size dtype device is_leaf data grad creator requires_grad "
        "register_post_accumulate_grad_hook __array__ __dlpack__ __dlpack_device__").split()]
    + [f"tg.{name}" for name in (
        "Function Generator Tensor arange bool_ cuda default_generator enable_grad eye float32 float64 full "
        "full_like grad int64 is_grad_enabled manual_seed no_grad one_hot ones ones_like rand rand_like "
        "randint randn randn_like set_grad_enabled tensor zeros zeros_like save load as_tensor "
        "asnumpy device_of get_xp keep_freed_memory parse_device to_device from_dlpack "
        "detect_anomaly kernels_enabled use_kernels warm_up_kernels").split()]
    + list(NN_NOT_DIFFERENTIABLE)
)
# fmt: on
