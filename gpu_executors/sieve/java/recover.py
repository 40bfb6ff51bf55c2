"""``recover_java_seeds``: pick the cheapest route, run it, and re-check every seed found.

The smart routes model every draw as one word, so each reported seed is re-checked with the real
drawer (``generate_draws``) and always reproduces the draws; a seed whose draws hit ``nextInt``'s
rejection is missed (see the package docstring). A flat ``cpu_scan`` serves a user-given range
that is cheaper than the smart route, or bound 1. The smart routes find states (after draw 0's
step), which do not depend on the offset: an offset range maps each state to one seed per offset.
When the draws cannot pin the seed, the result says how many seeds are expected to remain
(``expected_remaining``) and lists up to ``max_listed`` of them instead of refusing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numba
import numpy as np

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import GENERATORS, get_generator
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.java.lattice import (
    LATTICE_NODE_BUDGET,
    MAX_LATTICE_POINTS,
    MAX_PRUNED_LATTICE_DIM,
    lattice_dim,
    lattice_states,
    list_pow2_states,
    pruned_lattice_log2_nodes,
)
from gpu_executors.sieve.java.lcg import (
    LOW,
    MAX_SMART_CHECKS,
    MODULUS,
    U64,
    WORD31,
    split_pow2,
    states_to_seeds,
)
from gpu_executors.sieve.java.lifting import consistent_lows, lift
from gpu_executors.sieve.java.residue import Basis, estimated_seconds, plan_dim, residue_states
from gpu_executors.sieve.spec import Progress, ScanResult, ScanSpec, survivors_frame

JAVA48 = tuple(name for name, g in GENERATORS.items() if g.java48)  # what this route handles
MAX_EXPECTED_SURVIVORS = 100_000  # chance matches over 2^48: more means too few draws
MAX_LISTED = 1000  # states listed when the draws cannot pin the seed
RESIDUE_NODE_BUDGET = float(1 << 35)  # past it (or RESIDUE_SECONDS) the listing is partial
RESIDUE_SECONDS = 600.0
CHECKS_PER_NODE = 10.0  # a residue enumeration node costs about ten lifting checks
LIFT_FIRST = float(1 << 27)  # lifting this cheap (< ~0.2 s) is used without planning a lattice
PRUNE_ABOVE_SECONDS = 60.0  # an exact residue walk estimated longer is pruned by default
AUTO_MISS_PROBABILITY = 1e-3  # ... at this chance of missing the true seed (the model's)
PRUNED_LATTICE_NODE_BUDGET = 1 << 34  # a pruned power-of-two walk (one thread: ~10 min)
AUTO_LATTICE_MISS = (AUTO_MISS_PROBABILITY, 1e-2)  # 64 x nextInt(2): 2^34.4 nodes, 2^32.6


class Route(StrEnum):
    """How the seeds were found (``extra["route"]``)."""

    LIFTING = "lifting"
    LATTICE = "lattice"
    RESIDUE = "residue"
    FLAT = "flat"


@dataclass(frozen=True)
class _Plan:
    route: Route  # LIFTING, LATTICE or RESIDUE: the smart routes
    cost: float  # estimated candidate checks
    detail: str
    lows: np.ndarray | None = None  # RESIDUE: the guesses of draw 0's low 17 bits
    basis: Basis | None = None  # RESIDUE: the reduced lattice
    exact_seconds: float | None = None  # RESIDUE pruned by default: the exact walk's estimate
    n_lat: int = 0  # LATTICE: the draws the lattice uses
    miss: float = 0.0  # LATTICE: the pruned walk's miss probability (0: the ball, exact)


def expected_remaining(bound: int, n_draws: int, n_lows: int | None = None) -> float:
    """States besides the true one expected to reproduce a true seed's draws (one offset).

    Odd bounds: ``2^48 / n^N``. Even bounds ``2^j*m``: a draw's low ``j`` bits are state bits
    ``17 .. 17+j-1``, a function of the low ``17+j`` bits alone, so together they pin at most 17
    bits: ``(low patterns left) * K / m^(N-1)``, ``K = floor(2^31/n)``, the patterns being
    ``n_lows`` when stage 1 ran, else ``1 + 2^(17 - j(N-1))``. Powers of two: ``2^(48 - b*N)``.
    (The generic null model, ``ScanSpec.null_expected``, is for draws that are pure noise.)
    """
    j, m = split_pow2(bound)
    if m == 1:
        return MODULUS / float(bound) ** n_draws
    if n_lows is None:
        n_lows = 1 + ((1 << LOW) - 1) * 2.0 ** (-j * (n_draws - 1)) if j else 1 << LOW
    return n_lows * (WORD31 // bound) / float(m) ** (n_draws - 1)


def _plan(
    vals: np.ndarray,
    bound: int,
    gap: int,
    listing: bool,
    force: Route | None = None,
    miss_probability: float | None = None,
) -> _Plan | None:
    """The smart route and its estimated cost, or None for bound 1 (draws carry nothing).

    Lifting when it is cheap; else the residue lattice when it is cheaper (always when only
    ``listing`` what a capped search finds: lifting cannot stop early). ``force`` picks one of
    the two for a bound that is not a power of two (tests, benches). ``miss_probability`` None
    walks the residue lattice exactly unless that is estimated past ``PRUNE_ABOVE_SECONDS``,
    then prunes it at ``AUTO_MISS_PROBABILITY``; a power-of-two ball of more than
    ``MAX_LATTICE_POINTS`` is walked pruned at the first of ``AUTO_LATTICE_MISS`` that fits.
    """
    n_draws = int(vals.shape[0])
    k, odd = split_pow2(bound)
    if force is not None and (odd == 1 or force not in (Route.LIFTING, Route.RESIDUE)):
        raise ValueError(f"route {force.value!r} does not apply to nextint:{bound}")
    if odd == 1:
        if k == 0:
            return None
        n, pts = lattice_dim(n_draws, k)
        if pts <= MAX_LATTICE_POINTS and not miss_probability:
            # The walk visits several internal nodes per point, each ~10 flat checks.
            return _Plan(Route.LATTICE, 1e6 + 100 * pts, f"{n}-dim lattice, ~{pts:.0f} points",
                         n_lat=n)
        if miss_probability != 0.0 and not listing:
            # The default takes the first miss probability whose walk fits the budget.
            n_p = min(n_draws, MAX_PRUNED_LATTICE_DIM)
            for miss in [miss_probability] if miss_probability else AUTO_LATTICE_MISS:
                log2_nodes = pruned_lattice_log2_nodes(n_p, k, gap, miss)
                if 2.0**log2_nodes <= PRUNED_LATTICE_NODE_BUDGET:
                    how = "" if miss_probability else f" (the ball: ~{pts:.3g} points)"
                    return _Plan(
                        Route.LATTICE,
                        CHECKS_PER_NODE * 2.0**log2_nodes,
                        f"{n_p}-dim lattice, pruned walk of ~2^{log2_nodes:.1f} nodes{how}",
                        n_lat=n_p,
                        miss=miss,
                    )
        return _Plan(Route.LATTICE, math.inf, f"{n}-dim lattice with ~{pts:.3g} points")
    n_r = WORD31 // bound
    s1 = 1.0 + 2.0 ** (LOW - k * (n_draws - 1))
    lifting = _Plan(Route.LIFTING, (1 << LOW) + s1 * n_r, f"2^17 + ~{s1:.0f} x {n_r}")
    if force is Route.LIFTING or (force is None and lifting.cost <= LIFT_FIRST and not listing):
        return lifting
    lows = consistent_lows(vals, bound, gap)
    basis = plan_dim(n_draws, bound, gap, miss_probability or 0.0)
    exact_s = None
    if miss_probability is None and not listing:
        exact_s = estimated_seconds(lows.shape[0], basis)
        if exact_s > PRUNE_ABOVE_SECONDS:
            basis = plan_dim(n_draws, bound, gap, AUTO_MISS_PROBABILITY)
        else:
            exact_s = None
    nodes = lows.shape[0] * 2.0**basis.log2_nodes
    residue = _Plan(
        Route.RESIDUE,
        (1 << LOW) + CHECKS_PER_NODE * nodes,
        f"{lows.shape[0]} guesses x ~{2.0**basis.log2_nodes:.3g} nodes, {basis.dim}-dim lattice"
        + ("" if exact_s is None else "; pruned by default"),
        lows,
        basis,
        exact_s,
    )
    lift_cost = (1 << LOW) + lows.shape[0] * n_r  # with stage 1's real survivors
    if force is Route.RESIDUE or listing or min(residue.cost, MAX_SMART_CHECKS) < lift_cost:
        return residue
    return lifting


def _flat(spec: ScanSpec, progress: Progress | None, why: str, t_start: float) -> ScanResult:
    res = cpu_scan(spec, progress=progress)
    res.backend = f"{res.backend} flat"
    res.seconds = time.perf_counter() - t_start
    res.extra = {**res.extra, "route": Route.FLAT.value, "stage1_survivors": None, "why": why}
    return res


def _validated(
    draws: Sequence[int], bound: int, generator: str, offset: int, gap: int
) -> np.ndarray:
    if generator not in JAVA48:
        raise ValueError(f"generator {generator!r}: the Java route handles {JAVA48}")
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


def _run_route(
    plan: _Plan,
    vals: np.ndarray,
    bound: int,
    gap: int,
    listing: bool,
    max_listed: int,
    progress: Progress | None,
) -> tuple[np.ndarray, int, str, dict, bool, str]:
    """States (after draw 0's step), work done, backend text, extra, complete, why not."""
    if plan.route is Route.LIFTING:
        states, scanned, backend, extra, complete = lift(vals, bound, gap, progress)
        backend = f"{backend}, {numba.get_num_threads()} threads"
        return states, scanned, backend, extra, complete, "" if complete else "interrupted"
    if plan.route is Route.RESIDUE:
        assert plan.lows is not None and plan.basis is not None
        out = residue_states(
            vals,
            bound,
            gap,
            plan.lows,
            plan.basis,
            node_budget=RESIDUE_NODE_BUDGET,
            max_states=max_listed if listing else 1 << 40,
            seconds_budget=RESIDUE_SECONDS,
            progress=progress,
        )
        backend = (
            f"cpu residue ({out.guesses} guesses, {plan.basis.dim}-dim lattice, "
            f"{out.nodes} nodes), {numba.get_num_threads()} threads"
        )
        return out.states, out.nodes, backend, out.extra, out.complete, out.why_incomplete
    if listing or math.isinf(plan.cost):  # a sample: the lattice walk would not end
        found, scanned, whole = list_pow2_states(vals, bound, gap, max_listed)
        extra = {"lattice_dim": None, "listing_candidates": scanned}
        why = "" if whole else f"listed the matches among draw 0's first {scanned} states"
        backend = f"cpu listing ({scanned} states with draw 0's top bits)"
        return np.asarray(found, dtype=np.uint64), scanned, backend, extra, whole, why
    budget = PRUNED_LATTICE_NODE_BUDGET if plan.miss else LATTICE_NODE_BUDGET
    found, scanned, extra = lattice_states(vals, bound, gap, plan.n_lat, max_states=max_listed,
                                           miss_probability=plan.miss, node_budget=budget)
    complete = extra.pop("complete")
    why = "" if complete else f"the lattice walk stopped (node budget or {max_listed} states)"
    pruned = ", pruned" if plan.miss else ""
    backend = f"cpu lattice ({plan.n_lat}-dim LLL + enumeration{pruned}, {scanned} nodes)"
    return np.asarray(found, dtype=np.uint64), scanned, backend, extra, complete, why


def _exhaustive(complete: bool, why: str, miss: float) -> str:
    if not complete:
        return f"no: {why}"
    pruned = f"; pruned: each seed is missed with probability ~{miss:g}" if miss else ""
    return f"all 2^48 seeds except those whose draws hit nextInt's rejection{pruned}"


def recover_java_seeds(
    draws: Sequence[int],
    bound: int,
    *,
    generator: str = "java_random",
    offset: int = 0,
    offset_stop: int | None = None,
    gap: int = 0,
    seed_range: tuple[int, int] | None = None,
    progress: Progress | None = None,
    max_listed: int = MAX_LISTED,
    route: str | None = None,
    miss_probability: float | None = None,
) -> ScanResult:
    """Every 48-bit seed whose ``nextInt(bound)`` draws (offset in ``[offset, offset_stop)``,
    constant gap) match exactly, for any bound >= 2.

    Seeds are what the user passed: ``new Random(seed)``'s 48 low bits for ``java_random``, the
    raw state for ``java_lcg``. The smart routes are exhaustive over 2^48 except for seeds whose
    draws hit ``nextInt``'s rejection (see the package docstring); with ``seed_range`` their
    survivors are restricted to it, and a flat scan is used instead when the range is cheaper.
    When more than ``MAX_EXPECTED_SURVIVORS`` seeds are expected to remain, or the search passes
    its budget, up to ``max_listed`` states are listed and ``complete`` is False;
    ``extra["expected_remaining"]`` always says how many other seeds are expected to match per
    offset. ``null_expected`` is the pure-noise null model for the space searched. ``route``
    ("lifting" or "residue") overrides the choice for a bound that is not a power of two.
    ``miss_probability`` > 0 prunes the lattice walks (much faster for small odd parts such as
    3, and for 1-bit draws) at that chance of missing the true seed, under the model in
    ``pruning.pruned_radii2``; 0 forces the exact walk; None (the default) prunes the residue
    walk at ``AUTO_MISS_PROBABILITY`` only when the exact one is estimated past
    ``PRUNE_ABOVE_SECONDS``, and a power-of-two lattice only when its ball holds more than
    ``MAX_LATTICE_POINTS``, at the first of ``AUTO_LATTICE_MISS`` that fits its node budget.
    The result says ``pruning_miss_probability`` (0: exact) and the rate measured on the model.
    """
    t_start = time.perf_counter()
    stop = offset + 1 if offset_stop is None else offset_stop
    vals = _validated(draws, bound, generator, offset, gap)
    if stop <= offset:
        raise ValueError(f"offset range {offset}:{stop} is empty")
    n = int(vals.shape[0])
    lo, hi = seed_range if seed_range is not None else (0, MODULUS)
    spec = ScanSpec(
        generator=generator,
        draw=f"nextint:{bound}",
        draws=tuple(int(v) for v in vals),
        seed_start=lo,
        seed_stop=hi,
        offset_start=offset,
        offset_stop=stop,
        gap_min=gap,
        gap_max=gap,
    )
    spec.validate()
    remaining = expected_remaining(bound, n)
    listing = remaining > MAX_EXPECTED_SURVIVORS
    if seed_range is not None and route is None and spec.candidates <= 1 << LOW:
        return _flat(spec, progress, "range smaller than any smart route's 2^17 steps", t_start)
    if miss_probability is not None and not 0.0 <= miss_probability < 1.0:
        raise ValueError(f"miss_probability {miss_probability} must be in [0, 1)")
    force = None if route is None else Route(route)
    plan = _plan(vals, bound, gap, listing, force, miss_probability)
    if seed_range is not None and (plan is None or plan.cost >= spec.candidates):
        why = "no smart route for bound 1" if plan is None else f"range cheaper than {plan.detail}"
        return _flat(spec, progress, why, t_start)
    if plan is None:
        raise ValueError(
            f"nextint:{bound}: every seed gives these draws (bound 1 carries no information); "
            "give seed_range=(start, stop) for a flat scan of that range"
        )
    if plan.route is Route.RESIDUE and plan.lows is not None and plan.lows.shape[0] > 0:
        remaining = expected_remaining(bound, n, int(plan.lows.shape[0]))

    states, scanned, backend, extra, complete, why = _run_route(
        plan, vals, bound, gap, listing, max_listed, progress
    )
    states = np.unique(states)
    if not complete and states.shape[0] > max_listed:
        states = states[:max_listed]
    gen, draw_spec, obs = get_generator(generator), parse_draw(spec.draw), spec.observed()
    rows: list[tuple[int, int]] = []
    failed = 0
    for off in range(offset, stop):
        seeds = states_to_seeds(states, off, generator)
        seeds = seeds[(seeds >= U64(lo)) & (seeds < U64(hi))]
        for s in seeds:
            if np.array_equal(generate_draws(gen, draw_spec, int(s), n, off, gap), obs):
                rows.append((int(s), off))
            else:
                failed += 1
    cols = {
        "seed": np.asarray([r[0] for r in rows], dtype=np.uint64),
        "offset": np.asarray([r[1] for r in rows], dtype=np.int64),
        "gap": np.full(len(rows), gap, dtype=np.int64),
        "forward_matches": np.full(len(rows), n, dtype=np.int64),
        "reverse_matches": np.zeros(len(rows), dtype=np.int64),
    }
    if progress is not None and plan.route is Route.RESIDUE:  # its progress counts guesses
        progress(extra["guesses"], extra["stage1_survivors"], len(rows))
    elif progress is not None:
        progress(scanned, scanned, len(rows))
    return ScanResult(
        spec,
        survivors_frame(spec, cols),
        scanned,
        time.perf_counter() - t_start,
        backend,
        spec.null_expected(),
        complete=complete,
        extra={
            "route": plan.route.value,
            **extra,
            "plan": plan.detail,
            "exact_walk_seconds_estimated": plan.exact_seconds,
            "candidates": int(states.shape[0]),
            "expected_remaining": remaining,
            "why_incomplete": why,
            "failed_verification": failed,
            "exhaustive": _exhaustive(complete, why, extra.get("pruning_miss_probability", 0.0)),
        },
    )
