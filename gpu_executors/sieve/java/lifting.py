"""The lifting route (bound not a power of two): low-bit lifting, then a parallel completion.

``bound = 2^k * odd``: ``r % bound`` keeps ``r``'s low ``k`` bits, and the low ``17 + k`` bits of
the LCG evolve on their own. Stage 1 keeps the 2^17 low patterns of draw 0's state consistent
with every draw's low ``k`` bits; stage 2 completes each with the ``2^31/bound`` top halves draw 0
allows, checked by numba kernels (module level, so ``cache=True`` works) with early exit.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
from numba import prange

from gpu_executors.sieve.java.lcg import (
    LOW,
    M48,
    MAX_SMART_CHECKS,
    U64,
    WORD31,
    TooCostly,
    lcg_jump,
    split_pow2,
)
from gpu_executors.sieve.spec import Progress

STAGE2_BLOCK = 1 << 16  # candidates per parallel work item
STAGE2_CHUNK_BLOCKS = 1 << 11  # work items between progress calls (2^27 candidates)

_LOW = U64(LOW)


@numba.njit(cache=True, nogil=True)
def _stage1(top0, low_vals, lmask, kmask, jm, jc, out):
    """Low 17-bit patterns of draw 0's state consistent with every draw's low k bits."""
    n = 0
    for low in range(1 << LOW):
        t = top0 | U64(low)
        ok = True
        for i in range(1, low_vals.shape[0]):
            t = (t * jm + jc) & lmask
            if ((t >> _LOW) & kmask) != low_vals[i]:
                ok = False
                break
        if ok:
            out[n] = U64(low)
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _stage2_block(low, j0, j1, vals, bound, limit, k, inv_odd, thr_odd, jm, jc, out, pos):
    """Check ``r0 = vals[0] + j*bound`` for j in [j0, j1) on top of one low pattern.

    ``r % bound == v`` is tested without a division: ``r >= v``, ``(r - v)`` has k trailing zeros
    and ``((r - v) >> k) * odd^-1 mod 2^64 <= (2^64-1)/odd`` (Granlund-Montgomery).
    Writes survivors' states at ``out[pos:]`` when ``out`` is non-empty; returns their count.
    """
    kmask = (U64(1) << k) - U64(1)
    step = bound << _LOW
    t0 = ((vals[0] + U64(j0) * bound) << _LOW) | low
    t1 = (t0 * jm + jc) & M48  # draw 1's state, advanced by an addition per candidate
    step1 = (step * jm) & M48
    c = 0
    for _ in range(j0, j1):
        t = t1
        ok = True
        for i in range(1, vals.shape[0]):
            if i > 1:
                t = (t * jm + jc) & M48
            r = t >> _LOW
            v = vals[i]
            if r >= limit or r < v:
                ok = False
                break
            x = r - v
            if (x & kmask) != U64(0) or (x >> k) * inv_odd > thr_odd:
                ok = False
                break
        if ok:
            if out.shape[0] > 0:
                out[pos + c] = t0
            c += 1
        t0 += step
        t1 = (t1 + step1) & M48
    return c


@numba.njit(parallel=True, cache=True, nogil=True)
def _stage2_count(lows, b0, nb, per_low, n_r, vals, bound, limit, k, inv, thr, jm, jc, counts):
    empty = np.empty(0, dtype=np.uint64)
    for q in prange(nb):
        b = b0 + q
        j0 = (b % per_low) * STAGE2_BLOCK
        j1 = min(j0 + STAGE2_BLOCK, n_r)
        low = lows[b // per_low]
        counts[q] = _stage2_block(low, j0, j1, vals, bound, limit, k, inv, thr, jm, jc, empty, 0)


@numba.njit(parallel=True, cache=True, nogil=True)
def _stage2_collect(
    lows, blocks, starts, per_low, n_r, vals, bound, limit, k, inv, thr, jm, jc, out
):
    for q in prange(blocks.shape[0]):
        b = blocks[q]
        j0 = (b % per_low) * STAGE2_BLOCK
        j1 = min(j0 + STAGE2_BLOCK, n_r)
        low = lows[b // per_low]
        _stage2_block(low, j0, j1, vals, bound, limit, k, inv, thr, jm, jc, out, starts[q])


def consistent_lows(vals: np.ndarray, bound: int, gap: int) -> np.ndarray:
    """Stage 1: draw 0's low 17 state bits consistent with every draw's low ``k`` bits (all
    2^17 for an odd bound)."""
    k, _ = split_pow2(bound)
    if k == 0:
        return np.arange(1 << LOW, dtype=np.uint64)
    jm_i, jc_i = lcg_jump(gap + 1)
    lmask = (1 << (LOW + k)) - 1
    kmask = (1 << k) - 1
    top0 = U64((int(vals[0]) & kmask) << LOW)
    buf = np.empty(1 << LOW, dtype=np.uint64)
    low_vals = (vals & U64(kmask)).astype(np.uint64)
    m = _stage1(top0, low_vals, U64(lmask), U64(kmask), U64(jm_i & lmask), U64(jc_i & lmask), buf)
    return buf[:m].copy()


def lift(
    vals: np.ndarray, bound: int, gap: int, progress: Progress | None
) -> tuple[np.ndarray, int, str, dict, bool]:
    """States after draw 0's step that reproduce the draws under the no-rejection model."""
    k, odd = split_pow2(bound)
    n = vals.shape[0]
    jm_i, jc_i = lcg_jump(gap + 1)
    t_start = time.perf_counter()
    lows = consistent_lows(vals, bound, gap)
    t_stage1 = time.perf_counter() - t_start
    n_r = WORD31 // bound  # r0 = vals[0] + j*bound < limit for j < n_r
    limit = U64(n_r * bound)
    total = (1 << LOW) + lows.shape[0] * n_r
    if total > MAX_SMART_CHECKS:
        raise TooCostly(f"stage 1 left {lows.shape[0]} low patterns: {total:.3g} checks")
    per_low = -(-n_r // STAGE2_BLOCK)
    n_blocks = lows.shape[0] * per_low
    args = (
        per_low,
        n_r,
        vals,
        U64(bound),
        limit,
        U64(k),
        U64(pow(odd, -1, 1 << 64)),
        U64(((1 << 64) - 1) // odd),
        U64(jm_i),
        U64(jc_i),
    )

    def done_before(block: int) -> int:
        """Candidates in the work items before ``block`` (the last one per low may be short)."""
        full, part = divmod(block, per_low)
        return (1 << LOW) + full * n_r + min(part * STAGE2_BLOCK, n_r)

    found: list[np.ndarray] = []
    complete = True
    done_blocks = 0
    try:
        for b0 in range(0, n_blocks, STAGE2_CHUNK_BLOCKS):
            nb = min(STAGE2_CHUNK_BLOCKS, n_blocks - b0)
            counts = np.zeros(nb, dtype=np.int64)
            _stage2_count(lows, b0, nb, *args, counts)
            hit = np.flatnonzero(counts)
            if hit.size:
                starts = np.concatenate(([0], np.cumsum(counts[hit])[:-1])).astype(np.int64)
                out = np.empty(int(counts[hit].sum()), dtype=np.uint64)
                _stage2_collect(lows, (hit + b0).astype(np.int64), starts, *args, out)
                found.append(out)
            done_blocks = b0 + nb
            if progress is not None:
                progress(done_before(done_blocks), total, sum(f.shape[0] for f in found))
    except KeyboardInterrupt:
        complete = False
    scanned = done_before(done_blocks)
    states = np.concatenate(found) if found else np.empty(0, dtype=np.uint64)
    backend = f"cpu lifting (2^17 + {lows.shape[0]} x 2^{math.log2(n_r):.1f})"
    extra = {
        "stage1_survivors": int(lows.shape[0]),
        "lift_bits": k,
        "stage2_per_survivor": n_r,
        "seconds_stage1": t_stage1,
        "seconds_stage2": time.perf_counter() - t_start - t_stage1,
        "rejection_miss_probability": 1.0 - (1.0 - (WORD31 % bound) / WORD31) ** n,
    }
    return states, scanned, backend, extra, complete
