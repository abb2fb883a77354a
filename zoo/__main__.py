"""``python -m zoo``: see ``zoo.cli``; the BLAS thread count is set first (see ``zoo.threads``)."""

import sys

from zoo.threads import set_blas_threads

set_blas_threads(sys.argv[1:])  # before NumPy is imported

from zoo.cli import main  # noqa: E402  (after the thread settings)

sys.exit(main())
