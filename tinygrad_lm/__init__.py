"""tinygrad_lm: tensors with reverse-mode automatic differentiation on NumPy (CPU) and CuPy (GPU)."""

from . import allocator, functional, nn, optim
from .autograd import enable_grad, grad, no_grad, set_grad_enabled
from .backend import Generator, cuda, default_generator, manual_seed
from .creation import (
    arange,
    eye,
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
from .function import Function, is_grad_enabled
from .serialization import load, save
from .tensor import Tensor, bool_, cat, float32, float64, int64, maximum, minimum, one_hot, stack, where

__version__ = "0.1.0"

allocator.configure_from_environment()  # reuse freed host memory (see allocator.py)

__all__ = [
    "Function",
    "Generator",
    "Tensor",
    "arange",
    "bool_",
    "cat",
    "cuda",
    "default_generator",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "full",
    "full_like",
    "functional",
    "grad",
    "int64",
    "is_grad_enabled",
    "manual_seed",
    "maximum",
    "minimum",
    "nn",
    "optim",
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
    "where",
    "zeros",
    "zeros_like",
]
