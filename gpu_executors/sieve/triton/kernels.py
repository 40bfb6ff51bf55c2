"""The two Triton kernels and their one-time build.

``seed_kernel`` runs stepping generators (states of up to four words, ``device.step4``);
``mt_kernel`` runs MT19937 lazily: after
``init_genrand`` the first twist's word ``k < 227`` needs only init words ``k``, ``k + 1`` and
``k + 397``, so a seed's first 227 outputs cost one pass of the init recurrence, not a full twist.

Rejection draws are retried *exactly* (the lane consumes the next word, as the CPU does), so
the count is exact. (Merely counting a rejected draw as a match would not be conservative: every
later draw of the true candidate sits one word further on, so it would then be lost; and
``randint`` rejects up to half its words.) Where exactness cannot be had (a lazy-MT retry runs
past the computed words, or ``RETRIES`` rejections in a row) the lane is marked *unsure*: that
draw and every later one count as potential matches, so the filter never loses a true
candidate; the host's CPU re-walk decides. Flags: 0 fails, 1 passes, 2 passes unsure.

Kernels are compiled once per (generator, draw kind, block) by ``triton.jit`` (constexpr
specialisation; scalar arguments are not specialised) and kept in Triton's on-disk cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from gpu_executors.sieve.triton import lazy
from gpu_executors.sieve.triton.device import (
    load_u32,
    mt_partial,
    mt_temper,
    seed4,
    skip,
    step4,
)
from gpu_executors.sieve.triton.lazy import jit_later
from gpu_executors.sieve.triton.walks import (
    const_walk,
    mt_const_walk,
    mt_strategy_walk,
    reverse_walk,
    strategy_walk,
)

tl: Any = None  # triton.language, bound by lazy.jit_marked()


@dataclass(frozen=True)
class Built:
    """The jitted kernels, and whether they run in Triton's CPU interpreter."""

    interpret: bool
    seed_kernel: Any
    mt_kernel: Any


@cache
def build() -> Built:
    """Jit every device function and kernel once per process (see ``lazy``)."""
    jitted = lazy.jit_marked()
    seed, mt = jitted["seed_kernel"], jitted["mt_kernel"]
    return Built(type(seed).__name__ == "InterpretedFunction", seed, mt)


@jit_later
def best_flag(flag, misses, unsure, max_misses):
    """The better of a lane's flag so far and one strategy's walk: 1 (an exact pass) over 2 (an
    unsure pass) over 0 (failed)."""
    f = tl.where(misses <= max_misses, tl.where(unsure, 2, 1), 0)
    return tl.where((flag == 1) | (f == 1), 1, tl.maximum(flag, f))


@jit_later
def seed_kernel(
    obs_ptr,
    prm_ptr,
    flag_ptr,
    n_seeds,
    n_draws,
    off_start,
    n_off,
    gap_min,
    n_gap,
    max_misses,
    n_strat,
    anchor,
    SEEDING: tl.constexpr,
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
    MODE: tl.constexpr,
    GAPS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Stepping generators (states of up to four words): flag[c, lane] = 0 fail, 1 pass,
    2 unsure (conservative pass).

    MODE "seed": lane = seed, candidate c = (offset, gap) or, with variable gaps, the offset;
    MODE "state": lane = the state before draw ``anchor`` (n_off = 1), candidate c = the gap.
    GAPS "constant", or "variable": each of the ``n_strat`` strategies, (max consecutive misses,
    tolerance) at ``prm_ptr[4 + 2k]``, ``prm_ptr[5 + 2k]`` (``strategies.rule_array``), is
    walked and the candidate flagged by the best (1 if any passes exactly, else 2 if any passes
    unsure); a lane already passing exactly skips the later strategies.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    valid = lane < n_seeds
    base = tl.load(prm_ptr).to(tl.uint64, bitcast=True)
    p0 = tl.load(prm_ptr + 1)
    p1 = tl.load(prm_ptr + 2)
    p2 = tl.load(prm_ptr + 3)
    if MODE == "state":
        s0 = base + lane.to(tl.uint64)  # a one-word state unpacks to itself
        s1 = s0 & 0
        s2 = s1
        s3 = s1
    else:
        s0, s1, s2, s3 = seed4(base + lane.to(tl.uint64), SEEDING)
        s0, s1, s2, s3 = skip(s0, s1, s2, s3, off_start, STEP)
    # Lanes past the batch start dead, so they never hold the program's early exit open.
    fresh = tl.where(valid, 0, max_misses + 1)
    for oi in range(n_off):
        if GAPS == "constant":
            for gi in range(n_gap):
                gap = gap_min + gi
                if MODE == "state":
                    misses, unsure = const_walk(
                        s0,
                        s1,
                        s2,
                        s3,
                        fresh,
                        obs_ptr,
                        anchor,
                        n_draws,
                        gap,
                        max_misses,
                        p0,
                        p1,
                        p2,
                        STEP,
                        DRAW,
                        SHIFT,
                        WORD32,
                        REJECT,
                        NO_WORD,
                        RETRIES,
                    )
                    misses, unsure = reverse_walk(
                        s0,
                        misses,
                        unsure,
                        obs_ptr,
                        anchor,
                        gap,
                        max_misses,
                        p0,
                        p1,
                        p2,
                        STEP,
                        DRAW,
                        SHIFT,
                        WORD32,
                        REJECT,
                        NO_WORD,
                        RETRIES,
                    )
                else:
                    misses, unsure = const_walk(
                        s0,
                        s1,
                        s2,
                        s3,
                        fresh,
                        obs_ptr,
                        0,
                        n_draws,
                        gap,
                        max_misses,
                        p0,
                        p1,
                        p2,
                        STEP,
                        DRAW,
                        SHIFT,
                        WORD32,
                        REJECT,
                        NO_WORD,
                        RETRIES,
                    )
                flag = tl.where(misses <= max_misses, tl.where(unsure, 2, 1), 0)
                c = oi * n_gap + gi
                tl.store(flag_ptr + c * n_seeds + lane, flag.to(tl.int8), mask=valid)
        else:  # "variable": the best of the scan's strategies
            flag = fresh * 0
            for k in range(n_strat):
                max_consec = tl.load(prm_ptr + 4 + 2 * k).to(tl.int32)
                tol = tl.load(prm_ptr + 5 + 2 * k).to(tl.int32)
                misses, unsure = strategy_walk(
                    s0,
                    s1,
                    s2,
                    s3,
                    tl.where(flag == 1, max_misses + 1, fresh),
                    obs_ptr,
                    n_draws,
                    gap_min,
                    n_gap,
                    max_misses,
                    max_consec,
                    tol,
                    p0,
                    p1,
                    p2,
                    STEP,
                    DRAW,
                    SHIFT,
                    WORD32,
                    REJECT,
                    NO_WORD,
                    RETRIES,
                )
                flag = best_flag(flag, misses, unsure, max_misses)
            tl.store(flag_ptr + oi * n_seeds + lane, flag.to(tl.int8), mask=valid)
        s0, s1, s2, s3, _w = step4(s0, s1, s2, s3, STEP)


@jit_later
def mt_kernel(
    obs_ptr,
    prm_ptr,
    scratch_ptr,
    flag_ptr,
    n_seeds,
    n_draws,
    off_start,
    n_off,
    gap_min,
    n_gap,
    max_misses,
    n_strat,
    n_words,
    LEGACY: tl.constexpr,
    DRAW: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
    GAPS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Lazy MT19937: tempered words 0..n_words-1 of each seed into scratch, then the candidates.

    Scratch holds, per program, ``n_words`` rows of ``BLOCK`` uint32 (row j = word j): first the
    twist's partial from init words j, j+1, then the finished word once init word j+397 is known.
    """
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    lane = pid * BLOCK + cols
    valid = lane < n_seeds
    base = tl.load(prm_ptr).to(tl.uint64, bitcast=True)
    p0 = tl.load(prm_ptr + 1)
    p1 = tl.load(prm_ptr + 2)
    p2 = tl.load(prm_ptr + 3)
    rows = scratch_ptr + pid.to(tl.int64) * n_words * BLOCK + cols
    prev = ((base + lane.to(tl.uint64)) & 0xFFFFFFFF).to(tl.uint32)
    for k in range(1, n_words + 1):
        x = 1812433253 * (prev ^ (prev >> 30)) + k  # init_genrand, wraps mod 2^32
        tl.store(rows + (k - 1) * BLOCK, mt_partial(prev, x, LEGACY).to(tl.uint32))
        prev = x
    for k in range(n_words + 1, 397):
        prev = 1812433253 * (prev ^ (prev >> 30)) + k
    # Each lane reads back only its own column (same layout, same thread), but a CTA barrier
    # makes the scratch visibility explicit rather than an artefact of the layout.
    tl.debug_barrier()
    for j in range(0, n_words):
        prev = 1812433253 * (prev ^ (prev >> 30)) + (397 + j)
        part = load_u32(rows + j * BLOCK, valid)
        tl.store(rows + j * BLOCK, mt_temper(prev.to(tl.uint64) ^ part).to(tl.uint32))
    tl.debug_barrier()

    fresh = tl.where(valid, 0, max_misses + 1)
    for oi in range(n_off):
        if GAPS == "constant":
            for gi in range(n_gap):
                gap = gap_min + gi
                pos = tl.zeros([BLOCK], tl.int32) + (off_start + oi)
                misses, unsure = mt_const_walk(
                    rows,
                    pos,
                    fresh,
                    obs_ptr,
                    n_draws,
                    gap,
                    max_misses,
                    n_words,
                    p0,
                    p1,
                    p2,
                    DRAW,
                    WORD32,
                    REJECT,
                    NO_WORD,
                    RETRIES,
                    BLOCK,
                )
                flag = tl.where(misses <= max_misses, tl.where(unsure, 2, 1), 0)
                c = oi * n_gap + gi
                tl.store(flag_ptr + c * n_seeds + lane, flag.to(tl.int8), mask=valid)
        else:  # "variable": the best of the scan's strategies, as in ``seed_kernel``
            flag = fresh * 0
            for k in range(n_strat):
                max_consec = tl.load(prm_ptr + 4 + 2 * k).to(tl.int32)
                tol = tl.load(prm_ptr + 5 + 2 * k).to(tl.int32)
                pos = tl.zeros([BLOCK], tl.int32) + (off_start + oi)
                misses, unsure = mt_strategy_walk(
                    rows,
                    pos,
                    tl.where(flag == 1, max_misses + 1, fresh),
                    obs_ptr,
                    n_draws,
                    gap_min,
                    n_gap,
                    max_misses,
                    max_consec,
                    tol,
                    n_words,
                    p0,
                    p1,
                    p2,
                    DRAW,
                    WORD32,
                    REJECT,
                    NO_WORD,
                    RETRIES,
                    BLOCK,
                )
                flag = best_flag(flag, misses, unsure, max_misses)
            tl.store(flag_ptr + oi * n_seeds + lane, flag.to(tl.int8), mask=valid)
