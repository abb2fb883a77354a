"""The CPU backend: MPI collectives through mpi4py's buffer interface, on the NumPy arrays themselves.

The upper-case mpi4py methods (``Allreduce``, ``Bcast``, ``Allgather``) read and write the arrays'
memory directly: nothing is pickled on the hot path, and ``MPI.IN_PLACE`` reduces without a second
buffer. Only ``all_gather_object`` (rare, small: shapes and settings) pickles.
"""

from __future__ import annotations

from typing import Any

MISSING_MPI4PY = (
    "tinygrad_lm.distributed needs mpi4py and an MPI library: pip install 'tinygrad_lm[distributed]' "
    "(mpi4py and mpich), then launch with: mpiexec -n N python -m mpi4py your_script.py"
)


def import_mpi() -> Any:
    """mpi4py's ``MPI`` module (imported here, lazily: the library imports without mpi4py)."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(MISSING_MPI4PY) from error
    return MPI


class MpiCollectives:
    """In-place collectives on host arrays over an MPI communicator."""

    name = "mpi"

    def __init__(self, comm: Any) -> None:
        self.MPI = import_mpi()
        self.mpi_comm = comm
        self.ops = {"sum": self.MPI.SUM, "max": self.MPI.MAX}

    def all_reduce(self, array: Any, op: str) -> None:
        self.mpi_comm.Allreduce(self.MPI.IN_PLACE, array.reshape(-1), op=self.ops[op])

    def broadcast(self, array: Any, src: int) -> None:
        self.mpi_comm.Bcast(array.reshape(-1), root=src)

    def all_gather(self, array: Any, out: Any) -> None:
        self.mpi_comm.Allgather(array.reshape(-1), out.reshape(-1))

    def barrier(self) -> None:
        self.mpi_comm.Barrier()

    def close(self) -> None:
        self.mpi_comm.Free()
