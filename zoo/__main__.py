"""``python -m zoo``: see ``zoo.cli``.

BLAS runs single-threaded unless ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS``
is set: the zoo's matrices are small, and a multi-threaded OpenBLAS on busy cores spins (training
steps measured 5-50x slower on two shared cores). This must happen before NumPy is imported.
"""

import os
import sys

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if not any(os.environ.get(variable) for variable in THREAD_VARIABLES):
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))

from zoo.cli import main  # noqa: E402  (after the thread settings)

sys.exit(main())
