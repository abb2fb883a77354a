"""Data-parallel training for ``python -m zoo train``, on N processes started by an MPI launcher.

``mpiexec -n N python -m mpi4py -m zoo train ...`` (or Slurm's ``srun``) starts N ranks; the zoo sees
N > 1 in the launcher's environment (``tinygrad_lm.distributed.launched_world_size``) and trains
data-parallel: MPI between CPUs, NCCL between GPUs (``--device cuda``: one GPU per rank). Without a
launcher, or with ``-n 1``, nothing changes.

The data: every rank draws the same global batch of ``batch_size`` windows from the one seeded
generator (random windows, or the next window of the ``batch_size`` streams of a recurrent model)
and keeps its own rows, ``[r B/N, (r + 1) B/N)`` (a shard of one stream); a recurrent model's hidden
state holds this rank's rows, and the checkpoint the whole batch's (gathered from every rank). So
``batch_size`` is the global batch, N x the per-rank batch; the generator, the step and token counts
(global), the schedule and the checkpoint are the same on every rank and the same as one process's
with that seed; only the order of the floating-point sums differs. Rank 0 alone evaluates (the
value is broadcast, so every rank's curve is the same), prints, samples and writes checkpoints;
the loss it prints is the mean over the global batch and the seconds are the slowest rank's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import distributed as dist


def join_launched_ranks(device: str | None) -> tuple[int, int] | None:
    """(rank, number of ranks) after joining the launcher's process group (MPI for ``--device cpu``,
    NCCL for ``cuda``, which makes the GPU of this rank's local rank current), or None when this
    process was started alone. Call it before ``tg.parse_device``, which reads the current GPU."""
    if dist.launched_world_size() <= 1:
        return None
    on_gpu = device not in (None, "cpu")
    if on_gpu and device != "cuda":
        raise ValueError(
            f"--device {device} under an MPI launcher: give --device cuda, and each rank takes the GPU "
            "of its local rank (one rank per GPU)"
        )
    if not dist.is_initialized():
        dist.init_process_group("nccl" if on_gpu else "mpi")
    return dist.get_rank(), dist.get_world_size()


class EveryRankError(ValueError):
    """An error that every rank detects at the same point (it depends only on the settings and the
    number of ranks): ``python -m zoo`` prints it on each rank, then waits for all of them before
    exiting, since the first rank to exit ends the job (``python -m mpi4py`` aborts)."""


def agree_before_exit(error: BaseException) -> None:
    """After printing ``error`` on this rank: wait for every rank when all of them raised it."""
    if isinstance(error.__cause__, EveryRankError) and dist.is_initialized():
        dist.barrier()


class DataParallel:
    """What a ``Trainer`` does differently on one of N ranks: its rows, the wrapped model, agreement."""

    def __init__(self, model: Any, batch_size: int, name: str, device: str) -> None:
        self.rank, self.world, self.device = dist.get_rank(), dist.get_world_size(), device
        if batch_size % self.world:
            raise EveryRankError(
                f"batch_size {batch_size} does not split over {self.world} ranks: the global batch is "
                f"ranks x rows per rank, so use a multiple of {self.world} (--set batch_size=...) "
                f"or a number of ranks that divides {batch_size}"
            )
        self.rows_per_rank = batch_size // self.world
        self.model = dist.DistributedDataParallel(model)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        rows, world = self.rows_per_rank, self.world
        return f"global batch {world * rows} = {world} ranks x {rows} rows"

    def my_rows(self, x: Any, y: Any) -> tuple[Any, Any]:
        """This rank's rows of the global batch (B, T)."""
        rows = slice(self.rank * self.rows_per_rank, (self.rank + 1) * self.rows_per_rank)
        return x[rows], y[rows]

    def my_state(self, state: Any) -> Any:
        """This rank's rows (axis 1) of a recurrent state of the global batch: (layers, B, H) entries."""
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(self.my_state(s) for s in state)
        return state[:, self.rank * self.rows_per_rank : (self.rank + 1) * self.rows_per_rank]

    def whole_state(self, state: Any) -> Any:
        """Every rank's rows of a recurrent state, in rank order: the state of the global batch
        (a collective: every rank calls it)."""
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(self.whole_state(s) for s in state)
        mine = tg.as_tensor(tg.get_xp(state.data).ascontiguousarray(state.data))
        parts = [tg.zeros_like(mine) for _ in range(self.world)]
        dist.all_gather(parts, mine)
        return tg.cat(parts, axis=1)

    def mean_loss(self, loss: float) -> float:
        """The loss over the global batch: the mean of the ranks' means (equal row counts)."""
        return float(self._all_reduce(loss, "mean"))

    def slowest(self, seconds: float) -> float:
        """The largest of the ranks' training seconds: every rank stops at the same step."""
        return float(self._all_reduce(seconds, "max"))

    def from_main(self, value: float) -> float:
        """Rank 0's ``value`` on every rank."""
        box = self._box(value)
        dist.broadcast(box, src=0)
        return float(tg.asnumpy(box.data)[0])

    def _all_reduce(self, value: float, op: str) -> float:
        box = self._box(value)
        dist.all_reduce(box, op=op)
        return float(tg.asnumpy(box.data)[0])

    def _box(self, value: float) -> tg.Tensor:
        """``value`` as a 1-element float64 tensor where the backend reduces (host or GPU)."""
        return tg.as_tensor(tg.to_device(np.array([value], dtype=np.float64), self.device))
