"""What a sieve run scans and how its blocks add up: seed blocks, the sieve settings, the window
optimiser's search space and trial evaluation, and the survivor pool with its null figures.

Plain functions and records, so tests call them without Dagster; the asset layer
(``prng_assets/assets/sieve.py``) is a thin wrapper that owns the Optuna study itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from gpu_executors.prng.draws import check_compatible, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.null_model import (
    evidence,
    pass_probability,
    survivor_p_value,
)
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA, ScanResult, ScanSpec
from gpu_executors.sieve.strategies import (
    ALL_STRATEGIES,
    GapMode,
    GapStrategy,
    parse_mode,
    parse_strategies,
)
from gpu_executors.significance import FINDING_ALPHA

SPACE_BITS_ENV = "SEEDSIEVE_SPACE_BITS"
BLOCK_BITS_ENV = "SEEDSIEVE_BLOCK_BITS"
SPACE_START_ENV = "SEEDSIEVE_SPACE_START"


@dataclass(frozen=True)
class SeedBlocks:
    """The scanned seed space ``[start, start + 2^space_bits)`` cut into 2^block_bits blocks."""

    start: int = 0
    space_bits: int = 22
    block_bits: int = 18

    def __post_init__(self) -> None:
        if not 0 <= self.block_bits <= self.space_bits <= 64:
            raise ValueError(f"need 0 <= block bits {self.block_bits} <= space bits "
                             f"{self.space_bits} <= 64")
        if self.space_bits - self.block_bits > 16:
            raise ValueError("more than 65,536 seed blocks: raise the block bits (Dagster "
                             "partition counts should stay in the thousands)")

    @property
    def count(self) -> int:
        return 1 << (self.space_bits - self.block_bits)

    @property
    def width(self) -> int:
        return len(f"{self.count - 1:x}")

    def partition_keys(self) -> list[str]:
        return [self.key(i) for i in range(self.count)]

    def key(self, index: int) -> str:
        return f"{index:0{self.width}x}"

    def seed_range(self, key: str) -> tuple[int, int]:
        index = int(key, 16)
        if not 0 <= index < self.count:
            raise ValueError(f"no seed block {key!r}")
        lo = self.start + (index << self.block_bits)
        return lo, lo + (1 << self.block_bits)

    def describe(self) -> str:
        return (f"seeds [{self.start:#x}, {self.start + (1 << self.space_bits):#x}) in "
                f"{self.count} blocks of 2^{self.block_bits}")


def seed_blocks_from_env() -> SeedBlocks:
    """Partitions are fixed when the code location loads; the environment picks them."""
    return SeedBlocks(
        start=int(os.environ.get(SPACE_START_ENV, "0"), 0),
        space_bits=int(os.environ.get(SPACE_BITS_ENV, "22")),
        block_bits=int(os.environ.get(BLOCK_BITS_ENV, "18")),
    )


@dataclass(frozen=True)
class SieveSettings:
    """Everything a survivor partition needs to scan its block; its hash names the run."""

    generator: str
    draw: str
    mode: str = "seed"
    window: int = 8
    offset_min: int = 0
    offset_max: int = 0  # inclusive
    gap_min: int = 0
    gap_max: int = 0  # inclusive
    gap_mode: GapMode = GapMode.CONSTANT  # a name is converted
    max_misses: int = 0
    anchor: int = 0
    seed_start: int = 0
    seed_stop: int = 1 << 64
    # variable gaps: the strategies every candidate tries (see ``strategies``)
    gap_strategies: tuple[GapStrategy, ...] = ALL_STRATEGIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "gap_mode", parse_mode(self.gap_mode))
        object.__setattr__(self, "gap_strategies", parse_strategies(self.gap_strategies))

    @classmethod
    def from_dict(cls, d: dict) -> SieveSettings:
        """Read a stored record; one written before gap modes has ``variable_gap`` instead."""
        d = dict(d)
        if "variable_gap" in d:
            d["gap_mode"] = GapMode.VARIABLE if d.pop("variable_gap") else GapMode.CONSTANT
        return cls(**d)

    @property
    def variable_gap(self) -> bool:
        """Whether any scan of these settings walks variable gaps."""
        return self.gap_mode is not GapMode.CONSTANT

    def validate(self, n_train: int | None = None) -> None:
        from gpu_executors.linear.registry import linear_only, linear_only_refusal

        if linear_only(self.generator):  # V8: the linear route's, never a seed scan's
            if self.mode != "linear":
                raise ValueError(linear_only_refusal(self.generator, f"mode {self.mode!r}"))
        else:
            check_compatible(get_generator(self.generator), parse_draw(self.draw))
        if self.seed_start >= self.seed_stop:
            raise ValueError(f"empty seed range {self.seed_start}:{self.seed_stop}")
        if not 0 <= self.gap_min <= self.gap_max:
            raise ValueError(f"gap_min {self.gap_min} > gap_max {self.gap_max}")
        if not 0 <= self.offset_min <= self.offset_max:
            raise ValueError(f"offset_min {self.offset_min} > offset_max {self.offset_max}")
        if self.window < 1 or not 0 <= self.max_misses < self.window:
            raise ValueError(f"window {self.window} / max_misses {self.max_misses}: need "
                             "window >= 1 and 0 <= max_misses < window")
        if self.mode == "state" and self.variable_gap:
            raise ValueError("state scans use a constant gap (gap_mode constant)")
        if n_train is not None and self.window > n_train:
            raise ValueError(f"window {self.window} is longer than the train split "
                             f"({n_train} draws)")
        if self.mode == "linear":
            from gpu_executors.sieve.linear import check_linear_pair  # the solver, on demand

            check_linear_pair(self.generator, self.draw)
            if n_train is not None and self.window >= n_train:
                raise ValueError(f"mode linear solves from the first window draws and holds "
                                 f"the rest of the train split back to confirm the state: "
                                 f"window {self.window} leaves none of the {n_train}")

    def to_dict(self) -> dict:
        """JSON-ready: enums as their names, the strategies as a list."""
        out = asdict(self)
        out["gap_mode"] = self.gap_mode.value
        out["gap_strategies"] = [s.value for s in self.gap_strategies]
        return out

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def scan_specs(self, train: np.ndarray, lo: int, hi: int) -> list[ScanSpec]:
        """The scans of seeds ``[lo, hi)`` clipped to the settings and the seed width: one per
        gap mode (constant first; "both" runs two); none when the range is outside, or in
        linear mode (the state is solved by survivor_pool, no seed is scanned)."""
        if self.mode == "linear":
            return []
        width = get_generator(self.generator).seed_bits
        lo, hi = max(lo, self.seed_start), min(hi, self.seed_stop, 1 << width)
        if lo >= hi:
            return []
        return [self._spec(train, lo, hi, v) for v in self.gap_mode.variable_flags]

    def scan_spec(self, train: np.ndarray, lo: int, hi: int) -> ScanSpec | None:
        """The one scan of a single-mode setting (``scan_specs`` for "both")."""
        if self.gap_mode is GapMode.BOTH:
            raise ValueError("gap_mode both runs two scans: use scan_specs")
        specs = self.scan_specs(train, lo, hi)
        return specs[0] if specs else None

    def _spec(self, train: np.ndarray, lo: int, hi: int, variable: bool) -> ScanSpec:
        return ScanSpec(
            generator=self.generator,
            draw=self.draw,
            draws=tuple(int(v) for v in train[: self.window]),
            seed_start=lo,
            seed_stop=hi,
            offset_start=self.offset_min,
            offset_stop=self.offset_max + 1,
            gap_min=self.gap_min,
            gap_max=self.gap_max,
            variable_gap=variable,
            max_misses=self.max_misses,
            mode=self.mode,
            anchor=self.anchor,
            gap_strategies=self.gap_strategies,
        )


SEARCHED = ("window", "offset_max", "gap_min", "gap_max", "gap_mode", "max_misses")


@dataclass(frozen=True)
class SearchBounds:
    """The window optimiser's search space. The defaults are the widest gap and offset ranges
    at which the loosest setting they allow still singles out a seed (``loosest_null``, checked
    by a test): window from 8 draws, gaps 0-12, offsets 0-16, every gap mode."""

    window: tuple[int, int] = (8, 16)
    offset: tuple[int, int] = (0, 16)
    gap: tuple[int, int] = (0, 12)
    max_misses: tuple[int, int] = (0, 1)
    anchor: tuple[int, int] = (0, 0)
    gap_modes: tuple[GapMode, ...] = tuple(GapMode)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gap_modes", tuple(parse_mode(m) for m in self.gap_modes))

    def validate(self) -> None:
        for name in ("window", "offset", "gap", "max_misses", "anchor"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} bounds {lo}:{hi} need 0 <= lo <= hi")
        if self.window[0] < 1:
            raise ValueError("window bounds must start at 1 or more")
        if not self.gap_modes or len(set(self.gap_modes)) != len(self.gap_modes):
            raise ValueError(f"gap modes {[m.value for m in self.gap_modes]}: need at least "
                             "one, none twice")


# The space ``loosest_null`` sizes the default bounds for: a 32-bit seed space, draws mod 1000.
BOUNDS_SEEDS = 1 << 32
BOUNDS_DRAW = "mod:1000"


def loosest_null(bounds: SearchBounds, seeds: int = BOUNDS_SEEDS, draw: str = BOUNDS_DRAW,
                 generator: str = "lcg32") -> float:
    """Chance survivors of the loosest setting the bounds allow (shortest window, widest offset
    and gap ranges, the most misses, variable gaps with every strategy when a mode allows them)
    over ``seeds`` seeds: below ``FINDING_ALPHA``, one survivor of any setting is a finding."""
    window, misses = bounds.window[0], min(bounds.max_misses[1], bounds.window[0] - 1)
    const = ScanSpec(generator, draw, tuple(range(window)), seed_start=0, seed_stop=1,
                     offset_start=bounds.offset[0], offset_stop=bounds.offset[1] + 1,
                     gap_min=bounds.gap[0], gap_max=bounds.gap[1], max_misses=misses)
    var = dataclasses.replace(const, variable_gap=True)
    per_mode = {GapMode.CONSTANT: const.null_expected(), GapMode.VARIABLE: var.null_expected()}
    per_mode[GapMode.BOTH] = per_mode[GapMode.CONSTANT] + per_mode[GapMode.VARIABLE]
    return max(per_mode[m] for m in bounds.gap_modes) * seeds


def suggest_settings(trial, base: SieveSettings, bounds: SearchBounds) -> SieveSettings:
    """One Optuna trial's settings; every searched name is a real trial parameter (the gap mode
    a categorical of ``GapMode`` names; state scans walk constant gaps only)."""
    window = trial.suggest_int("window", *bounds.window)
    gap_min = trial.suggest_int("gap_min", *bounds.gap)
    gap_max = trial.suggest_int("gap_max", gap_min, max(gap_min, bounds.gap[1]))
    mm_hi = min(bounds.max_misses[1], window - 1)
    max_misses = trial.suggest_int("max_misses", min(bounds.max_misses[0], mm_hi), mm_hi)
    modes = [m.value for m in bounds.gap_modes]
    if base.mode == "state":
        modes = [GapMode.CONSTANT.value]
    changes = {
        "window": window,
        "offset_min": bounds.offset[0],
        "offset_max": trial.suggest_int("offset_max", *bounds.offset),
        "gap_min": gap_min,
        "gap_max": gap_max,
        "gap_mode": GapMode(trial.suggest_categorical("gap_mode", modes)),
        "max_misses": max_misses,
    }
    if base.mode == "state":
        changes["anchor"] = trial.suggest_int("anchor", bounds.anchor[0],
                                              min(bounds.anchor[1], window - 1))
    return dataclasses.replace(base, **changes)


def scan_blocks(
    settings: SieveSettings,
    train: np.ndarray,
    ranges: Sequence[tuple[int, int]],
    scan: Callable[[ScanSpec], ScanResult],
) -> dict:
    """Scan some seed blocks with ``settings``: survivors against the null, as evidence.

    Gap mode "both" scans every block twice (constant, then variable gaps). Its evidence is the
    joint count against the joint null: the survivor rows of both scans together (a candidate
    kept by both counts once per scan, as its two rows do in the pool) against the sum of both
    scans' expected chance counts, by the same Poisson tail. Expected counts add whatever the
    dependence between the two scans, so the null is exact in mean; the per-mode figures are
    kept too (``by_mode``).
    """
    by_mode: dict[str, dict] = {}
    for lo, hi in ranges:
        for spec in settings.scan_specs(train, lo, hi):
            result = scan(spec)
            mode = (GapMode.VARIABLE if spec.variable_gap else GapMode.CONSTANT).value
            figures = by_mode.setdefault(mode, {"survivors": 0, "candidates": 0,
                                                "null_expected": 0.0})
            figures["survivors"] += result.survivors.height
            figures["candidates"] += result.candidates_scanned
            figures["null_expected"] += result.null_expected
    survivors = sum(f["survivors"] for f in by_mode.values())
    null = sum(f["null_expected"] for f in by_mode.values())
    return {
        "survivors": survivors,
        "candidates": sum(f["candidates"] for f in by_mode.values()),
        "null_expected": null,
        "p_value": survivor_p_value(survivors, null),
        "evidence": evidence(survivors, null),
        "by_mode": by_mode,
    }


def merge_pool(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """One row per candidate (seed, offset, gap, gaps); the best match count kept."""
    if not frames:
        return pl.DataFrame(schema={**SURVIVOR_SCHEMA, "block": pl.Utf8})
    pool = pl.concat(frames, how="vertical_relaxed")
    return (
        pool.sort("matches", descending=True)
        .unique(subset=["seed", "generator", "draw", "offset", "gap", "gaps"], keep="first",
                maintain_order=True)
        .sort(["matches", "seed"], descending=[True, False])
    )


def tier_nulls(settings: SieveSettings, train: np.ndarray,
               candidates: dict[bool, int] | int) -> dict[int, float]:
    """Expected chance survivors with at least ``k`` matches, for every ``k`` the sieve keeps.

    ``candidates``: scanned per scan (``{variable_gap: count}``), or one count for a
    single-mode setting; gap mode "both" sums its two scans' tiers (the joint null)."""
    specs = [settings._spec(train, 0, 1, v) for v in settings.gap_mode.variable_flags]
    if isinstance(candidates, int):
        candidates = {s.variable_gap: candidates for s in specs}
    lowest = settings.window - settings.max_misses
    out = dict.fromkeys(range(lowest, settings.window + 1), 0.0)
    for spec in specs:
        n = candidates.get(spec.variable_gap, 0)
        for probs in spec.match_probabilities():
            for k in out:
                out[k] += n * pass_probability(probs, settings.window - k)
    return out


def pool_stats(
    pool: pl.DataFrame,
    block_stats: Sequence[dict],
    expected_blocks: int,
    tiers: dict[int, float] | None = None,
) -> dict:
    """Run-level figures of the pool: coverage, survivors against the null, with a p-value.

    A loose sieve keeps thousands of chance survivors, which would hide one true candidate in
    the total; so the count at or above each match tier is also set against its own null, and
    the most significant tier (Bonferroni over the tiers) decides ``significant``.
    """
    candidates = sum(s["candidates_scanned"] for s in block_stats)
    null = sum(s["null_expected"] for s in block_stats)
    n = pool.height
    p = survivor_p_value(n, null)
    tier_rows = []
    for k, expected in sorted((tiers or {}).items()):
        observed = int((pool["matches"] >= k).sum()) if n else 0
        tier_rows.append({"min_matches": k, "observed": observed, "null_expected": expected,
                          "p_value": survivor_p_value(observed, expected)})
    best = min(tier_rows, key=lambda r: r["p_value"], default=None)
    tier_p = min(1.0, best["p_value"] * len(tier_rows)) if best else p
    return {
        "survivors": n,
        "candidates_scanned": candidates,
        "partitions_expected": expected_blocks,
        "partitions_covered": len(block_stats),
        "partitions_missing": expected_blocks - len(block_stats),
        "null_expected": null,
        "excess_over_null": n - null,
        "p_value": p,
        "tiers": tier_rows,
        "best_tier": best,
        "tier_p_value": tier_p,
        "significant": bool(n and min(p, tier_p) < FINDING_ALPHA),
    }
