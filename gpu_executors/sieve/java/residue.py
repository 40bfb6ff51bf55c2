"""The residue route (bound = 2^j * m, m odd > 1): guess the 17 hidden bits, then one lattice.

Draw 0's state is ``x_0 = 2^17*h + l`` and draw i's ``x_i = A_i*x_0 + C_i mod 2^48``. With
``q_i = ((A_i*l + C_i) mod 2^48) >> 17`` the draw's word is exactly ``v_i = (A_i*h + q_i) mod
2^31``. The draw says ``v_i = d_i + n*k_i`` with ``k_i`` in ``[0, K)``, ``K = floor(2^31/n)``
(a larger word is rejected and re-drawn, see the package docstring), and draw 0 gives
``h = d_0 + n*k_0``. So ``n*k_i = n*A_i*k_0 + E_i (mod 2^31)``, ``E_i = A_i*d_0 + q_i - d_i``:
``2^j`` must divide ``E_i`` (the low-bit test of the lifting route), and then
``k_i = A_i*k_0 + t_i (mod M)``, ``M = 2^(31-j)``, ``t_i = m^-1 * E_i / 2^j``.

``(k_0, k_1 - t_1, ...)`` is thus a point of the lattice spanned by ``(1, A_1, ..., A_D)`` and
``M*e_i`` whose shift by ``t`` lies in the box ``[0, K)^(D+1)``. The basis depends on the gap,
``j`` and ``D`` only, never on the guess ``l``: it is LLL-reduced once, and each guess (all 2^17
for odd bounds, the low-bit survivors for even ones) enumerates the lattice points in the ball
around its box (Fincke-Pohst, numba, parallel over guesses) and checks each against every draw.
The first ``D + 1`` draws build the lattice (as few as keep the ball's expected points per guess
near one), the rest only verify.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from gpu_executors.sieve.java.lattice import lcg_lattice
from gpu_executors.sieve.java.lcg import LOW, M48, U64, WORD31, lcg_jump, split_pow2
from gpu_executors.sieve.java.pruning import (
    PLANNING_SAMPLES,
    PRUNING_SAMPLES,
    ball_log2_volume,
    level_radii2,
    log2_nodes,
)
from gpu_executors.sieve.spec import Progress

MAX_DIM = 40  # lattice draws; LLL in Python integers stays under ~0.5 s
PER_GUESS_CAP = 8  # states stored per guess at least (more are counted, not stored)
CHUNK = 1 << 12  # guesses between progress calls and budget checks
NS_PER_NODE = 25.0  # one enumeration node on one core, for the cost estimate

_LOW = U64(LOW)
_MASK31 = U64(WORD31 - 1)


@dataclass(frozen=True)
class Basis:
    """The reduced lattice for (gap, j, dim) and its Gram-Schmidt data, as numba arrays."""

    dim: int
    red: np.ndarray  # int64 (dim, dim): the reduced basis (coordinate 0 is k_0)
    bstar: np.ndarray  # float64 (dim, dim): Gram-Schmidt vectors
    bn: np.ndarray  # float64 (dim,): |b*_i|^2
    mu: np.ndarray  # float64 (dim, dim): Gram-Schmidt coefficients
    radii2: np.ndarray  # float64 (dim,): squared radius bound per level (see pruning.py)
    miss_probability: float  # the target for missing the true state (0: the exact walk)
    miss_measured: float  # the pruned radii's miss rate on an independent sample, model's
    log2_nodes: float  # expected enumeration nodes per guess (Gaussian heuristic), log2


@functools.lru_cache(maxsize=64)
def reduced_basis(
    gap: int,
    jbits: int,
    dim: int,
    kbox: int,
    miss_probability: float = 0.0,
    samples: int = PRUNING_SAMPLES,
) -> Basis:
    """The lattice of the first ``dim`` draws with its radii (cached: it never depends on a
    guess; the reduction itself is ``lcg_lattice``'s, shared across radii)."""
    lat = lcg_lattice(gap, dim, 1 << (31 - jbits))
    seed = (gap * 64 + jbits) * 64 + dim
    radii2, measured = level_radii2(lat.bstar, lat.bn, kbox, miss_probability, seed, samples)
    red_arr = np.array(lat.red, dtype=np.int64)
    nodes = log2_nodes(radii2, lat.bn)
    return Basis(dim, red_arr, lat.bstar, lat.bn, lat.mu, radii2, miss_probability, measured,
                 nodes)


def plan_dim(n_draws: int, bound: int, gap: int, miss_probability: float = 0.0) -> Basis:
    """The lattice with the fewest expected nodes per guess among a few dimensions.

    The smallest useful dimension keeps the ball's expected lattice points per guess below one
    (``M*(K/M)^dim`` box points times the ball-to-cube volume ratio); two larger ones are tried
    too, since a bigger lattice can prune the enumeration tree better. When no dimension gets
    there (small odd parts), a few between "box points below one" and all draws are tried.
    With pruning (``miss_probability`` > 0) more draws prune harder, so all draws are tried too.
    """
    jbits, _ = split_pow2(bound)
    kbox = WORD31 // bound
    mbits = 31 - jbits
    cap = min(n_draws, MAX_DIM)
    first = box_first = cap
    for dim in range(cap, 0, -1):
        box = mbits + dim * (math.log2(kbox) - mbits)
        if box <= 0:
            box_first = dim
        if box + ball_log2_volume(dim, math.sqrt(dim) / 2) <= 0:
            first = dim
    if first < cap:
        dims = range(first, min(first + 4, cap) + 1, 2)
    else:
        dims = sorted({box_first + (cap - box_first) * i // 3 for i in range(4)})
    if miss_probability > 0.0:
        dims = sorted({*dims, cap})
    quick = PLANNING_SAMPLES if miss_probability > 0.0 else PRUNING_SAMPLES
    options = [reduced_basis(gap, jbits, dim, kbox, miss_probability, quick) for dim in dims]
    best = min(options, key=lambda b: b.log2_nodes + math.log2(b.dim))
    return reduced_basis(gap, jbits, best.dim, kbox, miss_probability)


@numba.njit(cache=True, nogil=True)
def _guess(
    low, vals, bound, jbits, minv, kbox, ja, jc, sa, sc, red, bstar, bn, mu, rb, cap, out, row
):
    """Enumerate one guess of the low 17 bits; returns (states found, nodes, node cap hit)."""
    dim = bn.shape[0]
    n = vals.shape[0]
    mmask = (U64(1) << (U64(31) - jbits)) - U64(1)
    jmask = (U64(1) << jbits) - U64(1)
    d0 = vals[0]
    half = (kbox - 1) / 2.0
    yc = np.empty(dim)
    tt = np.zeros(dim, dtype=np.int64)
    yc[0] = half
    for i in range(1, dim):
        w = (ja[i] * low + jc[i]) & M48
        e = (ja[i] * d0 + (w >> _LOW) + U64(1 << 31) - vals[i]) & _MASK31
        if e & jmask:
            return 0, 0, False
        tt[i] = np.int64(((e >> jbits) * minv) & mmask)
        yc[i] = half - tt[i]
    g = np.empty(dim)
    for k in range(dim):
        s = 0.0
        for i in range(dim):
            s += yc[i] * bstar[k, i]
        g[k] = s / bn[k]
    limit = U64(kbox) * bound
    coef = np.zeros(dim, dtype=np.int64)
    hi = np.zeros(dim, dtype=np.int64)
    dist = np.zeros(dim + 1)
    ctr = np.zeros(dim)
    py = np.zeros(dim + 1, dtype=np.int64)
    # Centre partial sums (as in fplll): ps[k, j] = g_k - sum_{i >= j} coef_i mu_ik, recomputed
    # on the way down to level k only from begin[k+1], the highest level changed since then.
    ps = np.zeros((dim, dim + 1))
    for k in range(dim):
        ps[k, dim] = g[k]
    begin = np.full(dim, dim - 1, dtype=np.int64)
    found = 0
    nodes = 0
    lvl = dim - 1
    rad = math.sqrt(rb[lvl] / bn[lvl])
    ctr[lvl] = g[lvl]
    coef[lvl] = math.ceil(g[lvl] - rad)
    hi[lvl] = math.floor(g[lvl] + rad)
    while True:
        if coef[lvl] > hi[lvl]:
            lvl += 1
            if lvl == dim:
                break
            coef[lvl] += 1
            continue
        nodes += 1
        if nodes > cap:
            return found, nodes, True
        diff = coef[lvl] - ctr[lvl]
        nd = dist[lvl + 1] + diff * diff * bn[lvl]
        if nd > rb[lvl]:
            coef[lvl] += 1
            continue
        if lvl == 0:
            k0 = py[1] + coef[0] * red[0, 0]
            if 0 <= k0 < kbox:
                x0 = (((d0 + U64(k0) * bound) << _LOW) | low) & M48
                x = x0
                ok = True
                for i in range(1, n):
                    x = (x * sa + sc) & M48
                    v = x >> _LOW
                    if v >= limit or v % bound != vals[i]:
                        ok = False
                        break
                if ok:  # one lattice point per k_0: the one inside the box
                    for i in range(1, dim):
                        y = 0
                        for r in range(dim):
                            y += coef[r] * red[r, i]
                        if not 0 <= y + tt[i] < kbox:
                            ok = False
                            break
                if ok:
                    if found < out.shape[1]:
                        out[row, found] = x0
                    found += 1
            coef[0] += 1
            continue
        dist[lvl] = nd
        py[lvl] = py[lvl + 1] + coef[lvl] * red[lvl, 0]
        for j in range(begin[lvl], lvl - 1, -1):
            ps[lvl - 1, j] = ps[lvl - 1, j + 1] - coef[j] * mu[j, lvl - 1]
        if begin[lvl] > begin[lvl - 1]:
            begin[lvl - 1] = begin[lvl]
        begin[lvl] = lvl
        lvl -= 1
        centre = ps[lvl, lvl + 1]
        ctr[lvl] = centre
        rem = (rb[lvl] - dist[lvl + 1]) / bn[lvl]
        if rem < 0.0:
            coef[lvl] = 1
            hi[lvl] = 0
        else:
            rad = math.sqrt(rem)
            coef[lvl] = math.ceil(centre - rad)
            hi[lvl] = math.floor(centre + rad)
    return found, nodes, False


@numba.njit(parallel=True, cache=True, nogil=True)
def _search(
    lows,
    vals,
    bound,
    jbits,
    minv,
    kbox,
    ja,
    jc,
    sa,
    sc,
    red,
    bstar,
    bn,
    mu,
    rb,
    cap,
    out,
    counts,
    nodes,
    capped,
):
    for q in prange(lows.shape[0]):
        f, nd, hit = _guess(
            lows[q],
            vals,
            bound,
            jbits,
            minv,
            kbox,
            ja,
            jc,
            sa,
            sc,
            red,
            bstar,
            bn,
            mu,
            rb,
            cap,
            out,
            q,
        )
        counts[q] = f
        nodes[q] = nd
        capped[q] = hit


@dataclass
class ResidueOutcome:
    """What the route found and what it cost (``complete`` is False when a budget stopped it)."""

    states: np.ndarray  # uint64 states after draw 0's step
    guesses: int  # guesses of the low bits enumerated
    nodes: int
    complete: bool
    why_incomplete: str
    extra: dict


def residue_states(
    vals: np.ndarray,
    bound: int,
    gap: int,
    lows: np.ndarray,
    basis: Basis,
    *,
    node_budget: float,
    max_states: int,
    seconds_budget: float = math.inf,
    progress: Progress | None = None,
) -> ResidueOutcome:
    """States reproducing the draws (no-rejection model) over the guesses ``lows``.

    Stops early, with ``complete=False``, when the nodes pass ``node_budget``, the time passes
    ``seconds_budget``, the states found pass ``max_states`` or on Ctrl-C (what was found so far
    is returned). Guesses run in chunks of about 2^26 expected nodes, so a stop comes soon.
    A ``basis`` planned with a miss probability prunes the walk (``pruned_radii2``): the true
    state is then missed with about that probability, under the model stated there.
    """
    t_start = time.perf_counter()
    jbits, odd = split_pow2(bound)
    kbox = WORD31 // bound
    n = int(vals.shape[0])
    jumps = [lcg_jump(i * (gap + 1)) for i in range(basis.dim)]
    ja = np.array([a for a, _ in jumps], dtype=np.uint64)
    jc = np.array([c for _, c in jumps], dtype=np.uint64)
    sa, sc = lcg_jump(gap + 1)
    minv = pow(odd, -1, 1 << (31 - jbits))
    per_guess = 2.0**basis.log2_nodes
    node_cap = int(min(max(64 * per_guess, 1 << 20), node_budget, 1 << 62))
    if max_states < 1 << 30:  # only listing a sample: no guess need be walked to its end
        node_cap = min(node_cap, 1 << 22)
    # Room per guess for the states a guess is expected to hold (many when draws are few).
    per_guess_states = kbox / float(odd) ** (n - 1)
    width = int(min(max(PER_GUESS_CAP, 4 * per_guess_states + 8), 1024))
    listing = int(2 * max_states / per_guess_states)  # guesses that list max_states
    by_cost = int((1 << 26) / per_guess)  # a chunk of ~2^26 nodes: a second or two
    chunk_len = max(2 * numba.get_num_threads(), min(CHUNK, (1 << 22) // width, listing, by_cost))
    found: list[np.ndarray] = []
    total_nodes = 0
    n_found = 0
    done = 0
    complete, why = True, ""
    for start in range(0, lows.shape[0], chunk_len):
        if time.perf_counter() - t_start > seconds_budget:
            complete, why = False, f"the enumeration passed its {seconds_budget:g} s budget"
            break
        chunk = lows[start : start + chunk_len]
        m = chunk.shape[0]
        out = np.zeros((m, width), dtype=np.uint64)
        counts = np.zeros(m, dtype=np.int64)
        nodes = np.zeros(m, dtype=np.int64)
        capped = np.zeros(m, dtype=np.bool_)
        try:
            _search(
                chunk,
                vals,
                U64(bound),
                U64(jbits),
                U64(minv),
                kbox,
                ja,
                jc,
                U64(sa),
                U64(sc),
                basis.red,
                basis.bstar,
                basis.bn,
                basis.mu,
                basis.radii2,
                node_cap,
                out,
                counts,
                nodes,
                capped,
            )
        except KeyboardInterrupt:  # the chunk's partial results are not kept
            complete, why = False, "interrupted"
            break
        for q in np.flatnonzero(counts):
            found.append(out[q, : min(int(counts[q]), width)])
        n_found += int(counts.sum())
        total_nodes += int(nodes.sum())
        done += m
        if progress is not None:
            progress(done, int(lows.shape[0]), n_found)
        if capped.any() or (counts > width).any():
            complete, why = False, "a guess passed its node or state cap"
        if total_nodes > node_budget:
            complete, why = False, f"the enumeration passed its budget of {node_budget:.3g} nodes"
            break
        if n_found >= max_states:
            complete, why = False, f"stopped after {n_found} matching states (listing {max_states})"
            break
    states = np.concatenate(found) if found else np.empty(0, dtype=np.uint64)
    extra = {
        "lattice_dim": basis.dim,
        "lattice_nodes": total_nodes,
        "expected_nodes_per_guess": round(per_guess, 1),
        "guesses": done,
        "stage1_survivors": int(lows.shape[0]),
        "lift_bits": jbits,
        "seconds_enumeration": time.perf_counter() - t_start,
        "rejection_miss_probability": 1.0 - (1.0 - (WORD31 % bound) / WORD31) ** n,
        "pruning_miss_probability": basis.miss_probability,
        "pruning_miss_measured": basis.miss_measured,
    }
    return ResidueOutcome(states, done, total_nodes, complete, why, extra)


def estimated_seconds(n_guesses: int, basis: Basis) -> float:
    """Wall seconds on this machine's cores for ``n_guesses`` guesses (for routing)."""
    per = 2.0**basis.log2_nodes * (1 + basis.dim / 8)
    return n_guesses * per * NS_PER_NODE * 1e-9 / max(1, numba.get_num_threads())
