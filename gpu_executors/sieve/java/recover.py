"""``recover_java_seeds``: pick the cheapest route, run it, and re-check every seed found.

The smart routes model every draw as one word, so each reported seed is re-checked with the real
drawer (``generate_draws``) and always reproduces the draws; a seed whose draws hit ``nextInt``'s
rejection is missed (see the package docstring). A flat ``cpu_scan`` serves a user-given range
that is cheaper than the smart route, or a bound without one.
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
from gpu_executors.sieve.java.lattice import MAX_LATTICE_POINTS, lattice_dim, lattice_states
from gpu_executors.sieve.java.lcg import (
    LOW,
    MAX_SMART_CHECKS,
    MODULUS,
    STATE_BITS,
    U64,
    WORD31,
    TooCostly,
    split_pow2,
    states_to_seeds,
)
from gpu_executors.sieve.java.lifting import lift
from gpu_executors.sieve.spec import Progress, ScanResult, ScanSpec, survivors_frame

JAVA48 = tuple(name for name, g in GENERATORS.items() if g.java48)  # what this route handles
MAX_EXPECTED_SURVIVORS = 100_000  # chance matches over 2^48: more means too few draws


class Route(StrEnum):
    """How the seeds were found (``extra["route"]``)."""

    LIFTING = "lifting"
    LATTICE = "lattice"
    FLAT = "flat"


@dataclass(frozen=True)
class _Plan:
    route: Route  # LIFTING or LATTICE: the smart routes
    cost: float  # estimated candidate checks
    detail: str


def _plan(n_draws: int, bound: int) -> _Plan | None:
    """The smart route and its estimated cost, or None when the bound has no smart route."""
    k, odd = split_pow2(bound)
    if odd == 1:
        if k == 0:
            return None
        n, pts = lattice_dim(n_draws, k)
        if pts > MAX_LATTICE_POINTS:
            return _Plan(Route.LATTICE, math.inf, f"{n}-dim lattice with ~{pts:.3g} points")
        # A Python lattice point costs about as much as ~10^4 compiled flat checks.
        return _Plan(Route.LATTICE, 1e6 + 1e4 * pts, f"{n}-dim lattice, ~{pts:.0f} points")
    n_r = WORD31 // bound
    s1 = 1.0 + 2.0 ** (LOW - k * (n_draws - 1))
    cost = (1 << LOW) + s1 * n_r
    return _Plan(Route.LIFTING, cost, f"2^17 + ~{s1:.0f} x {n_r}")


def _unsupported_message(bound: int, n_draws: int, why: str) -> str:
    return (
        f"nextint:{bound} with {n_draws} draws: {why}. The smart route handles bounds that are "
        "not powers of two by low-bit lifting (cost ~2^17 + survivors x 2^31/bound, so even "
        "bounds, or odd bounds >= ~8192), power-of-two bounds >= 2 by a lattice when the draws "
        f"carry enough bits (n*log2(bound) > ~{STATE_BITS + 4}), and needs enough draws that "
        f"fewer than {MAX_EXPECTED_SURVIVORS} seeds match by chance. Give more draws or "
        "seed_range=(start, stop) for a flat scan of that range."
    )


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
        if plan.route is Route.LIFTING:
            states, scanned, backend, extra, complete = lift(vals, bound, gap, progress)
        else:
            n_lat, _ = lattice_dim(n, bound.bit_length() - 1)
            found, scanned, extra = lattice_states(vals, bound, gap, n_lat)
            states = np.asarray(found, dtype=np.uint64)
            backend = f"cpu lattice ({n_lat}-dim LLL + enumeration, {scanned} points)"
    except TooCostly as exc:
        if seed_range is not None:
            return _flat(spec, progress, str(exc), t_start)
        raise ValueError(_unsupported_message(bound, n, str(exc))) from None

    seeds = np.unique(states_to_seeds(states, offset, generator))
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
        f"{backend}, {numba.get_num_threads()} threads" if plan.route is Route.LIFTING else backend,
        spec.null_expected(),
        complete=complete,
        extra={
            "route": plan.route.value,
            **extra,
            "failed_verification": int(seeds.shape[0]) - len(ok),
            "exhaustive": "all 2^48 seeds except those whose draws hit nextInt's rejection",
        },
    )
