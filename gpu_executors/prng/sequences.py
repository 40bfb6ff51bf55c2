"""Output words and draws of one candidate, as a template specialised per generator and draw.

``Generator.outputs`` and ``draws.generate_draws`` bind the names below through
``gpu_executors.specialise``, so numba caches each pair's loop on disk instead of compiling it
again in every process that synthesises or re-checks draws.
"""

from __future__ import annotations

import numba
import numpy as np

from gpu_executors.specialise import unbound

# Bound by ``specialise``: the generator's ``next``, and (for ``draws``) a draw function.
nxt = draw = unbound


@numba.njit(nogil=True, cache=True)
def words(state, skip, n):
    """``n`` output words after discarding ``skip``."""
    for _ in range(skip):
        nxt(state)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = nxt(state)
    return out


@numba.njit(nogil=True, cache=True)
def draws(state, offset, gaps, n):
    """``n`` draws: skip ``offset`` words, then a draw, ``gaps[i]`` words, a draw, ..."""
    for _ in range(offset):
        nxt(state)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        if i > 0:
            for _ in range(gaps[i - 1]):
                nxt(state)
        out[i] = draw(state)
    return out
