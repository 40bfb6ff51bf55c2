"""The survivor record's evidence as features: gap statistics, gap mode and strategy."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from gpu_executors.ranking.matrix import SIEVE_COLUMNS, sieve_columns


def _pool(with_strategy: bool = True) -> pl.DataFrame:
    pool = pl.DataFrame({
        "offset": [0, 2, 1], "gap": [3, -1, -1], "gaps": [[], [1, 1, 3, 3], [2, 2, 2, 2]],
        "strategy": [None, "wide", "steady"], "forward_matches": [5, 5, 4],
        "reverse_matches": [0, 0, 0], "match_rate": [1.0, 1.0, 0.8]},
        schema_overrides={"gaps": pl.List(pl.Int64), "strategy": pl.Utf8})
    return pool if with_strategy else pool.drop("strategy")


def test_gap_statistics_mode_and_strategy() -> None:
    cols = sieve_columns(_pool())
    assert set(cols) == set(SIEVE_COLUMNS)
    np.testing.assert_array_equal(cols["sieve_variable_gap"], [0, 1, 1])
    np.testing.assert_array_equal(cols["sieve_gap_strategy"], [0, 3, 1])
    np.testing.assert_array_equal(cols["sieve_gap_range"], [0, 2, 0])
    np.testing.assert_allclose(cols["sieve_gap_entropy"], [0, 1, 0])
    np.testing.assert_allclose(cols["sieve_gap_mean"], [3, 2, 2])
    assert cols["sieve_gap_std"][1] == pytest.approx(1.0)
    assert all(math.isfinite(v) for c in cols.values() for v in c)


def test_a_pool_written_before_strategies_reads_as_greedy() -> None:
    cols = sieve_columns(_pool(with_strategy=False))
    np.testing.assert_array_equal(cols["sieve_gap_strategy"], [0, 4, 4])
