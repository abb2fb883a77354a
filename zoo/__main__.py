"""``python -m zoo``: see ``zoo.cli``; the BLAS thread count is set first (see ``zoo.threads``), then the
host allocator is told to keep freed memory (``tinygrad_lm.allocator``), as the benchmarks do."""

import sys

from zoo.threads import set_blas_threads

set_blas_threads(sys.argv[1:])  # before NumPy is imported

try:
    from tinygrad_lm import allocator  # (after the thread settings)
except ValueError as error:  # a setting of the environment it cannot read (TINYGRAD_LM_KERNELS=...)
    print(f"python -m zoo: {error}", file=sys.stderr)
    sys.exit(2)
from zoo.cli import main  # noqa: E402

allocator.configure_from_environment()  # keep freed host memory for reuse (see tinygrad_lm/allocator.py)

sys.exit(main())
