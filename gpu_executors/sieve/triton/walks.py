"""Device side of the scan modes: the walks of one candidate per lane, as ``sieve.walkers`` does.

Each walk takes the lanes' states and miss counts and returns (misses, unsure): a lane is unsure
once a rejection draw kept rejecting past ``RETRIES`` words (see ``kernels``), after which its
draws count as potential matches. Walks stop early once every lane has failed.

- ``const_walk``: draws ``start..n_draws-1`` with a constant gap (seed scans; the forward half
  of a state scan from the anchor);
- ``reverse_walk``: draws ``anchor-1..0`` stepping back with the inverse step (state scans);
- ``strategy_walk``: variable gaps by one (max consecutive misses, tolerance) strategy, as
  ``walkers.variable_misses`` walks it (``strategies``; greedy is tolerance and limit -1). The
  kernels run it once per strategy of the scan and flag a candidate any strategy passes: which
  one the CPU keeps (fewest misses, ties to the stricter) is the CPU re-walk's to record.

The ``mt_*`` walks are the same over lazy MT19937's precomputed words, where a lane's state is
its position in the scratch rows (``kernels.mt_kernel``).
"""

from __future__ import annotations

from typing import Any

from gpu_executors.sieve.triton.device import back, draw_step, mt_draw, skip, step4
from gpu_executors.sieve.triton.lazy import jit_later

tl: Any = None  # triton.language, bound by lazy.jit_marked()


@jit_later
def const_walk(
    s0,
    s1,
    s2,
    s3,
    misses,
    obs_ptr,
    start,
    n_draws,
    gap,
    max_misses,
    p0,
    p1,
    p2,
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
):
    """Draws ``start..n_draws-1`` from the state, ``gap`` words discarded between two draws."""
    unsure = misses < 0  # all False
    i = start
    while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
        want = tl.load(obs_ptr + i)
        live = (misses <= max_misses) & ~unsure
        s0, s1, s2, s3, v, u = draw_step(
            s0, s1, s2, s3, live, p0, p1, p2, STEP, DRAW, SHIFT, WORD32, REJECT, NO_WORD, RETRIES
        )
        unsure = unsure | u
        misses += ((v != want) & ~unsure).to(tl.int32)
        s0, s1, s2, s3 = skip(s0, s1, s2, s3, gap, STEP)
        i += 1
    return misses, unsure


@jit_later
def reverse_walk(
    st,
    misses,
    unsure,
    obs_ptr,
    anchor,
    gap,
    max_misses,
    p0,
    p1,
    p2,
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
):
    """Draws ``anchor-1..0`` before the anchor state ``st`` (one word: state scans unpack one
    word): ``gap + 1`` inverse steps back to each draw's state, then the draw forward from a
    copy (``walkers.reverse_misses``)."""
    z = st & 0
    i = anchor - 1
    while (i >= 0) & (tl.min(misses, axis=0) <= max_misses):
        for _ in range(gap + 1):
            st = back(st, STEP)
        want = tl.load(obs_ptr + i)
        live = (misses <= max_misses) & ~unsure
        _a, _b, _c, _d, v, u = draw_step(
            st, z, z, z, live, p0, p1, p2, STEP, DRAW, SHIFT, WORD32, REJECT, NO_WORD, RETRIES
        )
        unsure = unsure | u
        misses += ((v != want) & ~unsure).to(tl.int32)
        i -= 1
    return misses, unsure


@jit_later
def strategy_walk(
    s0,
    s1,
    s2,
    s3,
    misses,
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
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
):
    """One variable-gap strategy, ``walkers.variable_misses``'s rule, lane by lane.

    Each lane has its own window of gaps (``tol`` around its last matched gap), so the gaps are
    walked once for all lanes, ascending, each lane drawing only inside its window; the state at
    its miss gap (the expected gap, or ``gap_min``) is kept on the way. A lane past the
    consecutive-miss limit gets ``max_misses + 1``, as on the CPU.
    """
    want = tl.load(obs_ptr)
    s0, s1, s2, s3, v, unsure = draw_step(
        s0,
        s1,
        s2,
        s3,
        misses <= max_misses,
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
    consec = ((v != want) & ~unsure).to(tl.int32)
    misses += consec
    misses = tl.where((max_consec >= 0) & (consec > max_consec), max_misses + 1, misses)
    expected = consec * 0 - 1  # no gap matched yet
    gap_max = gap_min + n_gap - 1
    i = 1
    while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
        want = tl.load(obs_ptr + i)
        live = (misses <= max_misses) & ~unsure
        narrow = (tol >= 0) & (expected >= 0)
        lo = tl.where(narrow, tl.maximum(expected - tol, gap_min), gap_min)
        hi = tl.where(narrow, tl.minimum(expected + tol, gap_max), gap_max)
        at_miss = tl.where(narrow, expected, gap_min)
        t0, t1, t2, t3 = skip(s0, s1, s2, s3, gap_min, STEP)
        found = ~live  # dead and unsure lanes search nothing
        c0, c1, c2, c3 = s0, s1, s2, s3  # the chosen gap's state after its draw
        m0, m1, m2, m3 = s0, s1, s2, s3  # the state at the miss gap, before its draw
        g = gap_min
        while (g <= gap_max) & (tl.min((found | (hi < g)).to(tl.int32), axis=0) == 0):
            here = at_miss == g
            m0 = tl.where(here, t0, m0)
            m1 = tl.where(here, t1, m1)
            m2 = tl.where(here, t2, m2)
            m3 = tl.where(here, t3, m3)
            act = ~found & (lo <= g) & (g <= hi)
            q0, q1, q2, q3, v, u = draw_step(
                t0,
                t1,
                t2,
                t3,
                act,
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
            hit = act & (v == want) & ~u
            unsure = unsure | (act & u)
            c0 = tl.where(hit, q0, c0)
            c1 = tl.where(hit, q1, c1)
            c2 = tl.where(hit, q2, c2)
            c3 = tl.where(hit, q3, c3)
            expected = tl.where(hit, g, expected)
            found = found | hit | (act & u)
            t0, t1, t2, t3, _w = step4(t0, t1, t2, t3, STEP)
            g += 1
        missed = ~found
        misses += missed.to(tl.int32)
        consec = tl.where(missed, consec + 1, 0)
        misses = tl.where((max_consec >= 0) & (consec > max_consec), max_misses + 1, misses)
        # No gap matched: the CPU steps to the miss gap and takes the draw there.
        a0, a1, a2, a3, _v, u = draw_step(
            m0,
            m1,
            m2,
            m3,
            missed & (misses <= max_misses),
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
        unsure = unsure | (missed & u)
        s0 = tl.where(missed, a0, c0)
        s1 = tl.where(missed, a1, c1)
        s2 = tl.where(missed, a2, c2)
        s3 = tl.where(missed, a3, c3)
        i += 1
    return misses, unsure


@jit_later
def mt_const_walk(
    rows,
    pos,
    misses,
    obs_ptr,
    n_draws,
    gap,
    max_misses,
    n_words,
    p0,
    p1,
    p2,
    DRAW: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``const_walk`` over lazy MT words: draws from word ``pos``, ``gap`` words between two."""
    unsure = misses < 0
    i = 0
    while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
        want = tl.load(obs_ptr + i)
        live = (misses <= max_misses) & ~unsure
        pos, v, u = mt_draw(
            rows, pos, live, n_words, p0, p1, p2, DRAW, WORD32, REJECT, NO_WORD, RETRIES, BLOCK
        )
        unsure = unsure | u
        misses += ((v != want) & ~unsure).to(tl.int32)
        pos += gap
        i += 1
    return misses, unsure


@jit_later
def mt_strategy_walk(
    rows,
    pos,
    misses,
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
    DRAW: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``strategy_walk`` over lazy MT words (a lane's state is a word position)."""
    want = tl.load(obs_ptr)
    pos, v, unsure = mt_draw(
        rows,
        pos,
        misses <= max_misses,
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
    consec = ((v != want) & ~unsure).to(tl.int32)
    misses += consec
    misses = tl.where((max_consec >= 0) & (consec > max_consec), max_misses + 1, misses)
    expected = consec * 0 - 1
    gap_max = gap_min + n_gap - 1
    i = 1
    while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
        want = tl.load(obs_ptr + i)
        live = (misses <= max_misses) & ~unsure
        narrow = (tol >= 0) & (expected >= 0)
        lo = tl.where(narrow, tl.maximum(expected - tol, gap_min), gap_min)
        hi = tl.where(narrow, tl.minimum(expected + tol, gap_max), gap_max)
        at_miss = tl.where(narrow, expected, gap_min)
        found = ~live
        chosen = pos
        g = gap_min
        while (g <= gap_max) & (tl.min((found | (hi < g)).to(tl.int32), axis=0) == 0):
            act = ~found & (lo <= g) & (g <= hi)
            probe, v, u = mt_draw(
                rows,
                pos + g,
                act,
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
            hit = act & (v == want) & ~u
            unsure = unsure | (act & u)
            chosen = tl.where(hit, probe, chosen)
            expected = tl.where(hit, g, expected)
            found = found | hit | (act & u)
            g += 1
        missed = ~found
        misses += missed.to(tl.int32)
        consec = tl.where(missed, consec + 1, 0)
        misses = tl.where((max_consec >= 0) & (consec > max_consec), max_misses + 1, misses)
        alt, _v, u = mt_draw(
            rows,
            pos + at_miss,
            missed & (misses <= max_misses),
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
        unsure = unsure | (missed & u)
        pos = tl.where(missed, alt, chosen)
        i += 1
    return misses, unsure
