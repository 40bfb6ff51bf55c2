"""Predictions as a plain function: confirmed candidates with or without a model, the empty pool."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from gpu_executors.models.forecast import UNRANKED, forecast, rank_rows
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.synth import planted_history
from gpu_executors.ranking.matrix import History, feature_matrix
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.schema import ScorerConfig
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA

SEED, OFFSET, GAP, N, N_TRAIN = 3_141_592, 3, 2, 400, 320
NO_MODEL = pool_skip_reason(3)


def _pool(seeds: list[int]) -> pl.DataFrame:
    n = len(seeds)
    return pl.DataFrame(
        {
            "seed": np.array(seeds, dtype=np.uint64),
            "generator": ["java_lcg"] * n,
            "draw": ["mod:1000"] * n,
            "offset": np.full(n, OFFSET, np.int64),
            "gap": np.full(n, GAP, np.int64),
            "gaps": [[]] * n,
            "strategy": [None] * n,
            "forward_matches": np.full(n, 10, np.int64),
            "reverse_matches": np.zeros(n, np.int64),
            "matches": np.full(n, 10, np.int64),
            "match_rate": np.ones(n),
        },
        schema=SURVIVOR_SCHEMA,
    )


@pytest.fixture(scope="module")
def history() -> History:
    values, _truth = planted_history("java_lcg", "mod:1000", SEED, N, offset=OFFSET, gap=(GAP, GAP))
    return History(values.astype(np.int64), N_TRAIN, "java_lcg", "mod:1000", 10)


def _run(pool: pl.DataFrame, history: History, **kw) -> dict:
    matrix = feature_matrix(pool, history, ScorerConfig())
    args = {
        "scores": None,
        "test_rows": None,
        "top_k": 20,
        "next_draws": 5,
        "alpha": 0.01,
        "no_model": NO_MODEL,
        **kw,
    }
    return forecast(matrix, pool, history, args.pop("scores"), args.pop("test_rows"), **args)


def test_no_model_predicts_the_confirmed_seed_exactly(history) -> None:
    out = _run(_pool([SEED + 1, SEED, SEED + 2]), history)
    assert out["status"] == "predict" and out["open_sources"] == ["confirmed"]
    assert set(out["backtests"]) == {"confirmed"}
    assert out["backtests"]["confirmed"]["hits"] == N - N_TRAIN  # every holdout draw
    assert f"model: no ranking ({NO_MODEL})" in out["reason"]
    assert out["confirmed_candidates"] == 1
    (top,) = out["predictions"]
    assert (top["seed"], top["offset"], top["gap"], top["source"]) == (
        SEED,
        OFFSET,
        GAP,
        "confirmed",
    )
    assert top["score"] is None
    whole = generate_draws(
        get_generator("java_lcg"), parse_draw("mod:1000"), SEED, N + 5, offset=OFFSET, gaps=GAP
    )
    assert top["next_draws"] == [int(v) for v in whole[N:]]
    assert out["next_draw_indices"] == [N, N + 4]
    # The rest are listed, ranked after it, but never predicted from.
    assert [p["source"] for p in out["ranked_candidates"]] == ["confirmed", UNRANKED, UNRANKED]


def test_no_model_and_nothing_confirmed_abstains(history) -> None:
    out = _run(_pool([SEED + 1, SEED + 2]), history)
    assert out["status"] == "abstain" and out["predictions"] == []
    assert out["backtests"]["confirmed"]["candidates"] == 0
    assert "confirmed (0 candidates)" in out["reason"] and "withheld" in out["reason"]


def test_empty_pool_abstains_with_the_reason(history) -> None:
    out = _run(_pool([]), history)
    assert out["status"] == "abstain"
    assert out["reason"] == pool_skip_reason(0)
    assert out["reason"].startswith("the survivor pool is empty: ")
    assert out["predictions"] == out["ranked_candidates"] == out["open_sources"] == []
    assert out["backtests"]["confirmed"]["candidates"] == 0


def test_with_a_model_both_sources_are_backtested(history) -> None:
    pool = _pool([SEED + 1, SEED, SEED + 2, SEED + 3])
    scores = np.array([0.1, 0.0, 0.9, 0.5])
    out = _run(pool, history, scores=scores, test_rows=np.array([2, 3]))
    assert set(out["backtests"]) == {"confirmed", "model"}
    assert out["backtests"]["model"]["candidates"] == 2
    assert "no ranking" not in out["reason"]
    assert [(p["seed"], p["source"]) for p in out["ranked_candidates"]] == [
        (SEED, "confirmed"),
        (SEED + 2, "model"),
        (SEED + 3, "model"),
        (SEED + 1, "model"),
    ]
    assert out["ranked_candidates"][1]["score"] == pytest.approx(0.9)


def test_rank_rows_without_a_model_orders_by_evidence() -> None:
    evidence = np.array([1.0, 50.0, 3.0, 80.0])
    sure = np.array([False, True, False, True])
    assert rank_rows(evidence, sure, None).tolist() == [3, 1, 2, 0]
    assert rank_rows(evidence, sure, np.array([9.0, 0.0, 1.0, 0.0])).tolist() == [3, 1, 0, 2]


def test_a_recovered_state_is_picked_as_a_state_not_as_seed_0() -> None:
    """A linear pool's row has seed, offset and gap 0: its pick names the recovered state
    (where it stands and its digest), never ``seed 0``."""
    from gpu_executors.linear.identity import describe, state_digest
    from gpu_executors.sieve.linear import solve_pool

    gen, draw = "python_random", "mod:4294967296"
    values, _truth = planted_history(gen, draw, 99, 800)
    hist = History(values.astype(np.int64), 700, gen, draw, 624, mode="linear")
    pool = solve_pool(gen, draw, values[:700], 624, 16).table
    out = _run(pool, hist, next_draws=3)
    (pick,) = out["predictions"]
    digest = state_digest(pool["state"][0])
    assert "seed" not in pick and "offset" not in pick and "gap" not in pick
    assert (pick["state_digest"], pick["state_draw"], pick["state_model"]) == (digest, 0, 0)
    assert describe(pick) == f"state: recovered at draw 0 (model 0), digest {digest}"
    whole = generate_draws(get_generator(gen), parse_draw(draw), 99, 803)
    assert pick["next_draws"] == [int(v) for v in whole[800:]]
