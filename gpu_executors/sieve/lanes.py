"""The pre-filters' lane kernels, as a template specialised per (generator, draw function).

Each kernel keeps LANES seeds side by side in flat arrays so LLVM vectorises the generator and
the draw, and flags the seeds whose first draws pass (see ``prefilters``, which picks the kernel
and binds the names below through ``gpu_executors.specialise``, so numba caches each pair's
kernels on disk).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from gpu_executors.prng.bitgen.dotnet import MBIG, MSEED, i32
from gpu_executors.prng.bitgen.glibc import GLIBC_DEG, glibc_fill_next, glibc_seed_word
from gpu_executors.prng.bitgen.go_rand import MASK63, go_seed_start, ring_word
from gpu_executors.specialise import unbound

U64 = np.uint64
M32 = U64(0xFFFFFFFF)
LANES = 256  # seeds per group: measured faster than 64 or 128 for every filter here

# Bound per (generator, draw) by ``specialise``: a single-word generator's scalar seed and step
# (``single_word`` only), the draw's one-word value, and MT19937's legacy-twist flag.
seed1 = step1 = value = unbound
LEGACY = False


@numba.njit(parallel=True, nogil=True, cache=True)
def single_word(start, count, obs, p, flags, n_blocks):
    off_start, off_stop, gap_min, gap_max, max_misses, f = p[0], p[1], p[2], p[3], p[4], p[5]
    n_groups = (count + LANES - 1) // LANES
    for b in prange(n_blocks):
        g_lo = (n_groups * b) // n_blocks
        g_hi = (n_groups * (b + 1)) // n_blocks
        st = np.empty(LANES, np.uint64)
        x = np.empty(LANES, np.uint64)
        misses = np.empty(LANES, np.int64)
        lost = np.empty(LANES, np.bool_)
        hit = np.empty(LANES, np.uint8)
        for g in range(g_lo, g_hi):
            first = start + U64(g * LANES)
            for j in range(LANES):
                st[j] = seed1(first + U64(j))
                hit[j] = 0
            for _ in range(off_start):
                for j in range(LANES):
                    st[j] = step1(st[j])[0]
            for _off in range(off_start, off_stop):
                for gap in range(gap_min, gap_max + 1):
                    for j in range(LANES):
                        x[j] = st[j]
                        misses[j] = 0
                        lost[j] = False
                    for i in range(f):
                        if i > 0:
                            for _ in range(gap):
                                for j in range(LANES):
                                    x[j] = step1(x[j])[0]
                        want = obs[i]
                        for j in range(LANES):
                            s2, w = step1(x[j])
                            x[j] = s2
                            v, certain = value(w)
                            # a rejected word shifts every later draw: stop judging
                            lost[j] = lost[j] or not certain
                            misses[j] += (not lost[j]) and v != want
                    for j in range(LANES):
                        if misses[j] <= max_misses:
                            hit[j] = 1
                for j in range(LANES):
                    st[j] = step1(st[j])[0]
            for j in range(min(LANES, count - g * LANES)):
                flags[g * LANES + j] = hit[j]


@numba.njit(nogil=True, cache=True)
def lane_verdicts(words, krow, obs, p, flags, base, n):
    """Flag each lane whose candidate words pass the first-draws test for some offset/gap."""
    off_start, off_stop, gap_min, gap_max, max_misses, f = p[0], p[1], p[2], p[3], p[4], p[5]
    for j in range(n):
        hit = 0
        for off in range(off_start, off_stop):
            for gap in range(gap_min, gap_max + 1):
                misses = 0
                for i in range(f):
                    v, certain = value(words[krow[off + i * (gap + 1)], j])
                    if not certain:
                        break  # a rejected word shifts every later draw: stop judging
                    if v != obs[i]:
                        misses += 1
                if misses <= max_misses:
                    hit = 1
        flags[base + j] = hit


@numba.njit(parallel=True, nogil=True, cache=True)
def mt_lanes(start, count, obs, p, flags, n_blocks, ks, krow, slots, n_slots):
    n_groups = (count + LANES - 1) // LANES
    top = slots.shape[0]
    for b in prange(n_blocks):
        g_lo = (n_groups * b) // n_blocks
        g_hi = (n_groups * (b + 1)) // n_blocks
        x = np.empty(LANES, np.uint64)
        rec = np.empty((n_slots, LANES), np.uint64)
        words = np.empty((ks.shape[0], LANES), np.uint64)
        for g in range(g_lo, g_hi):
            first = start + U64(g * LANES)
            for j in range(LANES):
                x[j] = (first + U64(j)) & M32
            if slots[0] >= 0:
                rec[slots[0], :] = x
            for i in range(1, top):
                c = U64(i)
                for j in range(LANES):
                    v = x[j]
                    x[j] = (U64(1812433253) * (v ^ (v >> U64(30))) + c) & M32
                if slots[i] >= 0:
                    rec[slots[i], :] = x
            for r in range(ks.shape[0]):
                k = ks[r]
                r0, r1, r2 = slots[k], slots[k + 1], slots[k + 397]
                for j in range(LANES):
                    u = rec[r0, j]
                    v = rec[r1, j]
                    y = (u & U64(0x80000000)) | (v & U64(0x7FFFFFFF))
                    low = (u if LEGACY else v) & U64(1)
                    w = rec[r2, j] ^ (y >> U64(1)) ^ (U64(0x9908B0DF) * low)
                    w ^= w >> U64(11)
                    w ^= (w << U64(7)) & U64(0x9D2C5680)
                    w ^= (w << U64(15)) & U64(0xEFC60000)
                    w ^= w >> U64(18)
                    words[r, j] = w
            lane_verdicts(words, krow, obs, p, flags, g * LANES, min(LANES, count - g * LANES))


@numba.njit(parallel=True, nogil=True, cache=True)
def glibc_lanes(start, count, obs, p, flags, n_blocks, ks, krow):
    n_groups = (count + LANES - 1) // LANES
    last = ks[-1] + 344
    for b in prange(n_blocks):
        g_lo = (n_groups * b) // n_blocks
        g_hi = (n_groups * (b + 1)) // n_blocks
        ring = np.empty((GLIBC_DEG, LANES), np.uint64)
        words = np.empty((ks.shape[0], LANES), np.uint64)
        for g in range(g_lo, g_hi):
            first = start + U64(g * LANES)
            # srand: a signed Park-Miller fill (see bitgen.glibc.glibc_fill_next), lane-wise
            for j in range(LANES):
                w = glibc_seed_word(first + U64(j))
                ring[0, j] = U64(np.uint32(w))
                ring[1, j] = glibc_fill_next(w)
            for i in range(2, GLIBC_DEG):
                for j in range(LANES):
                    ring[i, j] = glibc_fill_next(np.int64(ring[i - 1, j]))
            # r[i] = r[i-31] (i = 31..33), r[i] = r[i-31] + r[i-3] (i >= 34);
            # word k = r[k + 344] >> 1. The ring slot i % 31 holds r[i - 31].
            row = 0
            for i in range(GLIBC_DEG, last + 1):
                slot = i % GLIBC_DEG
                if i >= 34:
                    prev3 = (i - 3) % GLIBC_DEG
                    for j in range(LANES):
                        ring[slot, j] = (ring[slot, j] + ring[prev3, j]) & M32
                if i >= 344 and row < ks.shape[0] and i - 344 == ks[row]:
                    for j in range(LANES):
                        words[row, j] = ring[slot, j] >> U64(1)
                    row += 1
            lane_verdicts(words, krow, obs, p, flags, g * LANES, min(LANES, count - g * LANES))


@numba.njit(parallel=True, nogil=True, cache=True)
def go_lanes(start, count, obs, p, flags, n_blocks, ks, krow, feeds, taps, powers):
    n_groups = (count + LANES - 1) // LANES
    for b in prange(n_blocks):
        g_lo = (n_groups * b) // n_blocks
        g_hi = (n_groups * (b + 1)) // n_blocks
        x0 = np.empty(LANES, np.uint64)
        words = np.empty((ks.shape[0], LANES), np.uint64)
        for g in range(g_lo, g_hi):
            first = start + U64(g * LANES)
            for j in range(LANES):
                x0[j] = go_seed_start(first + U64(j))
            # word k < 273 = ring[333 - k] + ring[606 - k] of the seeded ring (bitgen.go_rand)
            for r in range(ks.shape[0]):
                f, t = feeds[r], taps[r]
                for j in range(LANES):
                    w = ring_word(x0[j], f, powers) + ring_word(x0[j], t, powers)
                    words[r, j] = w & MASK63
            lane_verdicts(words, krow, obs, p, flags, g * LANES, min(LANES, count - g * LANES))


@numba.njit(parallel=True, nogil=True, cache=True)
def dotnet_lanes(start, count, obs, p, flags, n_blocks, ks, krow):
    n_groups = (count + LANES - 1) // LANES
    last = ks[-1]
    for b in prange(n_blocks):
        g_lo = (n_groups * b) // n_blocks
        g_hi = (n_groups * (b + 1)) // n_blocks
        sa = np.empty((56, LANES), np.int64)
        mj = np.empty(LANES, np.int64)
        mk = np.empty(LANES, np.int64)
        words = np.empty((ks.shape[0], LANES), np.uint64)
        for g in range(g_lo, g_hi):
            first = np.int64(start) + g * LANES
            # new Random(seed), lane-wise, in wrapping int arithmetic (bitgen.dotnet)
            for j in range(LANES):
                mj[j] = i32(MSEED - (first + j))
                sa[55, j] = mj[j]
                mk[j] = 1
            for i in range(1, 55):
                ii = (21 * i) % 55
                for j in range(LANES):
                    sa[ii, j] = mk[j]
                    nk = i32(mj[j] - mk[j])
                    nk = i32(nk + (MBIG if nk < 0 else 0))  # a select, so LLVM vectorises
                    mj[j] = mk[j]
                    mk[j] = nk
            for _ in range(4):
                for i in range(1, 56):
                    o = 1 + (i + 30) % 55
                    for j in range(LANES):
                        v = i32(sa[i, j] - sa[o, j])
                        sa[i, j] = i32(v + (MBIG if v < 0 else 0))
            # InternalSample: the indices are the same in every lane
            inext, inextp, row = 0, 21, 0
            for k in range(last + 1):
                inext = 1 if inext == 55 else inext + 1
                inextp = 1 if inextp == 55 else inextp + 1
                for j in range(LANES):
                    ret = i32(sa[inext, j] - sa[inextp, j])
                    ret -= 1 if ret == MBIG else 0
                    sa[inext, j] = i32(ret + (MBIG if ret < 0 else 0))
                if k == ks[row]:
                    for j in range(LANES):
                        words[row, j] = U64(sa[inext, j])
                    row += 1
            lane_verdicts(words, krow, obs, p, flags, g * LANES, min(LANES, count - g * LANES))
