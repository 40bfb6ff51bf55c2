"""The CPU executor's walks, as a template specialised per (generator, draw function).

``cpu.compile_walkers`` binds the names below through ``gpu_executors.specialise``, so each
pair's kernels are module-level functions that numba caches on disk. A seed walk seeds, skips to
each offset and counts misses with early exit; a state walk unpacks a state and walks forward
and backward from the anchor; a variable-gap walk tries every strategy of ``p`` (see
``strategies``) and keeps the best. The ``count_*`` kernels run those walks in parallel over a
range.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from gpu_executors.specialise import unbound

U64 = np.uint64

# Bound per (generator, draw) by ``specialise``: the generator's compiled functions, its draw
# function and its state size.
nxt = seed_fn = prev = unpack = draw = unbound
SIZE = 1


@numba.njit(nogil=True, inline="always")
def copy_into(dst, src):
    for k in range(SIZE):
        dst[k] = src[k]


@numba.njit(nogil=True, cache=True)
def const_misses(st, obs, start, gap, max_misses):
    misses = 0
    for i in range(start, obs.shape[0]):
        if i > start:
            for _ in range(gap):
                nxt(st)
        if draw(st) != obs[i]:
            misses += 1
            if misses > max_misses:
                return misses
    return misses


@numba.njit(nogil=True, cache=True)
def variable_misses(st, obs, gap_min, gap_max, max_misses, max_consec, tol, trial, probe,
                    gaps_out):
    """One strategy's walk (see ``strategies``); more than ``max_misses`` when it fails.

    ``max_consec`` / ``tol`` -1: no consecutive limit / the whole range (the greedy rule)."""
    misses = 0 if draw(st) == obs[0] else 1
    consec = misses
    if misses > max_misses or (0 <= max_consec < consec):
        return max_misses + 1
    expected = -1
    for i in range(1, obs.shape[0]):
        lo, hi = gap_min, gap_max
        if tol >= 0 and expected >= 0:
            lo = max(gap_min, expected - tol)
            hi = min(gap_max, expected + tol)
        copy_into(trial, st)
        for _ in range(lo):
            nxt(trial)
        chosen = -1
        for g in range(lo, hi + 1):
            copy_into(probe, trial)
            if draw(probe) == obs[i]:
                chosen = g
                copy_into(st, probe)
                break
            nxt(trial)
        if chosen < 0:
            misses += 1
            consec += 1
            if misses > max_misses or (0 <= max_consec < consec):
                return max_misses + 1
            chosen = expected if (tol >= 0 and expected >= 0) else gap_min
            for _ in range(chosen):
                nxt(st)
            draw(st)
        else:
            consec = 0
            expected = chosen
        gaps_out[i - 1] = chosen
    return misses


@numba.njit(nogil=True, cache=True)
def best_strategy(st, base, obs, p, trial, probe, gaps_out, best_gaps):
    """(misses, index) of the strategy with the fewest misses, ties to the earlier (stricter);
    its gaps in ``best_gaps``. Index -1 when none passes."""
    gap_min, gap_max, max_misses, n_strat = p[2], p[3], p[5], p[7]
    best_m = max_misses + 1
    best_k = -1
    # Draw 0 is the same for every strategy: a miss there with no miss allowed fails them all
    # (most candidates), at once rather than once per strategy.
    if max_misses == 0:
        copy_into(st, base)
        if draw(st) != obs[0]:
            return best_m, best_k
    for k in range(n_strat):
        copy_into(st, base)
        m = variable_misses(st, obs, gap_min, gap_max, max_misses, p[8 + 2 * k], p[9 + 2 * k],
                            trial, probe, gaps_out)
        if m < best_m:
            best_m = m
            best_k = k
            for j in range(gaps_out.shape[0]):
                best_gaps[j] = gaps_out[j]
            if m == 0:
                break
    return best_m, best_k


@numba.njit(nogil=True, cache=True)
def reverse_misses(anchor_state, obs, anchor, gap, max_misses, st, probe):
    copy_into(st, anchor_state)
    misses = 0
    for i in range(anchor - 1, -1, -1):
        for _ in range(gap + 1):
            prev(st)
        copy_into(probe, st)
        if draw(probe) != obs[i]:
            misses += 1
            if misses > max_misses:
                return misses
    return misses


@numba.njit(nogil=True, cache=True)
def walk_seed(s, obs, p, base, st, trial, probe, gaps_out, rec_off, rec_gap, rec_fwd, rec_gaps):
    """``walk_seed_strategy`` without the strategy record (``cpu_scan``'s exact count of a seed
    its prefilter flagged)."""
    best_gaps = np.empty(gaps_out.shape[0], np.int64)
    return walk_seed_strategy(s, obs, p, base, st, trial, probe, gaps_out, best_gaps, rec_off,
                              rec_gap, rec_fwd, rec_gaps, rec_off[:0])


@numba.njit(nogil=True, cache=True)
def walk_seed_strategy(s, obs, p, base, st, trial, probe, gaps_out, best_gaps, rec_off, rec_gap,
                       rec_fwd, rec_gaps, rec_strat):
    """Candidates of one seed that survive; records them when rec_off has room (and each
    variable-gap survivor's strategy index when rec_strat has)."""
    off_start, off_stop, gap_min, gap_max, variable, max_misses = (
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
    )
    seed_fn(U64(s), base)
    for _ in range(off_start):
        nxt(base)
    n = 0
    for off in range(off_start, off_stop):
        if variable:
            m, k = best_strategy(st, base, obs, p, trial, probe, gaps_out, best_gaps)
            if k >= 0:
                if n < rec_off.shape[0]:
                    rec_off[n] = off
                    rec_gap[n] = -1
                    rec_fwd[n] = obs.shape[0] - m
                    for j in range(best_gaps.shape[0]):
                        rec_gaps[n, j] = best_gaps[j]
                if n < rec_strat.shape[0]:
                    rec_strat[n] = k
                n += 1
        else:
            for gap in range(gap_min, gap_max + 1):
                copy_into(st, base)
                m = const_misses(st, obs, 0, gap, max_misses)
                if m <= max_misses:
                    if n < rec_off.shape[0]:
                        rec_off[n] = off
                        rec_gap[n] = gap
                        rec_fwd[n] = obs.shape[0] - m
                    n += 1
        nxt(base)
    return n


@numba.njit(nogil=True, cache=True)
def walk_state(w, obs, p, base, st, probe, rec_gap, rec_fwd, rec_rev):
    gap_min, gap_max, max_misses, anchor = p[2], p[3], p[5], p[6]
    unpack(U64(w), base)
    n = 0
    for gap in range(gap_min, gap_max + 1):
        copy_into(st, base)
        fwd = const_misses(st, obs, anchor, gap, max_misses)
        if fwd > max_misses:
            continue
        rev = reverse_misses(base, obs, anchor, gap, max_misses - fwd, st, probe)
        if fwd + rev <= max_misses:
            if n < rec_gap.shape[0]:
                rec_gap[n] = gap
                rec_fwd[n] = obs.shape[0] - anchor - fwd
                rec_rev[n] = anchor - rev
            n += 1
    return n


@numba.njit(parallel=True, nogil=True, cache=True)
def count_seeds(start, count, obs, p, counts, n_blocks):
    n_gaps = max(obs.shape[0] - 1, 0)
    for b in prange(n_blocks):
        j_lo = (count * b) // n_blocks
        j_hi = (count * (b + 1)) // n_blocks
        base = np.empty(SIZE, dtype=np.uint64)
        st = np.empty(SIZE, dtype=np.uint64)
        trial = np.empty(SIZE, dtype=np.uint64)
        probe = np.empty(SIZE, dtype=np.uint64)
        gaps_out = np.zeros(n_gaps, dtype=np.int64)
        best_gaps = np.zeros(n_gaps, dtype=np.int64)
        e0 = np.empty(0, dtype=np.int64)
        e2 = np.empty((0, n_gaps), dtype=np.int64)
        for j in range(j_lo, j_hi):
            counts[j] = walk_seed_strategy(
                start + U64(j), obs, p, base, st, trial, probe, gaps_out, best_gaps, e0, e0, e0,
                e2, e0
            )


@numba.njit(parallel=True, nogil=True, cache=True)
def count_states(start, count, obs, p, counts, n_blocks):
    for b in prange(n_blocks):
        j_lo = (count * b) // n_blocks
        j_hi = (count * (b + 1)) // n_blocks
        base = np.empty(SIZE, dtype=np.uint64)
        st = np.empty(SIZE, dtype=np.uint64)
        probe = np.empty(SIZE, dtype=np.uint64)
        e0 = np.empty(0, dtype=np.int64)
        for j in range(j_lo, j_hi):
            counts[j] = walk_state(start + U64(j), obs, p, base, st, probe, e0, e0, e0)
