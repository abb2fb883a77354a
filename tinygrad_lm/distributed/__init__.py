"""Data-parallel training past one process: MPI on CPUs, NCCL on GPUs (see docs/distributed.md).

Shaped like ``torch.distributed``; start the processes with an MPI launcher::

    mpiexec -n 4 python -m mpi4py train.py

and in ``train.py``: ``init_process_group("mpi")``, wrap the model in ``DistributedDataParallel``,
give each rank its own batches. mpi4py is imported only by ``init_process_group``: the library imports
without it (``pip install 'tinygrad_lm[distributed]'`` installs mpi4py and MPICH).
"""

from .data_parallel import DistributedDataParallel
from .process_group import (
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    launched_world_size,
)

__all__ = [
    "DistributedDataParallel",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_initialized",
    "launched_world_size",
]
