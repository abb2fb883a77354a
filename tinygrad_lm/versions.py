"""Version counters: a backward that would read values overwritten in place raises instead.

An op's backward reads its inputs (and sometimes its output) as they are when backward runs. Written
in place between forward and backward (``x[0] = 5`` under ``no_grad``, an optimizer step, an
``nn.init`` fill), they would give the derivative of a graph that was never built, silently. So:

* every in-place write through the library calls ``mark_modified(tensor)``, which sets the tensor's
  version ``tensor._version`` to the library-wide count of writes so far (0: never written);
* ``Function.apply`` records that count as ``fn.saved_at`` when it links an op into a graph;
* before an op's backward, the engine compares: when no write at all happened since the op was
  recorded (``saved_at == _Writes.count``, the usual case) one integer comparison is the whole cost;
  otherwise ``check_unmodified`` looks at the op's inputs and output and raises ``RuntimeError``
  naming the op, the tensor's shape and dtype, and the versions.

Not caught: writes to ``tensor.data`` (the raw array, the documented way around the check, as in
PyTorch), and writes through another Tensor or array that shares the memory (``detach()``,
``as_tensor``, a NumPy view of ``.data``): the version belongs to the Tensor object, not its memory.
Every input counts as saved (an op keeps all its inputs for backward), so a write into an input
that the op's derivative happens not to read (``b`` in ``a + b``) raises too: stricter than PyTorch.
"""

from __future__ import annotations

from typing import Any


class _Writes:
    """The library-wide count of in-place writes made through the library."""

    count = 0


def mark_modified(tensor: Any) -> None:
    """Record an in-place write into ``tensor``: call it after every write through the library."""
    _Writes.count += 1
    tensor._version = _Writes.count


def check_unmodified(fn: Any, output: Any) -> None:
    """Raise if an input or the output of ``fn`` was written in place after ``fn`` was recorded."""
    saved_at = fn.saved_at
    if output._version > saved_at:
        raise _modified_error(fn, "its output", output)
    for position, tensor in enumerate(fn.inputs):
        if tensor._version > saved_at:
            raise _modified_error(fn, f"input {position}", tensor)


def _modified_error(fn: Any, which: str, tensor: Any) -> RuntimeError:
    name = type(fn).__name__.removesuffix("Function").lower()
    return RuntimeError(
        f"backward of {name}: {which} (shape {tuple(tensor.shape)}, {tensor.data.dtype}) was modified by an "
        f"in-place operation after {name} saved it for backward: it is at version {tensor._version}, "
        f"{name} saved it at version {fn.saved_at} or earlier. Compute the graph again after the "
        "write, or write into a copy (x = x.detach().numpy().copy() ... ) instead"
    )
