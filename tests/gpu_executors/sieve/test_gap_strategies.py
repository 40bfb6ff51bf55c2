"""Variable-gap strategies: each recovers the gap pattern it is built for, a stricter one misses
it, and the numba walks equal the Python reference per candidate for every strategy."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.spec import ScanSpec
from gpu_executors.sieve.strategies import (
    ALL_STRATEGIES,
    RULES,
    GapMode,
    GapStrategy,
    parse_mode,
    parse_strategies,
)
from tests.gpu_executors.sieve.test_sieve import plant

GEN, DRAW = "lcg32", "mod:1000"
SEED, OFFSET = 2_900_012_345, 2
GAP_MIN, GAP_MAX = 0, 8

# Gap sequences of 11 gaps (12 draws), each jumping by just what its strategy tolerates.
PLANTED = {
    GapStrategy.STEADY: [3, 4, 4, 3, 2, 3, 4, 5, 4, 4, 3],  # +-1
    GapStrategy.DRIFT: [3, 5, 3, 1, 3, 5, 5, 3, 4, 2, 4],  # +-2
    GapStrategy.WIDE: [1, 5, 1, 5, 2, 6, 2, 6, 3, 7, 3],  # +-4
    GapStrategy.GREEDY: [0, 7, 0, 7, 1, 8, 1, 8, 0, 7, 0],  # +-7
}
STRICTER = {GapStrategy.DRIFT: GapStrategy.STEADY, GapStrategy.WIDE: GapStrategy.DRIFT,
            GapStrategy.GREEDY: GapStrategy.WIDE}


def _scan(draws, strategies=ALL_STRATEGIES, max_misses=0, lo=SEED - 40, hi=SEED + 40,
          variable=True, **kw) -> list[dict]:
    spec = ScanSpec(GEN, DRAW, draws, seed_start=lo, seed_stop=hi, offset_stop=4,
                    gap_min=GAP_MIN, gap_max=GAP_MAX, variable_gap=variable,
                    max_misses=max_misses, gap_strategies=strategies, **kw)
    return cpu_scan(spec).survivors.to_dicts()


@pytest.mark.parametrize("strategy", list(PLANTED))
def test_each_strategy_recovers_its_pattern(strategy: GapStrategy) -> None:
    gaps = PLANTED[strategy]
    draws = plant(GEN, DRAW, SEED, len(gaps) + 1, OFFSET, gaps)
    found = _scan(draws)
    assert [(r["seed"], r["offset"], r["gaps"], r["strategy"], r["matches"]) for r in found] == [
        (SEED, OFFSET, gaps, strategy.value, len(draws))], "kept by the strictest that fits"
    assert [r["gaps"] for r in _scan(draws, (strategy,))] == [gaps]
    if strategy in STRICTER:
        assert _scan(draws, (STRICTER[strategy],)) == [], "a stricter strategy misses it"
    else:  # the strictest: a constant gap misses it
        assert _scan(draws, variable=False) == []


def test_consecutive_miss_limit() -> None:
    """Two corrupted draws in a row, the gap steady: STEADY (at most 1 in a row) drops the
    seed, DRIFT (2) keeps it with 2 misses, taking each missed draw at the expected gap."""
    gaps = [3] * 11
    draws = list(plant(GEN, DRAW, SEED, 12, OFFSET, gaps))
    for i in (5, 6):
        draws[i] = (draws[i] + 1) % 1000
    assert RULES[GapStrategy.STEADY].max_consecutive == 1
    assert _scan(tuple(draws), (GapStrategy.STEADY,), max_misses=2) == []
    found = _scan(tuple(draws), (GapStrategy.STEADY, GapStrategy.DRIFT), max_misses=2)
    assert [(r["seed"], r["strategy"], r["gaps"], r["matches"]) for r in found] == [
        (SEED, "drift", gaps, 10)]


@pytest.mark.parametrize("strategies", [(s,) for s in GapStrategy] + [ALL_STRATEGIES],
                         ids=[s.value for s in GapStrategy] + ["all"])
def test_cpu_equals_reference_per_candidate(strategies: tuple[GapStrategy, ...]) -> None:
    """Draws of 8 values, so chance candidates survive with misses and every rule (tolerance,
    misses at the expected gap, the consecutive limit, ties) is compared too."""
    draws = (3, 5, 0, 7, 7, 2, 1, 6, 4)
    spec = ScanSpec(GEN, "mod:8", draws, seed_start=1000, seed_stop=1040, offset_stop=3,
                    gap_min=1, gap_max=7, variable_gap=True, max_misses=3,
                    gap_strategies=strategies)
    cpu, ref = cpu_scan(spec), reference_scan(spec)
    assert cpu.survivors.height > 5
    assert_frame_equal(cpu.survivors, ref.survivors)
    assert cpu.null_expected == pytest.approx(ref.null_expected)


def test_null_sums_the_strategies() -> None:
    spec = ScanSpec(GEN, DRAW, (1, 2, 3, 4, 5, 6), seed_start=0, seed_stop=1 << 20,
                    gap_max=8, variable_gap=True, max_misses=1)
    each = [ScanSpec(**{**spec.__dict__, "gap_strategies": (s,)}).null_expected()
            for s in GapStrategy]
    assert spec.null_expected() == pytest.approx(sum(each))
    steady, drift, wide, greedy = each
    assert steady < drift < wide <= greedy, "a tighter tolerance has fewer chance survivors"


def test_names_are_checked() -> None:
    assert parse_strategies(["greedy", "steady"]) == (GapStrategy.STEADY, GapStrategy.GREEDY)
    assert parse_mode("both") is GapMode.BOTH
    with pytest.raises(ValueError, match="unknown gap strategy 'fast'"):
        parse_strategies(["fast"])
    with pytest.raises(ValueError, match="given twice"):
        parse_strategies(["steady", "steady"])
    with pytest.raises(ValueError, match="no gap strategy"):
        ScanSpec(GEN, DRAW, (1, 2), gap_strategies=())
    with pytest.raises(ValueError, match="unknown gap mode"):
        parse_mode("sometimes")
