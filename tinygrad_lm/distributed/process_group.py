"""The process group: which rank this process is among how many, and the collectives between them.

Shaped like ``torch.distributed``: ``init_process_group(backend)`` once per process (every rank
calls every collective, in the same order), then ``all_reduce``/``broadcast``/``all_gather`` modify
Tensors in place and ``barrier`` waits for all ranks. Backends:

* ``"mpi"`` (CPU, NumPy arrays): MPI through mpi4py's buffer collectives (``mpi_backend.py``);
* ``"nccl"`` (GPU, CuPy arrays): NCCL through CuPy, MPI only starting it (``nccl_backend.py``).

The processes are started by an MPI launcher: ``mpiexec -n N python -m mpi4py script.py`` (``-m
mpi4py`` turns an exception on one rank into ``MPI_Abort`` of the whole job instead of a hang).
"""

from __future__ import annotations

import os
from typing import Any

from ..backend import get_xp
from ..function import is_tensor
from .mpi_backend import MpiCollectives, import_mpi

BACKENDS = ("mpi", "nccl")
REDUCE_OPS = ("sum", "mean", "max")
# what MPI launchers put in each rank's environment: MPICH/Intel MPI (hydra), Open MPI, PMIx (srun)
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")

_group: Any = None  # the backend's collectives once init_process_group ran


def launched_world_size() -> int:
    """The number of ranks an MPI launcher (mpiexec, srun) started, read from the environment
    without initialising MPI; 1 for a process started on its own."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def init_process_group(backend: str = "mpi") -> None:
    """Join the group of all processes of this MPI job (``MPI.COMM_WORLD``) with ``backend``."""
    global _group
    if backend not in BACKENDS:
        raise ValueError(f"init_process_group: backend must be one of {BACKENDS}, got {backend!r}")
    if _group is not None:
        raise RuntimeError(
            f"init_process_group: already initialised (backend {_group.name!r}); "
            "call destroy_process_group() first"
        )
    comm = import_mpi().COMM_WORLD.Dup()
    if backend == "mpi":
        _group = MpiCollectives(comm)
    else:
        from .nccl_backend import NcclCollectives

        _group = NcclCollectives(comm)


def is_initialized() -> bool:
    return _group is not None


def destroy_process_group() -> None:
    """Leave the group (the MPI library itself stays initialised until the process exits)."""
    global _group
    group = _require("destroy_process_group")
    _group = None
    group.close()


def _require(caller: str) -> Any:
    if _group is None:
        raise RuntimeError(
            f"distributed.{caller}: no process group; call tinygrad_lm.distributed.init_process_group"
            "('mpi') first, in every process (started by: mpiexec -n N python -m mpi4py script.py)"
        )
    return _group


def get_backend() -> str:
    return _require("get_backend").name


def get_rank() -> int:
    return _require("get_rank").mpi_comm.Get_rank()


def get_world_size() -> int:
    return _require("get_world_size").mpi_comm.Get_size()


def _array(tensor: Any, caller: str) -> Any:
    """The tensor's array, checked to be one the backend can reduce in place."""
    group = _require(caller)
    if not is_tensor(tensor):
        raise TypeError(f"distributed.{caller}: expected a Tensor, got {type(tensor).__name__}")
    array = tensor.data
    if not array.flags.c_contiguous:
        raise ValueError(
            f"distributed.{caller}: the tensor (shape {tensor.shape}) is not contiguous; "
            "collectives work in place on contiguous memory"
        )
    if (group.name == "nccl") != (tensor.device != "cpu"):
        where = "CUDA (CuPy)" if group.name == "nccl" else "CPU (NumPy)"
        raise ValueError(
            f"distributed.{caller}: the {group.name!r} backend reduces {where} arrays, "
            f"got a tensor on {tensor.device}"
        )
    return array


def all_reduce(tensor: Any, op: str = "sum") -> None:
    """Replace ``tensor`` on every rank, in place, by the element-wise ``op`` over all ranks' values:
    sum_r x_r, (1/N) sum_r x_r (``"mean"``, floating point only) or max_r x_r."""
    if op not in REDUCE_OPS:
        raise ValueError(f"distributed.all_reduce: op must be one of {REDUCE_OPS}, got {op!r}")
    array = _array(tensor, "all_reduce")
    if op == "mean" and array.dtype.kind != "f":
        raise TypeError(f"distributed.all_reduce: op='mean' needs a floating tensor, got {array.dtype}")
    _group.all_reduce(array, "max" if op == "max" else "sum")
    if op == "mean":
        array /= get_world_size()


def broadcast(tensor: Any, src: int = 0) -> None:
    """Overwrite ``tensor`` on every rank, in place, with rank ``src``'s values."""
    array = _array(tensor, "broadcast")
    _check_rank(src, "broadcast")
    _group.broadcast(array, src)


def all_gather(tensor_list: list, tensor: Any) -> None:
    """Fill ``tensor_list[r]`` (one tensor per rank, each of ``tensor``'s shape and dtype) in place
    with rank r's ``tensor``."""
    array = _array(tensor, "all_gather")
    world = get_world_size()
    if len(tensor_list) != world:
        raise ValueError(
            f"distributed.all_gather: tensor_list has {len(tensor_list)} tensors, expected {world}"
        )
    for r, out in enumerate(tensor_list):
        if not is_tensor(out) or out.shape != tensor.shape or out.dtype != tensor.dtype:
            raise ValueError(
                f"distributed.all_gather: tensor_list[{r}] must be a Tensor of shape {tensor.shape} and "
                f"dtype {tensor.dtype}, got {getattr(out, 'shape', type(out).__name__)}"
            )
    gathered = get_xp(array).empty((world, *array.shape), dtype=array.dtype)
    _group.all_gather(array, gathered)
    for out, values in zip(tensor_list, gathered, strict=True):
        out.data[...] = values


def all_gather_object(obj: Any) -> list:
    """Every rank's ``obj`` (pickled: for small things such as shapes and settings), rank order."""
    return _require("all_gather_object").mpi_comm.allgather(obj)


def barrier() -> None:
    """Return once every rank has reached its ``barrier()`` (and, on NCCL, its queued collectives ran)."""
    _require("barrier").barrier()


def _check_rank(rank: Any, caller: str) -> None:
    world = get_world_size()
    if not isinstance(rank, int) or not 0 <= rank < world:
        raise ValueError(f"distributed.{caller}: src must be a rank in 0..{world - 1}, got {rank!r}")
