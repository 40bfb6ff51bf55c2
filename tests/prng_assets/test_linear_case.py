"""A case on the sieve's linear mode: the state solved from the train window, the rest of the
train split holding it to account, and the predictions backtested on the holdout.

The history is CPython's ``random`` seeded from os.urandom, drawn as full 32-bit words
(``mod:4294967296``, what ``getrandbits(32)`` gives): no seed scan could reach it, 624 draws pin
its state. One graph run (module-scoped) with the ranking skipped (one row), as for an exact
seed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from gpu_executors.linear.identity import state_digest
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.synth import planted_history, write_history
from gpu_executors.sieve.settings import SieveSettings
from prng_assets import case_runs
from prng_assets.assets.sieve import SieveSettingsConfig
from prng_assets.definitions import build_defs
from tests.run_config import QUIET

GEN, DRAW = "python_random", "mod:4294967296"
N = 1000  # 800 train (700 solved from, 100 held back), 200 holdout
LINEAR = {"generator": GEN, "draw": DRAW, "mode": "linear", "search": False, "window": 700}
NEXT = 5


def _run(root: Path, values: np.ndarray, truth, case: str, sieve: dict):
    path = write_history(root / f"{case}.json", values, truth)
    defs = build_defs(artefact_root=str(root / "artefacts"), backend="cpu")
    with dg.instance_for_test() as instance:
        head = case_runs.head_config(path, sieve)
        head["draw_history"]["config"]["modulus"] = 1 << 32
        assert case_runs.prepare(defs, instance, case, head, QUIET).success
        assert case_runs.scan(defs, instance, case, extra=QUIET).success
        pool = case_runs.pool(defs, instance, case, QUIET)
        assert pool.success
        checks = {e.check_name: e for e in pool.get_asset_check_evaluations()}
        ops = {"predictions": {"config": {"next_draws": NEXT, "top_k": 1}}}
        rank = case_runs.rank(defs, instance, case, ops, QUIET)
        checks.update({e.check_name: e for e in rank.get_asset_check_evaluations()})
        yield {"pool": pool, "rank": rank, "checks": checks,
               "art": root / "artefacts" / "cases" / case}


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    seed = int.from_bytes(os.urandom(4), "little")
    values, truth = planted_history(GEN, DRAW, seed, N)
    yield {**next(_run(tmp_path_factory.mktemp("linear"), values, truth, "linear", LINEAR)),
           "seed": seed}


def _json(art: Path, *parts: str) -> dict:
    return json.loads(art.joinpath(*parts).read_text())


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (mat,) = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mat.metadata.items()}


@pytest.mark.slow  # the whole graph once (~70 s on 2 shared cores)
def test_the_pool_holds_the_recovered_state(linear) -> None:
    art = linear["art"]
    pool = pl.read_parquet(art / "survivor_pool" / "pool.parquet")
    assert pool.height == 1
    row = pool.row(0, named=True)
    assert (row["seed"], row["offset"], row["gap"], row["block"]) == (0, 0, 0, "linear")
    assert (row["state_model"], row["state_draw"], row["matches"]) == (0, 0, 700)
    assert len(row["state"]) == 8 * ((19_968 + 63) // 64)
    record = _json(art, "survivor_pool", "linear.json")
    assert record["solved"] and record["rank"] == record["unknowns"] == 19_968
    assert (record["window"], record["held_back_draws"], record["held_back_matched"]) == (
        700, 100, 100)
    assert record["states_remaining"] == "2^0" and record["pool_row"] == 0
    # the readable state is CPython's own: setstate reproduces the planted draws
    import random

    rng = random.Random()
    rng.setstate((3, tuple(record["state"]["mt"] + [0]), None))
    assert [rng.getrandbits(32) for _ in range(N)] == [int(v) for v in
                                                      planted_history(GEN, DRAW,
                                                                      linear["seed"], N)[0]]
    meta = _meta(linear["pool"], "survivor_pool")
    assert meta["linear_solved"] is True and meta["linear_held_back_matched"] == 100
    assert meta["significant"] is True


@pytest.mark.slow  # the whole graph once (~70 s on 2 shared cores)
def test_an_exact_linear_recovery_reaches_the_predictions(linear) -> None:
    art, result = linear["art"], linear["rank"]
    assert result.success
    assert _meta(result, "feature_matrix")["rows"] == 1
    assert _json(art, "model_comparison", "comparison.json")["winner"] is None
    out = _json(art, "predictions", "predictions.json")
    assert (out["status"], out["open_sources"]) == ("predict", ["confirmed"])
    assert out["backtests"]["confirmed"]["hits"] == out["backtests"]["confirmed"]["draws"] == 200
    (top,) = out["predictions"]
    whole = generate_draws(get_generator(GEN), parse_draw(DRAW), linear["seed"], N + NEXT)
    assert top["next_draws"] == [int(v) for v in whole[N:]]
    # the pick and the pool's top candidate name the recovered state, not "seed 0"
    state = pl.read_parquet(art / "survivor_pool" / "pool.parquet")["state"][0]
    named = f"recovered at draw 0 (model 0), digest {state_digest(state)}"
    assert "seed" not in top and top["state"] == named
    (shown,) = _meta(result, "predictions")["predictions"]
    assert "seed" not in shown and shown["state"] == named
    (pooled,) = _meta(linear["pool"], "survivor_pool")["top_candidates"]
    assert "seed" not in pooled and pooled["state"] == named and pooled["matches"] == 700
    (row,) = [r.data for r in _meta(result, "feature_matrix")["preview"].records]
    assert "seed" not in row and row["state"] == named


@pytest.mark.slow  # the whole graph once (~70 s on 2 shared cores)
def test_the_checks_rederive_the_linear_recovery(linear) -> None:
    checks = linear["checks"]
    failed = sorted(k for k, c in checks.items() if not c.passed)
    assert failed == []
    recomputed = checks["pool_survivors_recomputed"].metadata
    assert recomputed["linear_state_resolved"].value is True
    assert recomputed["train_draws_replayed"].value == 800
    assert checks["truth_recovered"].metadata["found"].value is True
    backtest = checks["predictions_backtest_reproduced"].metadata
    assert backtest["backtests"].value["confirmed"]["hits"] == 200
    assert checks["reverse_pass_is_backward"].metadata["applies"].value.startswith("no (linear")
    # no seed block is scanned: the block checks say so rather than pass as if one had been
    for name in ("all_seed_blocks_scanned", "gpu_survivors_reverified"):
        assert checks[name].metadata["applies"].value.startswith("not applicable: linear mode")
    reached = checks["settings_reached_sieve"].metadata
    assert reached["applies"].value.startswith("linear mode: survivor_pool/linear.json")
    assert reached["linear_record_found"].value is True


def test_a_tampered_state_fails_the_pool_check(tmp_path: Path) -> None:
    from gpu_executors.sieve.linear import solve_pool
    from prng_assets.checks.sieve_recompute import recompute_linear

    values, _truth = planted_history(GEN, DRAW, 7, 800)
    settings = SieveSettings(GEN, DRAW, mode="linear", window=700)
    found = solve_pool(GEN, DRAW, values, 700, 16)
    assert not recompute_linear(settings, values, found.table).mismatches
    state = bytearray(found.table["state"][0])
    state[5] ^= 1
    bad = found.table.with_columns(pl.Series("state", [bytes(state)], pl.Binary))
    problems = [m["problem"] for m in recompute_linear(settings, values, bad).mismatches]
    assert any("not the state the solve gives" in p for p in problems)
    assert any("replays" in p for p in problems)


@pytest.mark.parametrize(("settings", "message"), [
    ({"search": True}, "set search = false"),
    ({"generator": "auto"}, "set search = false"),
    ({"generator": "java_lcg", "draw": "mod:1000"}, "is not linear"),
    ({"draw": "mod:999"}, "odd M reveals no bit"),
])
def test_linear_settings_refuse_what_the_route_cannot_do(settings, message) -> None:
    with pytest.raises(Exception, match=message):
        SieveSettingsConfig(**{**LINEAR, **settings})


def test_a_window_leaving_nothing_held_back_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves none of the 800"):
        SieveSettings(GEN, DRAW, mode="linear", window=800).validate(800)


def test_too_few_draws_leave_an_empty_pool_with_the_reason() -> None:
    from gpu_executors.sieve.linear import solve_pool

    values, _truth = planted_history(GEN, DRAW, 11, 600)
    found = solve_pool(GEN, DRAW, values, 500, 16)
    assert found.table.height == 0 and not found.figures["significant"]
    assert not found.record["solved"] and "not enough draws" in found.record["reason"]
    assert found.record["free_bits"] > 0


def test_the_backtest_check_finds_a_pick_by_its_state() -> None:
    """A linear pick names its row by the state's identity; a wrong digest, or the old
    ``seed 0`` naming, names no row (the check then counts the pick as not reproduced)."""
    from gpu_executors.linear.identity import candidate_identity
    from gpu_executors.sieve.linear import solve_pool
    from prng_assets.checks.predictions import _pick_rows

    values, _truth = planted_history(GEN, DRAW, 5, 800)
    table = solve_pool(GEN, DRAW, values, 700, 16).table
    pick = candidate_identity(table.row(0, named=True))
    assert _pick_rows(table, pick, linear=True).tolist() == [0]
    assert _pick_rows(table, {**pick, "state_digest": "0" * 16}, linear=True).tolist() == []
    assert _pick_rows(table, {"seed": 0, "offset": 0, "gap": 0}, linear=True).tolist() == []
