"""``python -m zoo``: see ``zoo.cli``; the BLAS thread count is set first (see ``zoo.threads``), then the
host allocator is told to keep freed memory (``tinygrad_lm.allocator``), as the benchmarks do."""

import sys

from zoo.threads import set_blas_threads

set_blas_threads(sys.argv[1:])  # before NumPy is imported

from tinygrad_lm import allocator  # noqa: E402  (after the thread settings)
from zoo.cli import main  # noqa: E402

allocator.configure_from_environment()  # keep freed host memory for reuse (see tinygrad_lm/allocator.py)

sys.exit(main())
