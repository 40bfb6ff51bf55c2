"""Variable-gap strategies: how a variable-gap walk looks for each draw's gap.

A strategy is a (max consecutive misses, tolerance) pair, as in the original system: the first
gap is looked for over the whole ``[gap_min, gap_max]``; each later one within ``tolerance`` of
the expected gap, which follows the last gap that matched. A draw that matches nowhere is a miss,
taken at the expected gap; a walk stops after more than ``max_consecutive`` misses in a row, or
more than the scan's ``max_misses`` in all. ``GREEDY`` is the rule the sieve had before
strategies: every gap looked for over the whole range, a miss taken at ``gap_min``, no limit on
consecutive misses. Each candidate keeps the strategy with the fewest misses, ties to the
strictest (the order of ``GapStrategy``), with its gap sequence.

The null model: under chance a draw after the first matches if any of its gap choices does, so
a strategy's per-draw match probability is ``1 - (1 - p) ** choices`` with choices ``n_gaps``
for the first gap and ``min(2 * tolerance + 1, n_gaps)`` after; ignoring the consecutive-miss
limit and the range edges only overstates it. A candidate survives if any strategy passes, so
the expected count is bounded by the sum over strategies (the union bound): conservative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class GapStrategy(StrEnum):
    """The strategies, strictest first (a tie between strategies goes to the earlier)."""

    STEADY = "steady"
    DRIFT = "drift"
    WIDE = "wide"
    GREEDY = "greedy"


class GapMode(StrEnum):
    """Which gaps a scan or a trial tries: one constant gap, variable gaps, or both."""

    CONSTANT = "constant"
    VARIABLE = "variable"
    BOTH = "both"

    @property
    def variable_flags(self) -> tuple[bool, ...]:
        """The scans this mode runs, as ``ScanSpec.variable_gap`` values."""
        return {GapMode.CONSTANT: (False,), GapMode.VARIABLE: (True,),
                GapMode.BOTH: (False, True)}[self]


@dataclass(frozen=True)
class StrategyRule:
    """``None``: no limit (consecutive misses: only the scan's ``max_misses``; tolerance: the
    whole gap range for every draw)."""

    max_consecutive: int | None
    tolerance: int | None

    def choices(self, n_gaps: int) -> int:
        """Gaps tried for a draw after the second (the first gap is tried over the range)."""
        return n_gaps if self.tolerance is None else min(2 * self.tolerance + 1, n_gaps)


RULES: dict[GapStrategy, StrategyRule] = {
    GapStrategy.STEADY: StrategyRule(max_consecutive=1, tolerance=1),
    GapStrategy.DRIFT: StrategyRule(max_consecutive=2, tolerance=2),
    GapStrategy.WIDE: StrategyRule(max_consecutive=3, tolerance=4),
    GapStrategy.GREEDY: StrategyRule(max_consecutive=None, tolerance=None),
}
ALL_STRATEGIES: tuple[GapStrategy, ...] = tuple(GapStrategy)


def parse_strategies(names: Iterable[str | GapStrategy]) -> tuple[GapStrategy, ...]:
    """Strategies in their strictness order; an unknown or repeated name, or none, is an error."""
    out: list[GapStrategy] = []
    for name in names:
        try:
            s = GapStrategy(name)
        except ValueError:
            valid = ", ".join(g.value for g in GapStrategy)
            raise ValueError(f"unknown gap strategy {name!r}; valid: {valid}") from None
        if s in out:
            raise ValueError(f"gap strategy {s.value!r} given twice")
        out.append(s)
    if not out:
        raise ValueError("no gap strategy given")
    return tuple(sorted(out, key=ALL_STRATEGIES.index))


def parse_mode(mode: str | GapMode) -> GapMode:
    try:
        return GapMode(mode)
    except ValueError:
        valid = ", ".join(m.value for m in GapMode)
        raise ValueError(f"unknown gap mode {mode!r}; valid: {valid}") from None


def rule_array(strategies: Sequence[GapStrategy]) -> np.ndarray:
    """``[(max_consecutive, tolerance), ...]`` flattened for the kernels; -1 for no limit."""
    flat: list[int] = []
    for s in strategies:
        rule = RULES[s]
        flat += [-1 if rule.max_consecutive is None else rule.max_consecutive,
                 -1 if rule.tolerance is None else rule.tolerance]
    return np.asarray(flat, dtype=np.int64)


def strategy_match_probabilities(value_probs: np.ndarray, n_gaps: int,
                                 strategy: GapStrategy) -> np.ndarray:
    """Per-draw chance match probability of one strategy's walk (see the module docstring)."""
    p = np.asarray(value_probs, dtype=np.float64).copy()
    if p.size > 1:
        p[1] = 1.0 - (1.0 - p[1]) ** n_gaps
    if p.size > 2:
        p[2:] = 1.0 - (1.0 - p[2:]) ** RULES[strategy].choices(n_gaps)
    return p
