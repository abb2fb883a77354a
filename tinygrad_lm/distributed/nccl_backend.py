"""The GPU backend: NCCL through CuPy (``cupy.cuda.nccl``), on the CuPy arrays, without host copies.

MPI only starts the group: rank 0 draws NCCL's unique id and MPI broadcasts it (128 bytes, once);
each rank then opens an ``NcclCommunicator`` on its GPU, chosen by its *local* rank (its rank among
the processes of its node: one GPU per rank). The collectives are queued on the current CuPy stream,
so they are ordered with the kernels that produced the gradients; ``barrier`` also waits for them.

Written against CuPy's documented NCCL API and not yet run on a machine with GPUs (see the README).
"""

from __future__ import annotations

from typing import Any

from ..backend import cuda_nccl
from .mpi_backend import import_mpi

MISSING_NCCL = (
    "init_process_group(backend='nccl') needs CuPy built with NCCL (pip install cupy-cuda12x; "
    "check cupy.cuda.nccl.available) and a CUDA device per rank"
)


def select_local_gpu(cupy: Any, comm: Any) -> int:
    """Make the GPU numbered by this rank's local rank current; returns its number."""
    MPI = import_mpi()
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    local_rank, local_size = local.Get_rank(), local.Get_size()
    local.Free()
    count = cupy.cuda.runtime.getDeviceCount()
    if local_size > count:
        raise RuntimeError(
            f"init_process_group('nccl'): {local_size} ranks on this node but {count} GPUs; "
            "start at most one rank per GPU"
        )
    cupy.cuda.Device(local_rank).use()
    return local_rank


class NcclCollectives:
    """In-place collectives on CuPy arrays over an NCCL communicator."""

    name = "nccl"

    def __init__(self, comm: Any) -> None:
        modules = cuda_nccl()
        if modules is None:
            raise ImportError(MISSING_NCCL)
        cupy, nccl = modules
        self.cupy, self.nccl, self.mpi_comm = cupy, nccl, comm
        self.device = select_local_gpu(cupy, comm)
        unique_id = nccl.get_unique_id() if comm.Get_rank() == 0 else None
        unique_id = comm.bcast(unique_id, root=0)
        self.comm = nccl.NcclCommunicator(comm.Get_size(), unique_id, comm.Get_rank())
        self.ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX}

    def _dtype(self, array: Any) -> int:
        nccl = self.nccl
        codes = {
            "float16": nccl.NCCL_FLOAT16,
            "float32": nccl.NCCL_FLOAT32,
            "float64": nccl.NCCL_FLOAT64,
            "int32": nccl.NCCL_INT32,
            "int64": nccl.NCCL_INT64,
        }
        if array.dtype.name not in codes:
            raise TypeError(f"nccl: dtype {array.dtype} is not supported (use one of {', '.join(codes)})")
        return codes[array.dtype.name]

    def _stream(self) -> int:
        return self.cupy.cuda.get_current_stream().ptr

    def all_reduce(self, array: Any, op: str) -> None:
        ptr = array.data.ptr
        self.comm.allReduce(ptr, ptr, array.size, self._dtype(array), self.ops[op], self._stream())

    def broadcast(self, array: Any, src: int) -> None:
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), src, self._stream())

    def all_gather(self, array: Any, out: Any) -> None:
        self.comm.allGather(array.data.ptr, out.data.ptr, array.size, self._dtype(array), self._stream())

    def barrier(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        self.mpi_comm.Barrier()

    def close(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.destroy()
        self.mpi_comm.Free()
