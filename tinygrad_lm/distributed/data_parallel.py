"""``DistributedDataParallel``: every rank holds the whole model and its own slice of the batch, and
``loss.backward()`` leaves on every rank the gradient averaged over the ranks.

If rank r computes L_r, the mean loss over its B_r rows, with B_r = B/N, then
(1/N) sum_r dL_r/dw = dL/dw for L the mean loss over all B rows: N ranks with B/N rows each take
the step that one process with B rows would (up to the order of floating-point sums).

How the average happens with no extra call: the parameters are cut, in reverse order of definition
(about the order their gradients become final in a backward), into buckets of at most
``bucket_mb`` MiB, each with one flat buffer. A post-accumulate hook on every parameter
(``grad_hooks.py``) copies its final gradient into its bucket's buffer; once a bucket holds all its
gradients it is summed over the ranks in place (one ``all_reduce``), divided by N, and each
parameter's ``.grad`` becomes a view of its slice. Buckets are reduced strictly in their order,
so every rank issues the same collectives in the same order. One large reduction per bucket instead
of one per parameter pays the network's latency a few times, not once per tensor.

Wrapping broadcasts rank 0's parameters and buffers to every rank (after checking that all ranks
hold models of the same shapes), so differently initialised replicas start equal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..autograd import no_grad
from ..backend import get_xp
from ..function import constant, is_grad_enabled
from ..nn.module import IncompatibleKeys, Module
from . import process_group as dist


class _Bucket:
    """Parameters whose gradients are reduced together, and the flat buffer they are gathered in."""

    def __init__(self, params: list) -> None:
        self.params = params
        self.bounds = [0]
        for p in params:
            self.bounds.append(self.bounds[-1] + p.data.size)
        self.buffer = get_xp(params[0].data).zeros(self.bounds[-1], dtype=params[0].data.dtype)
        self.arrived = [False] * len(params)
        self.missing = len(params)

    def slice_of(self, index: int) -> Any:
        return self.buffer[self.bounds[index] : self.bounds[index + 1]]


class _Reduction:
    """One backward's progress: which gradients arrived, which buckets are averaged."""

    def __init__(self, buckets: list[_Bucket], place: dict[int, tuple[int, int]], world_size: int) -> None:
        self.buckets, self.place, self.world_size = buckets, place, world_size
        self.armed, self.started, self.next_bucket = False, False, 0

    def arm(self, armed: bool) -> None:
        """A forward: the next backward averages (``armed``) or only accumulates."""
        self.armed, self.started, self.next_bucket = armed, False, 0
        for bucket in self.buckets:
            bucket.missing, bucket.arrived = len(bucket.params), [False] * len(bucket.params)

    def on_gradient(self, param: Any) -> None:
        """``param.grad`` is final: into its bucket; average every bucket that is now complete."""
        if not self.armed:
            return
        self.started = True
        bucket_index, index = self.place[id(param)]
        bucket = self.buckets[bucket_index]
        bucket.slice_of(index)[...] = param.grad.data.reshape(-1)
        bucket.arrived[index] = True
        bucket.missing -= 1
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].missing == 0:
            self.reduce(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self.armed = False

    def reduce(self, bucket: _Bucket) -> None:
        dist.all_reduce(constant(bucket.buffer), op="sum")
        bucket.buffer /= self.world_size
        for index, p in enumerate(bucket.params):
            p.grad = constant(bucket.slice_of(index).reshape(p.shape))

    def check_finished(self, names: dict[int, str]) -> None:
        """Raise if the last backward began averaging but left a bucket waiting for a gradient."""
        if not (self.armed and self.started):
            return  # no backward since the last forward, or every bucket averaged
        waiting = self.buckets[self.next_bucket]
        missing = [names[id(p)] for p, came in zip(waiting.params, waiting.arrived, strict=True) if not came]
        raise RuntimeError(
            f"DistributedDataParallel: the last backward gave no gradient to {', '.join(missing)}, so "
            "their bucket was never averaged over the ranks; every parameter that requires grad must "
            "take part in the loss (or set requires_grad=False before wrapping)"
        )


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` through ``ddp(...)`` averages gradients over the ranks.

    ``ddp(*args)`` calls ``module(*args)``; the optimizer works unchanged on ``module.parameters()``
    (the same tensors as ``ddp.parameters()``); ``state_dict()`` is the module's own, without prefix.
    Inside ``with ddp.no_sync():`` forwards and backwards accumulate local gradients only (gradient
    accumulation); the first backward after it averages the accumulated sums.
    """

    def __init__(self, module: Module, bucket_mb: float = 25.0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got {type(module).__name__}")
        if not bucket_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_mb must be > 0, got {bucket_mb!r}")
        self.module = module
        self.world_size = dist.get_world_size()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model(named)
        self._broadcast_state()
        self._names = {id(p): n for n, p in named}
        self._round = _Reduction(*_make_buckets([p for _, p in named], bucket_mb), self.world_size)
        self._handles = [p.register_post_accumulate_grad_hook(self._round.on_gradient) for _, p in named]
        self._sync = True

    # ----------------------------------------------------------------------------- wrapping
    def _check_same_model(self, named: list) -> None:
        """Every rank must hold the same parameter names, shapes and dtypes (checked on all ranks)."""
        shapes = [(n, tuple(p.shape), str(p.dtype)) for n, p in named]
        for rank, theirs in enumerate(dist.all_gather_object(shapes)):
            if theirs != shapes:
                differ = [(a, b) for a, b in zip(shapes, theirs, strict=False) if a != b]
                here, there = differ[0] if differ else (f"{len(shapes)} parameters", f"{len(theirs)}")
                raise RuntimeError(
                    f"DistributedDataParallel: rank {dist.get_rank()} and rank {rank} hold different "
                    f"models: {here} here, {there} there; every rank must build the same model"
                )

    def _broadcast_state(self) -> None:
        with no_grad():
            for tensor in [*self.module.parameters(), *self.module.buffers()]:
                if not tensor.data.flags.c_contiguous:
                    tensor.data = get_xp(tensor.data).ascontiguousarray(tensor.data)
                dist.broadcast(tensor, src=0)

    # ----------------------------------------------------------------------------- forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward_through(self.module, *args, **kwargs)

    def forward_through(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` -- another entry point of the wrapped module, such as a recurrent
        model's ``forward_stateful`` -- as a forward of this wrapper: the next backward averages."""
        self._round.check_finished(self._names)
        self._round.arm(self._sync and is_grad_enabled())
        return fn(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside: gradients accumulate locally, with no communication."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        return self.module.load_state_dict(state, strict)

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={len(self._round.buckets)}"


def _make_buckets(params: list, bucket_mb: float) -> tuple[list[_Bucket], dict[int, tuple[int, int]]]:
    """Consecutive parameters (in reverse order) of one dtype and device, at most ``bucket_mb`` MiB
    each (a larger parameter alone); and each parameter's (bucket, position)."""
    limit = bucket_mb * 2**20
    groups: list[list] = []
    size = 0
    for p in reversed(params):
        same_kind = groups and (p.data.dtype, p.device) == (groups[-1][0].data.dtype, groups[-1][0].device)
        if not same_kind or size + p.data.nbytes > limit:
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += p.data.nbytes
    buckets = [_Bucket(group) for group in groups]
    place = {id(p): (b, i) for b, bucket in enumerate(buckets) for i, p in enumerate(bucket.params)}
    return buckets, place
