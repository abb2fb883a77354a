"""tinygrad_lm: tensors with reverse-mode automatic differentiation on NumPy (CPU) and CuPy (GPU)."""

from . import allocator, functional, kernels, nn, optim
from .allocator import keep_freed_memory
from .anomaly import detect_anomaly
from .autograd import enable_grad, grad, no_grad, set_grad_enabled
from .backend import (
    Generator,
    asnumpy,
    cuda,
    default_generator,
    device_of,
    get_xp,
    manual_seed,
    parse_device,
    to_device,
)
from .creation import (
    arange,
    as_tensor,
    eye,
    from_dlpack,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import bool_, float32, float64, int64
from .function import Function, is_grad_enabled
from .kernel_warm_up import warm_up_kernels
from .kernels import kernels_enabled, use_kernels
from .ops.elementwise import maximum, minimum, where
from .ops.indexing import one_hot
from .ops.movement import cat, stack
from .serialization import load, save
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Function",
    "Generator",
    "Tensor",
    "allocator",
    "arange",
    "as_tensor",
    "asnumpy",
    "bool_",
    "cat",
    "cuda",
    "default_generator",
    "detect_anomaly",
    "device_of",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "from_dlpack",
    "full",
    "full_like",
    "get_xp",
    "functional",
    "grad",
    "int64",
    "is_grad_enabled",
    "kernels",
    "kernels_enabled",
    "keep_freed_memory",
    "manual_seed",
    "maximum",
    "minimum",
    "nn",
    "optim",
    "parse_device",
    "load",
    "save",
    "no_grad",
    "one_hot",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "set_grad_enabled",
    "stack",
    "tensor",
    "to_device",
    "use_kernels",
    "warm_up_kernels",
    "where",
    "zeros",
    "zeros_like",
]
