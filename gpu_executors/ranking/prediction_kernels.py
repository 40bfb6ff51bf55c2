"""Predicted-draw kernels, as a template specialised per (generator, draw function).

``predicted.predicted_draws`` binds the names below through ``gpu_executors.specialise``, so each
pair's kernels are module-level functions that numba caches on disk. ``rows_generic`` walks the
array state and calls the draw function; ``rows_one_word`` keeps a one-word state in a register
for draws that always take exactly one word; ``predict`` runs one or the other over the rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from gpu_executors.specialise import unbound

U64 = np.uint64

# Bound per (generator, draw) by ``specialise``: the generator's compiled functions (``prev`` and
# ``unpack`` are ``no_prev``/``no_unpack`` for generators without an inverse step; ``step1`` and
# ``value`` only for single-word generators, with ONE_WORD set), its draw function and its state
# size.
nxt = seed_fn = prev = unpack = step1 = value = draw = unbound
SIZE = 1
ONE_WORD = False


@numba.njit(nogil=True)
def no_prev(st):
    """Stands in for ``prev`` where there is none (state mode is refused before the kernel)."""
    return U64(0)


@numba.njit(nogil=True)
def no_unpack(word, st):
    """Stands in for ``unpack`` where there is none."""
    st[0] = word


@numba.njit(nogil=True, inline="always")
def start(word, rewind, state_mode, st):
    if state_mode:
        unpack(word, st)
        for _ in range(rewind):
            prev(st)
    else:
        seed_fn(word, st)


@numba.njit(nogil=True, cache=True)
def rows_one_word(
    lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
):
    n = out.shape[1]
    st = np.empty(1, dtype=np.uint64)
    for i in range(lo, hi):
        start(seeds[i], rewind[i], state_mode, st)
        s = st[0]
        for _ in range(offsets[i]):
            s, _w = step1(s)
        vi = var_idx[i]
        gap = row_gap[i]
        for j in range(n):
            if j > 0:
                g = gap
                if vi >= 0 and j - 1 < gap_len[vi]:
                    g = gap_mat[vi, j - 1]
                for _ in range(g):
                    s, _w = step1(s)
            s, w = step1(s)
            out[i, j] = value(w)[0]


@numba.njit(nogil=True, cache=True)
def rows_generic(
    lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
):
    n = out.shape[1]
    st = np.empty(SIZE, dtype=np.uint64)
    for i in range(lo, hi):
        start(seeds[i], rewind[i], state_mode, st)
        for _ in range(offsets[i]):
            nxt(st)
        vi = var_idx[i]
        gap = row_gap[i]
        for j in range(n):
            if j > 0:
                g = gap
                if vi >= 0 and j - 1 < gap_len[vi]:
                    g = gap_mat[vi, j - 1]
                for _ in range(g):
                    nxt(st)
            out[i, j] = draw(st)


@numba.njit(parallel=True, nogil=True, cache=True)
def predict(seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out, n_blocks):
    n_rows = out.shape[0]
    for b in prange(n_blocks):
        lo = (n_rows * b) // n_blocks
        hi = (n_rows * (b + 1)) // n_blocks
        # ONE_WORD is a constant of the pair: numba compiles only the branch taken.
        if ONE_WORD:
            rows_one_word(
                lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
            )
        else:
            rows_generic(
                lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
            )
