"""The lattice route (bound = 2^b): every state whose top ``b`` bits match the draws.

The unknown low bits satisfy ``x_i = a_i*x_0 + d_i mod 2^48`` with every ``x_i`` in
``[0, 2^(48-b))``, the truncated-LCG lattice: exact integer LLL, then Fincke-Pohst enumeration of
every lattice point in the ball around the box centre, so *all* solutions are listed.
"""

from __future__ import annotations

import math
import time

import numpy as np

from gpu_executors.sieve.java.lcg import MASK48, MODULUS, STATE_BITS, TooCostly, lcg_jump

MAX_LATTICE_DIM = 32  # integer LLL stays under ~1 s
MAX_LATTICE_POINTS = 1 << 16  # expected lattice points in the enumeration ball
LATTICE_NODE_BUDGET = 1 << 22  # hard stop for the enumeration tree


def lattice_log2_points(n: int, b: int) -> float:
    """log2 of the expected lattice points in the enumeration ball (Gaussian heuristic)."""
    radius = math.sqrt(n) * 2.0 ** (STATE_BITS - b - 1)
    log2_ball = (n / 2) * math.log2(math.pi) - math.lgamma(n / 2 + 1) / math.log(2)
    return log2_ball + n * math.log2(radius) - STATE_BITS * (n - 1)


def lattice_dim(n_draws: int, b: int) -> tuple[int, float]:
    """Lattice dimension (draws used) with the fewest expected points; the rest only verify."""
    best = (1, float(1 << (STATE_BITS - b)))
    for n in range(2, min(n_draws, MAX_LATTICE_DIM) + 1):
        pts = 2.0 ** lattice_log2_points(n, b) + 1.0
        if pts < best[1] * 0.9:  # prefer the smaller (faster) lattice unless clearly better
            best = (n, pts)
    return best


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


class _Full(Exception):
    """Enough states listed (``max_states``)."""


def lattice_states(
    vals: np.ndarray, bound: int, gap: int, n_lat: int, max_states: int | None = None
) -> tuple[list[int], int, dict]:
    """Every state after draw 0's step whose top b bits match the first ``n_lat`` draws.

    With ``max_states`` (too few draws to pin the seed) the walk stops once that many states are
    listed or the node budget is spent, and ``extra["complete"]`` says which; without it a
    spent budget raises ``TooCostly``.
    """
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
            if max_states is not None and len(states) >= max_states:
                raise _Full

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
                raise TooCostly(f"lattice enumeration exceeded {LATTICE_NODE_BUDGET} nodes")
            coeffs[j] = cj
            step = dist + (cj - centre) ** 2 * bn[j]
            if j == 0:
                leaves += 1
                leaf()
            else:
                walk(j - 1, step)
        coeffs[j] = 0

    complete = True
    try:
        walk(n_lat - 1, 0.0)
    except _Full:
        complete = False
    except TooCostly:
        if max_states is None:
            raise
        complete = False
    extra = {
        "complete": complete,
        "lattice_dim": n_lat,
        "lattice_nodes": nodes,
        "stage1_survivors": len(states),
        "seconds_lll": t_lll,
        "seconds_enumeration": time.perf_counter() - t_start - t_lll,
        "rejection_miss_probability": 0.0,
    }
    return states, leaves, extra


LIST_CHUNK = 1 << 20
LIST_MAX_CANDIDATES = 1 << 24  # ~0.5 s of numpy


def list_pow2_states(
    vals: np.ndarray, bound: int, gap: int, max_states: int
) -> tuple[list[int], int, bool]:
    """Up to ``max_states`` states matching the draws when too few draws pin the seed.

    The states with draw 0's top bits are walked in order (numpy, ``LIST_MAX_CANDIDATES`` at
    most): when thousands of seeds match, a sample of them is what can be listed. Returns the
    states, the candidates walked and whether the walk covered all of draw 0's states.
    """
    b_bits = bound.bit_length() - 1
    shift = np.uint64(STATE_BITS - b_bits)
    width = 1 << (STATE_BITS - b_bits)
    a, c = (np.uint64(v) for v in lcg_jump(gap + 1))
    mask = np.uint64(MASK48)
    base = int(vals[0]) * width
    found: list[int] = []
    walked = 0
    while walked < min(width, LIST_MAX_CANDIDATES) and len(found) < max_states:
        size = min(LIST_CHUNK, width - walked)
        t0 = np.arange(base + walked, base + walked + size, dtype=np.uint64)
        t = t0
        for v in vals[1:]:  # keep only the states still matching
            t = (t * a + c) & mask
            hit = (t >> shift) == v
            t0, t = t0[hit], t[hit]
        found += t0[: max_states - len(found)].tolist()
        walked += size
    return found, walked, walked == width
