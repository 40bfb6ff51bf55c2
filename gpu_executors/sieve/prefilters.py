"""Fast CPU pre-filters: which seeds may survive, decided from the first few draws only.

The generic executor walks each seed through the full array state, which is correct for every
generator but slow. For exact or near-exact constant-gap seed scans, a filter looks at the first
``max_misses + 2`` draws of every candidate, 256 seeds at a time in flat loops that LLVM
vectorises: single-word generators, MT19937 seeded by ``init_genrand`` (computing only the few
words it needs, as php_mt_seed does) and glibc's additive generator. A filter is conservative:
it may flag a seed that then fails, never miss one that survives: a draw whose first word would
be rejected ends the judgement of that candidate, since later draws would sit at other words.
Flagged seeds are re-walked by the generic executor, which alone decides and records survivors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numba
import numpy as np
from numba import prange

from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.bitgen.glibc import GLIBC_DEG, glibc_fill_next, glibc_seed_word
from gpu_executors.prng.draws import make_word_value, parse_draw
from gpu_executors.sieve.spec import ScanMode, ScanSpec

U64 = np.uint64
M32 = U64(0xFFFFFFFF)
LANES = 256  # seeds per group: measured faster than 64 or 128 for every filter here
MT_LAZY_WORDS = 227  # words 0..226 of MT19937 need no twisted word, only the seeding's words

# Filter signature: (start, count, obs, params, flags, n_blocks) -> None; flags[j] = 1 marks
# seed start + j as a possible survivor. params = [off_start, off_stop, gap_min, gap_max,
# max_misses, n_filter_draws].
Filter = Callable[..., None]


def filter_draws(spec: ScanSpec) -> int:
    """The first draws a filter judges: one more than the misses allowed, so a survivor shows."""
    return min(len(spec.draws), spec.max_misses + 2)


def filter_params(spec: ScanSpec) -> np.ndarray:
    """The filters' ``params`` array (see ``Filter``)."""
    return np.array(
        [
            spec.offset_start,
            spec.offset_stop,
            spec.gap_min,
            spec.gap_max,
            spec.max_misses,
            filter_draws(spec),
        ],
        dtype=np.int64,
    )


def fast_filter(spec: ScanSpec) -> tuple[Filter, str] | None:
    """A pre-filter for this scan and its name, or None when only the generic walk applies."""
    if spec.mode is not ScanMode.SEED or spec.variable_gap:
        return None
    gen = spec.gen
    if gen.step1 is not None:
        return _single_word_filter(gen, spec.draw), "lanes"
    if gen.mt_genrand:
        if spec.last_word(filter_draws(spec)) < MT_LAZY_WORDS:
            return _mt_filter(gen, spec.draw), "mt-lazy"
        return None
    if gen.name == "glibc_rand":
        return _glibc_filter(gen, spec.draw), "glibc-lanes"
    return None


@cache
def _single_word_filter(gen: Generator, draw_text: str) -> Filter:
    """Single-word generators: the state of each of LANES seeds in a flat array."""
    seed1, step1 = gen.seed1, gen.step1
    value = make_word_value(gen, parse_draw(draw_text))

    @numba.njit(parallel=True, nogil=True)
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

    def run(start, count, obs, p, flags, n_blocks):
        n_groups = (count + LANES - 1) // LANES
        single_word(start, count, obs, p, flags, min(n_blocks, n_groups))

    return run


@numba.njit(nogil=True)
def _lane_verdicts(words, krow, obs, p, value, flags, base, n):  # pragma: no cover - compiled
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


def _needed_words(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The word indices the filter reads (sorted), and each index's row among them."""
    off_start, off_stop, gap_min, gap_max, _mm, f = (int(x) for x in p)
    ks = np.array(
        sorted(
            {
                off + i * (gap + 1)
                for off in range(off_start, off_stop)
                for gap in range(gap_min, gap_max + 1)
                for i in range(f)
            }
        ),
        dtype=np.int64,
    )
    krow = np.full(int(ks.max()) + 1, -1, np.int64)
    krow[ks] = np.arange(ks.size)
    return ks, krow


@cache
def _mt_filter(gen: Generator, draw_text: str) -> Filter:
    value = make_word_value(gen, parse_draw(draw_text))
    legacy = gen.mt_legacy_twist

    @numba.njit(parallel=True, nogil=True)
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
                        low = (u if legacy else v) & U64(1)
                        w = rec[r2, j] ^ (y >> U64(1)) ^ (U64(0x9908B0DF) * low)
                        w ^= w >> U64(11)
                        w ^= (w << U64(7)) & U64(0x9D2C5680)
                        w ^= (w << U64(15)) & U64(0xEFC60000)
                        w ^= w >> U64(18)
                        words[r, j] = w
                _lane_verdicts(
                    words, krow, obs, p, value, flags, g * LANES, min(LANES, count - g * LANES)
                )

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        need = sorted({int(k) + d for k in ks for d in (0, 1, 397)})
        slots = np.full(need[-1] + 1, -1, np.int64)
        slots[need] = np.arange(len(need))
        n_groups = (count + LANES - 1) // LANES
        mt_lanes(start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow, slots, len(need))

    return run


@cache
def _glibc_filter(gen: Generator, draw_text: str) -> Filter:
    value = make_word_value(gen, parse_draw(draw_text))
    deg = GLIBC_DEG

    @numba.njit(parallel=True, nogil=True)
    def glibc_lanes(start, count, obs, p, flags, n_blocks, ks, krow):
        n_groups = (count + LANES - 1) // LANES
        last = ks[-1] + 344
        for b in prange(n_blocks):
            g_lo = (n_groups * b) // n_blocks
            g_hi = (n_groups * (b + 1)) // n_blocks
            ring = np.empty((deg, LANES), np.uint64)
            words = np.empty((ks.shape[0], LANES), np.uint64)
            for g in range(g_lo, g_hi):
                first = start + U64(g * LANES)
                # srand: a signed Park-Miller fill (see bitgen.glibc.glibc_fill_next), lane-wise
                for j in range(LANES):
                    w = glibc_seed_word(first + U64(j))
                    ring[0, j] = U64(np.uint32(w))
                    ring[1, j] = glibc_fill_next(w)
                for i in range(2, deg):
                    for j in range(LANES):
                        ring[i, j] = glibc_fill_next(np.int64(ring[i - 1, j]))
                # r[i] = r[i-31] (i = 31..33), r[i] = r[i-31] + r[i-3] (i >= 34);
                # word k = r[k + 344] >> 1. The ring slot i % 31 holds r[i - 31].
                row = 0
                for i in range(deg, last + 1):
                    slot = i % deg
                    if i >= 34:
                        prev3 = (i - 3) % deg
                        for j in range(LANES):
                            ring[slot, j] = (ring[slot, j] + ring[prev3, j]) & M32
                    if i >= 344 and row < ks.shape[0] and i - 344 == ks[row]:
                        for j in range(LANES):
                            words[row, j] = ring[slot, j] >> U64(1)
                        row += 1
                _lane_verdicts(
                    words, krow, obs, p, value, flags, g * LANES, min(LANES, count - g * LANES)
                )

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        n_groups = (count + LANES - 1) // LANES
        glibc_lanes(start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow)

    return run
