"""The lattice route (bound = 2^b): every state whose top ``b`` bits match the draws.

The unknown low bits satisfy ``x_i = a_i*x_0 + d_i mod 2^48`` with every ``x_i`` in
``[0, 2^(48-b))``, the truncated-LCG lattice: exact integer LLL, then Fincke-Pohst enumeration of
every lattice point in the ball around the box centre (numba), so *all* solutions are listed.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from gpu_executors.sieve.java.lcg import MASK48, MODULUS, STATE_BITS, TooCostly, lcg_jump
from gpu_executors.sieve.java.pruning import gram_schmidt, level_radii2, log2_nodes

MAX_LATTICE_DIM = 32  # integer LLL stays under ~1 s
MAX_LATTICE_POINTS = 1 << 24  # expected lattice points in the enumeration ball
LATTICE_NODE_BUDGET = 1 << 32  # hard stop for the enumeration tree (minutes)
MAX_PRUNED_LATTICE_DIM = 48  # a pruned walk's draws (1-bit draws need 48 to pin the state)
SUBTREES_PER_THREAD = 64  # the walk is split at its top levels into about this many per thread
SUBTREE_POINTS = 1 << 12  # points one subtree may list (more: the walk says it stopped)


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


@numba.njit(cache=True, nogil=True)
def _walk(red, g, bn, mu, r2, off, width, node_cap, out, prefix):
    """Fincke-Pohst: every lattice point ``v = coef @ red`` within squared radius ``r2[k]`` of
    the box centre when projected past level ``k`` (the ball: all equal; pruned: pruning.py),
    the centre given by ``g``, its Gram-Schmidt coordinates, with every ``v_i + off_i`` in
    ``[0, width)``; writes ``v_0 + off_0`` of each to ``out``. ``prefix`` fixes the top
    ``len(prefix)`` levels' coefficients (``prefix[0]`` the top one): the walk is that subtree.

    Returns (points, nodes, stopped): stopped when ``out`` is full or ``node_cap`` is passed.
    Centres come from partial sums updated only where a coefficient changed (as in fplll), and
    each level keeps its partial vector so a leaf's box test is O(dim) with an early exit.
    """
    dim = bn.shape[0]
    coef = np.zeros(dim, dtype=np.int64)
    hi = np.zeros(dim, dtype=np.int64)
    dist = np.zeros(dim + 1)
    ctr = np.zeros(dim)
    pv = np.zeros((dim + 1, dim), dtype=np.int64)
    ps = np.zeros((dim, dim + 1))
    for k in range(dim):
        ps[k, dim] = g[k]
    begin = np.full(dim, dim - 1, dtype=np.int64)
    top = dim - prefix.shape[0]  # the subtree's highest free level is top - 1
    for k in range(dim - 1, top - 1, -1):
        coef[k] = prefix[dim - 1 - k]
        centre = g[k]
        for i in range(k + 1, dim):
            centre -= coef[i] * mu[i, k]
        dist[k] = dist[k + 1] + (coef[k] - centre) ** 2 * bn[k]
        for i in range(dim):
            pv[k, i] = pv[k + 1, i] + coef[k] * red[k, i]
    found = 0
    nodes = 0
    lvl = top - 1  # a prefix leaves at least level 0 free
    centre = g[lvl]
    for i in range(top, dim):
        centre -= coef[i] * mu[i, lvl]
    ctr[lvl] = centre
    rem = (r2[lvl] - dist[top]) / bn[lvl]
    if rem < 0.0:
        return 0, 0, False
    rad = math.sqrt(rem)
    coef[lvl] = math.ceil(centre - rad)
    hi[lvl] = math.floor(centre + rad)
    while True:
        if coef[lvl] > hi[lvl]:
            lvl += 1
            if lvl == top:
                break
            coef[lvl] += 1
            continue
        nodes += 1
        if nodes > node_cap:
            return found, nodes, True
        diff = coef[lvl] - ctr[lvl]
        nd = dist[lvl + 1] + diff * diff * bn[lvl]
        if nd > r2[lvl]:
            coef[lvl] += 1
            continue
        if lvl == 0:
            ok = True
            for i in range(dim):
                x = pv[1, i] + coef[0] * red[0, i] + off[i]
                if x < 0 or x >= width:
                    ok = False
                    break
            if ok:
                out[found] = pv[1, 0] + coef[0] * red[0, 0] + off[0]
                found += 1
                if found == out.shape[0]:
                    return found, nodes, True
            coef[0] += 1
            continue
        dist[lvl] = nd
        for i in range(dim):
            pv[lvl, i] = pv[lvl + 1, i] + coef[lvl] * red[lvl, i]
        for j in range(begin[lvl], lvl - 1, -1):
            ps[lvl - 1, j] = ps[lvl - 1, j + 1] - coef[j] * mu[j, lvl - 1]
        if begin[lvl] > begin[lvl - 1]:
            begin[lvl - 1] = begin[lvl]
        begin[lvl] = lvl
        lvl -= 1
        centre = ps[lvl, lvl + 1]
        ctr[lvl] = centre
        rem = (r2[lvl] - dist[lvl + 1]) / bn[lvl]
        if rem < 0.0:
            coef[lvl] = 1
            hi[lvl] = 0
        else:
            rad = math.sqrt(rem)
            coef[lvl] = math.ceil(centre - rad)
            hi[lvl] = math.floor(centre + rad)
    return found, nodes, False


@numba.njit(parallel=True, cache=True, nogil=True)
def _walk_roots(red, g, bn, mu, r2, off, width, node_cap, out, prefixes, counts, nodes, stopped):
    """``_walk`` over the subtrees ``prefixes`` (one per row), in parallel."""
    for q in prange(prefixes.shape[0]):
        f, nd, hit = _walk(red, g, bn, mu, r2, off, width, node_cap, out[q], prefixes[q])
        counts[q] = f
        nodes[q] = nd
        stopped[q] = hit


def _prefixes(
    g: np.ndarray, bn: np.ndarray, mu: np.ndarray, r2: np.ndarray, want: int
) -> np.ndarray:
    """The top levels' coefficient prefixes inside the radii, one level deeper at a time until
    there are ``want`` of them (subtrees for the threads), as rows ``(n, depth)``."""
    dim = bn.shape[0]
    rows: list[tuple[list[int], float]] = [([], 0.0)]
    while len(rows) < want and rows and len(rows[0][0]) < dim - 1:
        k = dim - 1 - len(rows[0][0])
        deeper = []
        for coefs, dist in rows:
            centre = g[k] - sum(c * mu[dim - 1 - j, k] for j, c in enumerate(coefs))
            rem = (r2[k] - dist) / bn[k]
            if rem < 0.0:
                continue
            rad = math.sqrt(rem)
            for c in range(math.ceil(centre - rad), math.floor(centre + rad) + 1):
                nd = dist + (c - centre) ** 2 * bn[k]
                if nd <= r2[k]:
                    deeper.append(([*coefs, c], nd))
        rows = deeper
    depth = len(rows[0][0]) if rows else 0
    return np.array([c for c, _ in rows], dtype=np.int64).reshape(len(rows), depth)


@dataclass(frozen=True)
class LcgLattice:
    """The lattice of the draws' jumps ``(A_0, ..., A_{dim-1}) mod M`` and ``M*e_i``, LLL-reduced,
    with its Gram-Schmidt data (read-only: it is cached and shared)."""

    red: list[list[int]]
    d: list[int]
    lam: list[list[int]]
    bstar: np.ndarray
    bn: np.ndarray
    mu: np.ndarray


@functools.lru_cache(maxsize=64)
def lcg_lattice(gap: int, dim: int, modulus: int) -> LcgLattice:
    """The reduced lattice of ``dim`` draws ``gap`` words apart, modulo ``modulus`` (2^48 here,
    2^(31-j) for the residue route). It has no draws in it, so it is reduced once per process
    whatever radii the walks put on it."""
    a = [lcg_jump(i * (gap + 1))[0] % modulus for i in range(dim)]
    rows = [a] + [[modulus if c == r else 0 for c in range(dim)] for r in range(1, dim)]
    red, d, lam = _lll(rows)
    return LcgLattice(red, d, lam, *gram_schmidt(red, d, lam))


@dataclass(frozen=True)
class _Radii:
    """The power-of-two walk's lattice with its radii at one miss probability."""

    lat: LcgLattice
    radii2: np.ndarray
    miss_measured: float
    log2_nodes: float


@functools.lru_cache(maxsize=32)
def _radii(gap: int, n_lat: int, width: int, miss_probability: float) -> _Radii:
    lat = lcg_lattice(gap, n_lat, MODULUS)
    seed = (1 << 20) + (gap * 64 + width.bit_length()) * 64 + n_lat
    radii2, measured = level_radii2(lat.bstar, lat.bn, width, miss_probability, seed)
    return _Radii(lat, radii2, measured, log2_nodes(radii2, lat.bn))


def pruned_lattice_log2_nodes(n_lat: int, b: int, gap: int, miss_probability: float) -> float:
    """The pruned walk's expected nodes, log2 (for routing)."""
    return _radii(gap, n_lat, 1 << (STATE_BITS - b), miss_probability).log2_nodes


def _walk_all(
    red: np.ndarray,
    g: np.ndarray,
    walk: _Radii,
    off: np.ndarray,
    width: int,
    node_budget: int,
    cap: int,
) -> tuple[int, bool, np.ndarray]:
    """Every subtree of the walk, a chunk of them per parallel call: (nodes, stopped, the
    points' ``v_0 + off_0``). Stops after the chunk in which the nodes pass ``node_budget``
    or the points pass ``cap`` (each subtree is capped at what remains of both)."""
    threads = numba.get_num_threads()
    lat, r2 = walk.lat, walk.radii2
    prefixes = _prefixes(g, lat.bn, lat.mu, r2, SUBTREES_PER_THREAD * threads)
    found: list[np.ndarray] = []
    n_found = nodes = 0
    stopped = False
    step = 16 * threads
    for start in range(0, prefixes.shape[0], step):
        chunk = prefixes[start : start + step]
        m = chunk.shape[0]
        per_root = min(cap - n_found, SUBTREE_POINTS)
        out = np.zeros((m, per_root), dtype=np.int64)
        counts = np.zeros(m, dtype=np.int64)
        walked = np.zeros(m, dtype=np.int64)
        hit = np.zeros(m, dtype=np.bool_)
        with numba.parallel_chunksize(1):  # subtrees differ in size: hand them out one by one
            _walk_roots(
                red,
                g,
                lat.bn,
                lat.mu,
                r2,
                off,
                width,
                node_budget - nodes,
                out,
                chunk,
                counts,
                walked,
                hit,
            )
        for q in np.flatnonzero(counts):
            found.append(out[q, : counts[q]])
        n_found += int(counts.sum())
        nodes += int(walked.sum())
        if hit.any() or nodes > node_budget or n_found >= cap:
            stopped = True
            break
    points = np.concatenate(found)[:cap] if found else np.empty(0, dtype=np.int64)
    return nodes, stopped, points


def lattice_states(
    vals: np.ndarray,
    bound: int,
    gap: int,
    n_lat: int,
    max_states: int | None = None,
    miss_probability: float = 0.0,
    node_budget: int = LATTICE_NODE_BUDGET,
) -> tuple[list[int], int, dict]:
    """Every state after draw 0's step whose top b bits match the first ``n_lat`` draws.

    With ``max_states`` (too few draws to pin the seed) the walk stops once that many states are
    listed or the node budget is spent, and ``extra["complete"]`` says which; without it a
    spent budget raises ``TooCostly``. ``miss_probability`` > 0 prunes the walk (pruning.py):
    each matching state is then missed with about that probability.
    """
    t_start = time.perf_counter()
    b_bits = bound.bit_length() - 1
    width = 1 << (STATE_BITS - b_bits)  # the box: unknown low bits x_i in [0, width)
    jumps = [lcg_jump(i * (gap + 1)) for i in range(n_lat)]
    h = [int(v) for v in vals[:n_lat]]
    # x_i = a_i x_0 + d_i mod 2^48 with t_i = h_i * width + x_i.
    dvec = [(a * h[0] * width + c - h[i] * width) & MASK48 for i, (a, c) in enumerate(jumps)]
    dvec[0] = 0
    walk = _radii(gap, n_lat, width, miss_probability)
    red, d, lam = walk.lat.red, walk.lat.d, walk.lat.lam
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
    cap = max_states if max_states is not None else MAX_LATTICE_POINTS
    nodes, stopped, found = _walk_all(
        np.array(red, dtype=np.int64),
        np.array(g),
        walk,
        np.array(dvec, dtype=np.int64),
        width,
        node_budget,
        cap,
    )
    if stopped and max_states is None:
        raise TooCostly(f"lattice enumeration passed {node_budget} nodes or {cap} points")
    states = [h[0] * width + int(x) for x in found]
    complete = not stopped
    extra = {
        "complete": complete,
        "lattice_dim": n_lat,
        "lattice_nodes": nodes,
        "stage1_survivors": len(states),
        "seconds_lll": t_lll,
        "seconds_enumeration": time.perf_counter() - t_start - t_lll,
        "rejection_miss_probability": 0.0,
        "pruning_miss_probability": miss_probability,
        "pruning_miss_measured": walk.miss_measured,
    }
    return states, nodes, extra


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
