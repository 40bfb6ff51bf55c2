"""What a scan asks and what it answers, independent of the executor that runs it.

Indexing (the one definition the sieve, features, targets and predictions share): the generator
is seeded, ``offset`` words are discarded, draw 0 is taken, then ``gap`` words (or ``gaps[i]`` in
variable-gap mode) are discarded before each following draw. In a state scan, the candidate is
the state just before draw ``anchor``; draws after it are matched stepping forward, draws before
it stepping backward with the generator's inverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import polars as pl

from gpu_executors.devices import DeviceReport
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import DrawSpec, check_compatible, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.null_model import pass_probability, survivor_p_value, value_probabilities
from gpu_executors.sieve.strategies import (
    ALL_STRATEGIES,
    GapStrategy,
    parse_strategies,
    strategy_match_probabilities,
)

Progress = Callable[[int, int, int], None]  # (candidates done, candidates total, survivors)

SURVIVOR_SCHEMA = {
    "seed": pl.UInt64,  # the seed (seed scan) or the state at the anchor (state scan)
    "generator": pl.Utf8,
    "draw": pl.Utf8,
    "offset": pl.Int64,
    "gap": pl.Int64,  # constant gap; -1 in variable-gap mode
    "gaps": pl.List(pl.Int64),  # per-draw gaps (variable-gap mode), else empty
    "strategy": pl.Utf8,  # the variable-gap strategy that kept it (``GapStrategy``), else null
    "forward_matches": pl.Int64,
    "reverse_matches": pl.Int64,
    "matches": pl.Int64,
    "match_rate": pl.Float64,
}
# What an executor collects per survivor; survivors_frame derives the rest of the schema.
SURVIVOR_COLUMNS = ("seed", "offset", "gap", "gaps", "strategy", "forward_matches",
                    "reverse_matches")


def empty_columns() -> dict[str, list]:
    """An executor's per-survivor column lists, to fill and pass to ``survivors_frame``."""
    return {k: [] for k in SURVIVOR_COLUMNS}


class ScanMode(StrEnum):
    """What a candidate is: a seed fed through the seeding, or a full state at an anchor draw."""

    SEED = "seed"
    STATE = "state"


@dataclass(frozen=True)
class ScanSpec:
    """One scan: which generator and draw function, which candidates, how strict."""

    generator: str
    draw: str
    draws: tuple[int, ...]
    seed_start: int = 0
    seed_stop: int | None = None  # default: the generator's default seed space
    offset_start: int = 0
    offset_stop: int = 1  # half-open
    gap_min: int = 0
    gap_max: int = 0  # inclusive
    variable_gap: bool = False
    max_misses: int = 0
    mode: ScanMode = ScanMode.SEED  # a plain "seed" / "state" is converted
    anchor: int = 0  # state scans: index of the draw the candidate state precedes
    # variable-gap scans: the strategies each candidate tries (names are converted)
    gap_strategies: tuple[GapStrategy, ...] = ALL_STRATEGIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "gap_strategies", parse_strategies(self.gap_strategies))
        try:
            object.__setattr__(self, "mode", ScanMode(self.mode))
        except ValueError:
            valid = ", ".join(m.value for m in ScanMode)
            raise ValueError(f"unknown scan mode {self.mode!r}; valid: {valid}") from None

    @property
    def gen(self) -> Generator:
        return get_generator(self.generator)

    @property
    def draw_spec(self) -> DrawSpec:
        return parse_draw(self.draw)

    @property
    def stop(self) -> int:
        if self.seed_stop is not None:
            return self.seed_stop
        if self.mode is ScanMode.STATE:
            return 1 << (self.gen.state_bits or 0)
        return self.gen.default_seed_space

    @property
    def n_seeds(self) -> int:
        return self.stop - self.seed_start

    @property
    def n_offsets(self) -> int:
        return self.offset_stop - self.offset_start

    @property
    def n_gaps(self) -> int:
        return self.gap_max - self.gap_min + 1

    @property
    def candidates(self) -> int:
        gaps = 1 if self.variable_gap else self.n_gaps
        return self.n_seeds * self.n_offsets * gaps

    def last_word(self, n_draws: int | None = None) -> int:
        """Highest output index a candidate reads over its first ``n_draws`` draws (default:
        all) when no draw is rejected: what a lazy generator must compute."""
        n = len(self.draws) if n_draws is None else n_draws
        return self.offset_stop - 1 + (n - 1) * (self.gap_max + 1)

    def observed(self) -> np.ndarray:
        return np.asarray(self.draws, dtype=np.int64)

    def validate(self) -> None:
        """Raise ValueError with a message a user can act on."""
        gen, spec = self.gen, self.draw_spec
        check_compatible(gen, spec)
        if not self.draws:
            raise ValueError("no draws given")
        lo, hi = spec.low, spec.low + spec.n_values
        for i, v in enumerate(self.draws):
            if not lo <= v < hi:
                raise ValueError(f"draw #{i} = {v} is outside {spec.text}'s range [{lo}, {hi})")
        state = self.mode is ScanMode.STATE
        width = gen.state_bits if state else gen.seed_bits
        if width is None:
            raise ValueError(f"{gen.name}'s state does not fit 64 bits: no state scan")
        if state and gen.prev is None:
            raise ValueError(f"{gen.name} has no inverse step: no state scan")
        if not 0 <= self.seed_start < self.stop <= (1 << width):
            raise ValueError(
                f"seed range {self.seed_start}:{self.stop} is empty, inverted or beyond "
                f"{gen.name}'s {width}-bit {self.mode} space"
            )
        if not 0 <= self.offset_start < self.offset_stop:
            raise ValueError(f"offset range {self.offset_start}:{self.offset_stop} is empty")
        if not 0 <= self.gap_min <= self.gap_max:
            raise ValueError(f"gap range {self.gap_min}:{self.gap_max} needs 0 <= min <= max")
        if self.max_misses < 0 or self.max_misses >= len(self.draws):
            raise ValueError(f"max_misses {self.max_misses} must be in [0, {len(self.draws)})")
        if state and not 0 <= self.anchor < len(self.draws):
            raise ValueError(f"anchor {self.anchor} is not a draw index")
        if state and self.variable_gap:
            raise ValueError("state scans use a constant gap")

    def match_probabilities(self) -> list[np.ndarray]:
        """Per-draw chance match probabilities: one array per way a candidate may pass (each
        strategy of a variable-gap scan, see ``strategies``; the one constant gap)."""
        p = value_probabilities(self.gen, self.draw_spec, self.observed())
        if not self.variable_gap:
            return [p]
        return [strategy_match_probabilities(p, self.n_gaps, s) for s in self.gap_strategies]

    def null_expected(self) -> float:
        """Expected chance survivors; a variable-gap scan sums its strategies (union bound)."""
        return self.candidates * sum(
            pass_probability(p, self.max_misses) for p in self.match_probabilities())


@dataclass
class ScanResult:
    """Survivors (one row per surviving candidate), what the scan cost, and where it ran."""

    spec: ScanSpec
    survivors: pl.DataFrame
    candidates_scanned: int
    seconds: float
    backend: str
    null_expected: float
    complete: bool = True  # False when interrupted
    extra: dict = field(default_factory=dict)
    device: DeviceReport = field(default_factory=DeviceReport.on_cpu)

    @property
    def p_value(self) -> float:
        return survivor_p_value(self.survivors.height, self.null_expected)

    @property
    def rate(self) -> float:
        return self.candidates_scanned / self.seconds if self.seconds > 0 else float("nan")

    def stats(self) -> dict:
        return {
            "generator": self.spec.generator,
            "draw": self.spec.draw,
            "mode": self.spec.mode.value,
            "candidates_scanned": self.candidates_scanned,
            "survivors": self.survivors.height,
            "null_expected": self.null_expected,
            "p_value": self.p_value,
            "seconds": self.seconds,
            "candidates_per_second": self.rate,
            "backend": self.backend,
            "complete": self.complete,
            "device": self.device.as_dict(),
            **self.extra,
        }


def survivors_frame(spec: ScanSpec, columns: dict[str, np.ndarray | list]) -> pl.DataFrame:
    """Build the survivor table with its one schema from executor columns."""
    n = len(columns["seed"])
    n_draws = len(spec.draws)
    matches = np.asarray(columns["forward_matches"]) + np.asarray(columns["reverse_matches"])
    data = {
        "seed": np.asarray(columns["seed"], dtype=np.uint64),
        "generator": [spec.generator] * n,
        "draw": [spec.draw] * n,
        "offset": np.asarray(columns["offset"], dtype=np.int64),
        "gap": np.asarray(columns["gap"], dtype=np.int64),
        "gaps": [list(map(int, g)) for g in columns.get("gaps", [[]] * n)],
        "strategy": list(columns.get("strategy") or [None] * n),
        "forward_matches": np.asarray(columns["forward_matches"], dtype=np.int64),
        "reverse_matches": np.asarray(columns["reverse_matches"], dtype=np.int64),
        "matches": matches.astype(np.int64),
        "match_rate": matches / n_draws if n_draws else matches.astype(float),
    }
    return pl.DataFrame(data, schema=SURVIVOR_SCHEMA).sort(["seed", "offset", "gap"])
