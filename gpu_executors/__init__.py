"""Compute with no Dagster import: generators, draw functions, sieve kernels, features, models.

numba's OpenMP runtime and torch's bundled one each spin while idle; on a small machine the two
spinning pools starve each other (a scorer trial ran 5-10x slower). Passive waiting, set before
either runtime starts, removes that; a user's own setting wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
