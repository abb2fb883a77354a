"""Testing kit: finite-difference gradient checks and hypothesis strategies for tensors.

``gradcheck``/``gradgradcheck`` compare a function's first/second derivatives from the autograd
engine with central differences; they need only NumPy, so ``from tinygrad_lm.testing import
gradcheck`` works without the ``test`` extra. ``strategies`` draws shapes, tensors, axes, indices
and token batches; it needs hypothesis and is imported on first use (``tinygrad_lm.testing.strategies``
or ``from tinygrad_lm.testing import strategies``). ``registry`` lists every differentiable op with
its NumPy reference and input domains (import it explicitly: it needs hypothesis too); ``python -m
tinygrad_lm.testing.report`` prints the per-op check table.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies"]


def __getattr__(name: str) -> ModuleType:
    """``strategies`` on first use (PEP 562), so that importing the package never needs hypothesis."""
    if name == "strategies":
        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
