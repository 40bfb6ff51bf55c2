"""Compute with no Dagster import: generators, draw functions, sieve kernels, features, models.

Two process-wide settings are made here, before numba or torch starts:

- numba's on-disk kernel cache is pointed at a folder keyed by this code's sources
  (``kernel_cache``), so kernels compile once per machine, not once per process;
- numba's OpenMP runtime and torch's bundled one each spin while idle; on a small machine the two
  spinning pools starve each other (a scorer trial ran 5-10x slower). Passive waiting removes
  that; a user's own setting wins.
"""

import os

from gpu_executors import kernel_cache

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
kernel_cache.configure()
