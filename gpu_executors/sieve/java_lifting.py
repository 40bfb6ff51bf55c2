"""Recover a 48-bit Java seed from ``nextInt(bound)`` draws without a flat 2^48 scan.

``java.util.Random`` is an LCG modulo 2^48 whose ``nextInt(bound)`` sees ``r = state >> 17``
(31 bits) of the state *after* each step. Three routes, picked automatically by estimated cost:

- **lifting** (bound not a power of two, ``bound = 2^k * odd``): ``r % bound`` keeps ``r``'s low
  ``k`` bits, i.e. state bits ``17 .. 17+k-1``, and the low ``17+k`` bits of an LCG modulo 2^48
  evolve on their own. Stage 1 enumerates the 2^17 unknown low bits of the first draw's state
  (its bits 17.. are known from draw 0) and keeps the patterns consistent with every draw's low
  ``k`` bits. Stage 2 completes each survivor: draw 0 fixes ``r0 = draw0 + j*bound``, so only
  ``2^31/bound`` top halves exist per survivor; a parallel numba kernel checks them with early
  exit. With ``k = 0`` (odd bounds) stage 1 keeps all 2^17 patterns and the route degenerates to
  ``2^48/bound`` checks, which is still cheap for large odd bounds.
- **lattice** (bound = 2^b): each draw is the top ``b`` bits of the state; the unknown low bits
  satisfy ``x_i = a_i*x_0 + d_i mod 2^48`` with all ``x_i`` in ``[0, 2^(48-b))``, the classic
  truncated-LCG lattice. Exact integer LLL, then Fincke-Pohst enumeration of every lattice point
  in the ball around the box centre, so *all* solutions in the box are listed, not just Babai's.
- **flat**: ``cpu_scan`` over a user-given seed range (unsupported bound, too few draws, or a
  range smaller than the smart route's cost).

Rejection: the smart routes model every draw as one word. ``nextInt`` re-draws when
``r >= 2^31 - 2^31 % bound``; a true seed whose draws hit a rejection is therefore *not* found
(probability ``n * (2^31 % bound) / 2^31``, e.g. 2e-6 for 8 draws of 1000). Every reported seed
is re-checked with the real drawer (``generate_draws``), so a reported seed always reproduces the
draws. Power-of-two bounds never reject.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.spec import ScanResult, ScanSpec, survivors_frame

Progress = Callable[[int, int, int], None]  # (candidates done, candidates total, survivors)

STATE_BITS = 48
MODULUS = 1 << STATE_BITS
MASK48 = MODULUS - 1
MULT = 0x5DEECE66D
INC = 0xB
LOW = 17  # state bits below next(31)
WORD31 = 1 << 31
GENERATORS = ("java_random", "java_lcg")

MAX_SMART_CHECKS = 1 << 35  # ~30 s on 2 cores; beyond that ask for a range
MAX_EXPECTED_SURVIVORS = 100_000  # chance matches over 2^48: more means too few draws
MAX_LATTICE_DIM = 32  # integer LLL stays under ~1 s
MAX_LATTICE_POINTS = 1 << 16  # expected lattice points in the enumeration ball
LATTICE_NODE_BUDGET = 1 << 22  # hard stop for the enumeration tree
STAGE2_BLOCK = 1 << 16  # candidates per parallel work item
STAGE2_CHUNK_BLOCKS = 1 << 11  # work items between progress calls (2^27 candidates)

U64 = np.uint64
_M48 = U64(MASK48)
_LOW = U64(LOW)


class _TooCostly(Exception):
    """The smart route turned out costlier than allowed (raised before the expensive part)."""


def lcg_jump(n: int) -> tuple[int, int]:
    """``(A_n, C_n)`` with ``state_{t+n} = A_n*state_t + C_n mod 2^48``.

    ``C_n = c*(a^n - 1)/(a - 1)``: ``a^n`` is taken modulo ``(a-1)*2^48`` (square-and-multiply)
    so the division by the even ``a - 1`` is exact and the quotient is right modulo 2^48.
    """
    if n < 0:
        raise ValueError(f"jump length {n} must be >= 0")
    geo = (pow(MULT, n, (MULT - 1) * MODULUS) - 1) // (MULT - 1)
    return pow(MULT, n, MODULUS), (INC * geo) & MASK48


def _user_seed_to_state(seed: int, generator: str) -> int:
    return (seed ^ MULT) & MASK48 if generator == "java_random" else seed & MASK48


def _states_to_seeds(first: np.ndarray, offset: int, generator: str) -> np.ndarray:
    """Map states after draw 0's step back to the seeds the user passed (uint64 wraps mod 2^64,
    a multiple of 2^48, so the modular arithmetic stays exact)."""
    a_n, c_n = lcg_jump(offset + 1)
    a_inv = U64(pow(a_n, -1, MODULUS))
    s0 = (((first + U64((MODULUS - c_n) & MASK48)) & _M48) * a_inv) & _M48
    if generator == "java_random":
        s0 = s0 ^ U64(MULT)
    return s0


# --- lifting kernels (module level so cache=True works)


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
    t1 = (t0 * jm + jc) & _M48  # draw 1's state, advanced by an addition per candidate
    step1 = (step * jm) & _M48
    c = 0
    for _ in range(j0, j1):
        t = t1
        ok = True
        for i in range(1, vals.shape[0]):
            if i > 1:
                t = (t * jm + jc) & _M48
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
        t1 = (t1 + step1) & _M48
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


# --- plans


@dataclass(frozen=True)
class _Plan:
    route: str  # "lifting" or "lattice"
    cost: float  # estimated candidate checks
    detail: str


def _split_pow2(bound: int) -> tuple[int, int]:
    k = (bound & -bound).bit_length() - 1
    return k, bound >> k


def _lattice_log2_points(n: int, b: int) -> float:
    """log2 of the expected lattice points in the enumeration ball (Gaussian heuristic)."""
    radius = math.sqrt(n) * 2.0 ** (STATE_BITS - b - 1)
    log2_ball = (n / 2) * math.log2(math.pi) - math.lgamma(n / 2 + 1) / math.log(2)
    return log2_ball + n * math.log2(radius) - STATE_BITS * (n - 1)


def _lattice_dim(n_draws: int, b: int) -> tuple[int, float]:
    """Lattice dimension (draws used) with the fewest expected points; the rest only verify."""
    best = (1, float(1 << (STATE_BITS - b)))
    for n in range(2, min(n_draws, MAX_LATTICE_DIM) + 1):
        pts = 2.0 ** _lattice_log2_points(n, b) + 1.0
        if pts < best[1] * 0.9:  # prefer the smaller (faster) lattice unless clearly better
            best = (n, pts)
    return best


def _plan(n_draws: int, bound: int) -> _Plan | None:
    """The smart route and its estimated cost, or None when the bound has no smart route."""
    k, odd = _split_pow2(bound)
    if odd == 1:
        if k == 0:
            return None
        n, pts = _lattice_dim(n_draws, k)
        if pts > MAX_LATTICE_POINTS:
            return _Plan("lattice", math.inf, f"{n}-dim lattice with ~{pts:.3g} points")
        # A Python lattice point costs about as much as ~10^4 compiled flat checks.
        return _Plan("lattice", 1e6 + 1e4 * pts, f"{n}-dim lattice, ~{pts:.0f} points")
    n_r = WORD31 // bound
    s1 = 1.0 + 2.0 ** (LOW - k * (n_draws - 1))
    cost = (1 << LOW) + s1 * n_r
    return _Plan("lifting", cost, f"2^17 + ~{s1:.0f} x {n_r}")


def _unsupported_message(bound: int, n_draws: int, why: str) -> str:
    return (
        f"nextint:{bound} with {n_draws} draws: {why}. The smart route handles bounds that are "
        "not powers of two by low-bit lifting (cost ~2^17 + survivors x 2^31/bound, so even "
        "bounds, or odd bounds >= ~8192), power-of-two bounds >= 2 by a lattice when the draws "
        f"carry enough bits (n*log2(bound) > ~{STATE_BITS + 4}), and needs enough draws that "
        f"fewer than {MAX_EXPECTED_SURVIVORS} seeds match by chance. Give more draws or "
        "seed_range=(start, stop) for a flat scan of that range."
    )


# --- routes


def _lift(
    vals: np.ndarray, bound: int, gap: int, progress: Progress | None
) -> tuple[np.ndarray, int, str, dict, bool]:
    """States after draw 0's step that reproduce the draws under the no-rejection model."""
    k, odd = _split_pow2(bound)
    n = vals.shape[0]
    jm_i, jc_i = lcg_jump(gap + 1)
    t_start = time.perf_counter()
    if k == 0:
        lows = np.arange(1 << LOW, dtype=np.uint64)
    else:
        lmask = (1 << (LOW + k)) - 1
        kmask = (1 << k) - 1
        top0 = U64((int(vals[0]) & kmask) << LOW)
        buf = np.empty(1 << LOW, dtype=np.uint64)
        low_vals = (vals & U64(kmask)).astype(np.uint64)
        m = _stage1(
            top0, low_vals, U64(lmask), U64(kmask), U64(jm_i & lmask), U64(jc_i & lmask), buf
        )
        lows = buf[:m].copy()
    t_stage1 = time.perf_counter() - t_start
    n_r = WORD31 // bound  # r0 = vals[0] + j*bound < limit for j < n_r
    limit = U64(n_r * bound)
    total = (1 << LOW) + lows.shape[0] * n_r
    if total > MAX_SMART_CHECKS:
        raise _TooCostly(f"stage 1 left {lows.shape[0]} low patterns: {total:.3g} checks")
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


def _lll(
    basis: list[list[int]], num: int = 99, den: int = 100
) -> tuple[list[list[int]], list[int], list[list[int]]]:
    """Integral LLL (Cohen, Algorithm 2.6.7), exact in Python integers, delta = num/den.

    Returns the reduced basis, ``d`` (``d[i+1]/d[i] = |b*_i|^2``) and ``lam``
    (``lam[i][j] = d[j+1] * mu_ij``).
    """
    b = [list(r) for r in basis]
    n = len(b)
    d = [1] + [0] * n
    lam = [[0] * n for _ in range(n)]

    def dot(u: list[int], v: list[int]) -> int:
        return sum(x * y for x, y in zip(u, v, strict=True))

    def red(k: int, j: int) -> None:
        dj = d[j + 1]
        if 2 * abs(lam[k][j]) > dj:
            q = (2 * lam[k][j] + dj) // (2 * dj)
            bk, bj = b[k], b[j]
            for i in range(len(bk)):
                bk[i] -= q * bj[i]
            lam[k][j] -= q * dj
            for i in range(j):
                lam[k][i] -= q * lam[j][i]

    d[1] = dot(b[0], b[0])
    k, kmax = 1, 0
    while k < n:
        if k > kmax:
            kmax = k
            for j in range(k + 1):
                u = dot(b[k], b[j])
                for i in range(j):
                    u = (d[i + 1] * u - lam[k][i] * lam[j][i]) // d[i]
                if j < k:
                    lam[k][j] = u
                else:
                    d[k + 1] = u
        red(k, k - 1)
        if den * d[k + 1] * d[k - 1] < num * d[k] ** 2 - den * lam[k][k - 1] ** 2:
            b[k], b[k - 1] = b[k - 1], b[k]
            for j in range(k - 1):
                lam[k][j], lam[k - 1][j] = lam[k - 1][j], lam[k][j]
            lm = lam[k][k - 1]
            big = (d[k - 1] * d[k + 1] + lm * lm) // d[k]
            for i in range(k + 1, kmax + 1):
                t = lam[i][k]
                lam[i][k] = (d[k + 1] * lam[i][k - 1] - lm * t) // d[k]
                lam[i][k - 1] = (big * t + lm * lam[i][k]) // d[k + 1]
            d[k] = big
            k = max(1, k - 1)
        else:
            for j in range(k - 2, -1, -1):
                red(k, j)
            k += 1
    return b, d, lam


def _lattice(vals: np.ndarray, bound: int, gap: int, n_lat: int) -> tuple[list[int], int, dict]:
    """Every state after draw 0's step whose top b bits match the first ``n_lat`` draws."""
    t_start = time.perf_counter()
    b_bits = bound.bit_length() - 1
    width = 1 << (STATE_BITS - b_bits)  # the box: unknown low bits x_i in [0, width)
    jumps = [lcg_jump(i * (gap + 1)) for i in range(n_lat)]
    h = [int(v) for v in vals[:n_lat]]
    # x_i = a_i x_0 + d_i mod 2^48 with t_i = h_i * width + x_i.
    dvec = [(a * h[0] * width + c - h[i] * width) & MASK48 for i, (a, c) in enumerate(jumps)]
    dvec[0] = 0
    basis = [[a for a, _ in jumps]] + [
        [MODULUS if j == i else 0 for j in range(n_lat)] for i in range(1, n_lat)
    ]
    red, d, lam = _lll(basis)
    t_lll = time.perf_counter() - t_start
    # Gram-Schmidt coordinates of the target y = centre - d (exact, then to float).
    y = [width // 2 - dv for dv in dvec]
    lam_y = [0] * n_lat
    for j in range(n_lat):
        u = sum(p * q for p, q in zip(y, red[j], strict=True))
        for i in range(j):
            u = (d[i + 1] * u - lam_y[i] * lam[j][i]) // d[i]
        lam_y[j] = u
    g = [lam_y[j] / d[j + 1] for j in range(n_lat)]
    bn = [d[j + 1] / d[j] for j in range(n_lat)]
    mu = [[lam[i][j] / d[j + 1] for j in range(n_lat)] for i in range(n_lat)]
    r2 = n_lat * float(width // 2) ** 2 * (1 + 1e-9) + 1.0
    coeffs = [0] * n_lat
    states: list[int] = []
    nodes = 0
    leaves = 0

    def leaf() -> None:
        v = [sum(coeffs[i] * red[i][col] for i in range(n_lat)) for col in range(n_lat)]
        x = [vi + dv for vi, dv in zip(v, dvec, strict=True)]
        if all(0 <= xi < width for xi in x):
            states.append(h[0] * width + x[0])

    def walk(j: int, dist: float) -> None:
        nonlocal nodes, leaves
        centre = g[j] - sum(coeffs[i] * mu[i][j] for i in range(j + 1, n_lat))
        rad2 = (r2 - dist) / bn[j]
        if rad2 < 0:
            return
        rad = math.sqrt(rad2)
        for cj in range(math.ceil(centre - rad), math.floor(centre + rad) + 1):
            nodes += 1
            if nodes > LATTICE_NODE_BUDGET:
                raise _TooCostly(f"lattice enumeration exceeded {LATTICE_NODE_BUDGET} nodes")
            coeffs[j] = cj
            step = dist + (cj - centre) ** 2 * bn[j]
            if j == 0:
                leaves += 1
                leaf()
            else:
                walk(j - 1, step)
        coeffs[j] = 0

    walk(n_lat - 1, 0.0)
    extra = {
        "lattice_dim": n_lat,
        "lattice_nodes": nodes,
        "stage1_survivors": len(states),
        "seconds_lll": t_lll,
        "seconds_enumeration": time.perf_counter() - t_start - t_lll,
        "rejection_miss_probability": 0.0,
    }
    return states, leaves, extra


def _flat(spec: ScanSpec, progress: Progress | None, why: str, t_start: float) -> ScanResult:
    res = cpu_scan(spec, progress=progress)
    res.backend = f"{res.backend} flat"
    res.seconds = time.perf_counter() - t_start
    res.extra = {**res.extra, "route": "flat", "stage1_survivors": None, "why": why}
    return res


def _validated(
    draws: Sequence[int], bound: int, generator: str, offset: int, gap: int
) -> np.ndarray:
    if generator not in GENERATORS:
        raise ValueError(f"generator {generator!r}: the Java route handles {GENERATORS}")
    if not 1 <= bound < WORD31:
        raise ValueError(f"bound {bound} must be in [1, 2^31)")
    if offset < 0 or gap < 0:
        raise ValueError(f"offset {offset} and gap {gap} must be >= 0")
    if len(draws) == 0:
        raise ValueError("no draws given")
    for i, v in enumerate(draws):
        if not 0 <= int(v) < bound:
            raise ValueError(f"draw #{i} = {v} is outside nextint:{bound}'s range [0, {bound})")
    return np.asarray([int(v) for v in draws], dtype=np.uint64)


def recover_java_seeds(
    draws: Sequence[int],
    bound: int,
    *,
    generator: str = "java_random",
    offset: int = 0,
    gap: int = 0,
    seed_range: tuple[int, int] | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Every 48-bit seed whose ``nextInt(bound)`` draws (constant offset/gap) match exactly.

    Seeds are what the user passed: ``new Random(seed)``'s 48 low bits for ``java_random``, the
    raw state for ``java_lcg``. The smart routes are exhaustive over 2^48 except for seeds whose
    draws hit ``nextInt``'s rejection (see the module docstring); with ``seed_range`` their
    survivors are restricted to it, and a flat scan is used instead when the range is cheaper
    or the bound has no smart route. ``null_expected`` is for the space searched.
    """
    t_start = time.perf_counter()
    vals = _validated(draws, bound, generator, offset, gap)
    n = int(vals.shape[0])
    lo, hi = seed_range if seed_range is not None else (0, MODULUS)
    spec = ScanSpec(
        generator=generator,
        draw=f"nextint:{bound}",
        draws=tuple(int(v) for v in vals),
        seed_start=lo,
        seed_stop=hi,
        offset_start=offset,
        offset_stop=offset + 1,
        gap_min=gap,
        gap_max=gap,
    )
    spec.validate()
    plan = _plan(n, bound)
    full_null = spec.null_expected() * MODULUS / spec.n_seeds
    why = ""
    if plan is None:
        why = "no smart route for this bound"
    elif full_null > MAX_EXPECTED_SURVIVORS:
        why = f"too few draws: ~{full_null:.3g} seeds of 2^48 match by chance"
        plan = None
    elif plan.cost > MAX_SMART_CHECKS:
        why = f"the smart route would be too costly ({plan.detail})"
        plan = None
    if seed_range is not None and (plan is None or plan.cost >= spec.n_seeds):
        return _flat(spec, progress, why or f"range cheaper than {plan.detail}", t_start)
    if plan is None:
        raise ValueError(_unsupported_message(bound, n, why))

    complete = True
    try:
        if plan.route == "lifting":
            states, scanned, backend, extra, complete = _lift(vals, bound, gap, progress)
        else:
            n_lat, _ = _lattice_dim(n, bound.bit_length() - 1)
            found, scanned, extra = _lattice(vals, bound, gap, n_lat)
            states = np.asarray(found, dtype=np.uint64)
            backend = f"cpu lattice ({n_lat}-dim LLL + enumeration, {scanned} points)"
    except _TooCostly as exc:
        if seed_range is not None:
            return _flat(spec, progress, str(exc), t_start)
        raise ValueError(_unsupported_message(bound, n, str(exc))) from None

    seeds = np.unique(_states_to_seeds(states, offset, generator))
    seeds = seeds[(seeds >= U64(lo)) & (seeds < U64(hi))]
    gen, draw_spec, obs = get_generator(generator), parse_draw(spec.draw), spec.observed()
    ok = [
        int(s)
        for s in seeds
        if np.array_equal(generate_draws(gen, draw_spec, int(s), n, offset, gap), obs)
    ]
    cols = {
        "seed": np.asarray(ok, dtype=np.uint64),
        "offset": np.full(len(ok), offset, dtype=np.int64),
        "gap": np.full(len(ok), gap, dtype=np.int64),
        "forward_matches": np.full(len(ok), n, dtype=np.int64),
        "reverse_matches": np.zeros(len(ok), dtype=np.int64),
    }
    if progress is not None:
        progress(scanned, scanned, len(ok))
    return ScanResult(
        spec,
        survivors_frame(spec, cols),
        scanned,
        time.perf_counter() - t_start,
        f"{backend}, {numba.get_num_threads()} threads" if plan.route == "lifting" else backend,
        spec.null_expected(),
        complete=complete,
        extra={
            "route": plan.route,
            **extra,
            "failed_verification": int(seeds.shape[0]) - len(ok),
            "exhaustive": "all 2^48 seeds except those whose draws hit nextInt's rejection",
        },
    )
