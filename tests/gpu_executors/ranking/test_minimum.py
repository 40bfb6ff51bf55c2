"""Pools too small to rank: one minimum, a reason per case, an empty matrix with the schema."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from gpu_executors.ranking.matrix import History, constant_columns, feature_matrix, schema
from gpu_executors.ranking.minimum import (
    MIN_RANKING_ROWS,
    pool_skip_reason,
    rankable_skip_reason,
)
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.ranking.schema import ScorerConfig
from gpu_executors.ranking.scorer import ScorerData
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA


def _pool(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "seed": np.arange(n, dtype=np.uint64),
            "generator": ["java_lcg"] * n,
            "draw": ["mod:1000"] * n,
            "offset": np.zeros(n, np.int64),
            "gap": np.zeros(n, np.int64),
            "gaps": [[]] * n,
            "strategy": [None] * n,
            "forward_matches": np.ones(n, np.int64),
            "reverse_matches": np.zeros(n, np.int64),
            "matches": np.ones(n, np.int64),
            "match_rate": np.full(n, 0.1),
        },
        schema=SURVIVOR_SCHEMA,
    )


HISTORY = History(np.arange(100, dtype=np.int64) * 7 % 1000, 80, "java_lcg", "mod:1000", 10)


def test_the_minimum_is_twenty_and_the_reasons_name_the_case() -> None:
    assert MIN_RANKING_ROWS == 20
    assert pool_skip_reason(0).startswith("the survivor pool is empty: ")
    assert pool_skip_reason(1).startswith("the survivor pool has 1 rows: ranking needs at least 20")
    assert pool_skip_reason(19) is not None
    assert pool_skip_reason(20) is None
    assert rankable_skip_reason(25, 0) is None
    assert rankable_skip_reason(25, 6) == (
        "6 of 25 survivors are confirmed, leaving 19 to rank: ranking needs at least 20; "
        "predictions come from the confirmed candidates"
    )
    assert rankable_skip_reason(5, 5) == pool_skip_reason(5)
    with pytest.raises(ValueError, match="confirmed must be in"):
        rankable_skip_reason(3, 4)


def test_the_scorer_split_refuses_the_same_minimum() -> None:
    assert len(ScorerData.split(_pool(MIN_RANKING_ROWS), HISTORY, seed=0).search_idx) == 10
    with pytest.raises(ValueError, match="has 19 rows: the scorer needs at least 20"):
        ScorerData.split(_pool(MIN_RANKING_ROWS - 1), HISTORY, seed=0)


def test_empty_pool_gives_an_empty_matrix_with_the_schema() -> None:
    empty = feature_matrix(_pool(0), HISTORY, ScorerConfig())
    full = feature_matrix(_pool(3), HISTORY, ScorerConfig())
    assert empty.height == 0 and full.height == 3
    assert empty.schema == full.schema
    assert empty.columns == list(schema())


def test_constant_columns_need_two_rows() -> None:
    values = np.array([[1.0, 2.0, 3.0], [1.0, 5.0, 3.0]])
    assert constant_columns(values, ["a", "b", "c"], {"c"}) == ["a"]
    assert constant_columns(values[:1], ["a", "b", "c"], set()) == []
    assert constant_columns(values[:0], ["a", "b", "c"], set()) == []


def test_skipped_scorer_record_round_trips_and_keeps_the_default_configuration() -> None:
    record = ScorerRecord.skipped(
        pool_skip_reason(1),
        objective="o",
        target="t",
        searched=["a"],
        sample_size=200,
        pool_rows=1,
        sampler_seed=0,
        inputs={"survivor_pool_sha256": "x"},
    )
    raw = json.loads(json.dumps(record.to_dict()))
    assert raw["status"] == "skipped" and raw["reason"].startswith("the survivor pool has 1")
    assert raw["scorer_digest"] == ScorerConfig().digest()
    assert raw["trials_completed"] == 0 and raw["best_params"] == {}
    assert ScorerRecord.from_dict(raw) == record and ScorerRecord.from_dict(raw).is_skipped
    # A record written before status existed reads as a search that ran.
    old = {k: v for k, v in raw.items() if k not in ("status", "reason")}
    assert ScorerRecord.from_dict(old).status == "ok"
