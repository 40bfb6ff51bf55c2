"""What a sieve run scans and how its blocks add up: seed blocks, the sieve settings, the window
optimiser's search space and trial evaluation, and the survivor pool with its null figures.

Plain functions and records, so tests call them without Dagster; the asset layer
(``prng_assets/assets/sieve.py``) is a thin wrapper that owns the Optuna study itself.
"""

from __future__ import annotations

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
    draw_match_probabilities,
    evidence,
    pass_probability,
    survivor_p_value,
)
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA, ScanResult, ScanSpec
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
    variable_gap: bool = False
    max_misses: int = 0
    anchor: int = 0
    seed_start: int = 0
    seed_stop: int = 1 << 64

    def validate(self, n_train: int | None = None) -> None:
        gen = get_generator(self.generator)
        check_compatible(gen, parse_draw(self.draw))
        if self.seed_start >= self.seed_stop:
            raise ValueError(f"empty seed range {self.seed_start}:{self.seed_stop}")
        if not 0 <= self.gap_min <= self.gap_max:
            raise ValueError(f"gap_min {self.gap_min} > gap_max {self.gap_max}")
        if not 0 <= self.offset_min <= self.offset_max:
            raise ValueError(f"offset_min {self.offset_min} > offset_max {self.offset_max}")
        if self.window < 1 or not 0 <= self.max_misses < self.window:
            raise ValueError(f"window {self.window} / max_misses {self.max_misses}: need "
                             "window >= 1 and 0 <= max_misses < window")
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
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def scan_spec(self, train: np.ndarray, lo: int, hi: int) -> ScanSpec | None:
        """The scan of seeds ``[lo, hi)`` clipped to the settings and the seed width."""
        if self.mode == "linear":  # the state is solved (survivor_pool), no seed is scanned
            return None
        width = get_generator(self.generator).seed_bits
        lo, hi = max(lo, self.seed_start), min(hi, self.seed_stop, 1 << width)
        if lo >= hi:
            return None
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
            variable_gap=self.variable_gap,
            max_misses=self.max_misses,
            mode=self.mode,
            anchor=self.anchor,
        )


SEARCHED = ("window", "offset_max", "gap_min", "gap_max", "max_misses")


@dataclass(frozen=True)
class SearchBounds:
    window: tuple[int, int] = (6, 16)
    offset: tuple[int, int] = (0, 8)
    gap: tuple[int, int] = (0, 4)
    max_misses: tuple[int, int] = (0, 1)
    anchor: tuple[int, int] = (0, 0)

    def validate(self) -> None:
        for name in ("window", "offset", "gap", "max_misses", "anchor"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} bounds {lo}:{hi} need 0 <= lo <= hi")
        if self.window[0] < 1:
            raise ValueError("window bounds must start at 1 or more")


def suggest_settings(trial, base: SieveSettings, bounds: SearchBounds) -> SieveSettings:
    """One Optuna trial's settings; every searched name is a real trial parameter."""
    window = trial.suggest_int("window", *bounds.window)
    gap_min = trial.suggest_int("gap_min", *bounds.gap)
    gap_max = trial.suggest_int("gap_max", gap_min, max(gap_min, bounds.gap[1]))
    mm_hi = min(bounds.max_misses[1], window - 1)
    max_misses = trial.suggest_int("max_misses", min(bounds.max_misses[0], mm_hi), mm_hi)
    changes = {
        "window": window,
        "offset_min": bounds.offset[0],
        "offset_max": trial.suggest_int("offset_max", *bounds.offset),
        "gap_min": gap_min,
        "gap_max": gap_max,
        "max_misses": max_misses,
    }
    if base.mode == "state":
        changes["anchor"] = trial.suggest_int("anchor", bounds.anchor[0],
                                              min(bounds.anchor[1], window - 1))
    return SieveSettings(**{**base.to_dict(), **changes})


def scan_blocks(
    settings: SieveSettings,
    train: np.ndarray,
    ranges: Sequence[tuple[int, int]],
    scan: Callable[[ScanSpec], ScanResult],
) -> dict:
    """Scan some seed blocks with ``settings``: survivors against the null, as evidence."""
    survivors = candidates = 0
    null = 0.0
    for lo, hi in ranges:
        spec = settings.scan_spec(train, lo, hi)
        if spec is None:
            continue
        result = scan(spec)
        survivors += result.survivors.height
        candidates += result.candidates_scanned
        null += result.null_expected
    return {
        "survivors": survivors,
        "candidates": candidates,
        "null_expected": null,
        "p_value": survivor_p_value(survivors, null),
        "evidence": evidence(survivors, null),
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


def tier_nulls(settings: SieveSettings, train: np.ndarray, candidates: int) -> dict[int, float]:
    """Expected chance survivors with at least ``k`` matches, for every ``k`` the sieve keeps."""
    gen, spec = get_generator(settings.generator), parse_draw(settings.draw)
    probs = draw_match_probabilities(
        gen, spec, np.asarray(train[: settings.window]),
        settings.gap_max - settings.gap_min + 1 if settings.variable_gap else 1)
    lowest = settings.window - settings.max_misses
    return {k: candidates * pass_probability(probs, settings.window - k)
            for k in range(lowest, settings.window + 1)}


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
