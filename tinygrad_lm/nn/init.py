"""Initialisers, as in ``torch.nn.init``: each fills a Tensor in place (outside any graph) and returns it.

Random ones draw from ``generator`` (default: the library's default generator, so ``tg.manual_seed``
makes model construction reproducible). Fans follow PyTorch: for a weight (out, in, ...) fan_in =
in * prod(rest) and fan_out = out * prod(rest).
"""

from __future__ import annotations

import math

from ..backend import Generator, default_generator
from ..tensor import Tensor
from ..versions import mark_modified


def _fill(tensor: Tensor, array) -> Tensor:
    tensor.data[...] = array
    mark_modified(tensor)
    return tensor


def _draw(kind: str, tensor: Tensor, generator: Generator | None):
    return getattr(generator or default_generator, kind)(tensor.shape, tensor.dtype, tensor.device)


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fans need a weight of at least 2 dimensions, got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(
    tensor: Tensor, low: float = 0.0, high: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """U(low, high)."""
    return _fill(tensor, low + (high - low) * _draw("uniform", tensor, generator))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """N(mean, std^2)."""
    return _fill(tensor, mean + std * _draw("normal", tensor, generator))


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def fan_in_uniform_(tensor: Tensor, fan_in: int | None = None, generator: Generator | None = None) -> Tensor:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear (weight and bias) and RNNs.

    ``fan_in`` defaults to the tensor's own (``fans``); a bias passes its weight's.
    """
    bound = 1 / math.sqrt(fan_in if fan_in is not None else fans(tensor)[0])
    return uniform_(tensor, -bound, bound, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2 / (fan_in + fan_out)), generator)


def kaiming_normal_(tensor: Tensor, gain: float = math.sqrt(2), generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan_in) (He et al., 2015; gain sqrt 2 suits ReLU)."""
    return normal_(tensor, 0.0, gain / math.sqrt(fans(tensor)[0]), generator)
