"""V8's ``Math.random`` as a case: mode linear only, from a real ``node`` process's draws.

``v8_math_random`` has no registry generator and no seed scan; a case may use it with
``mode = "linear"`` alone, and every other mode refuses it by name. The graph test runs the
whole case (settings, the empty seed blocks, the solve, features, predictions, the checks) on
an unseeded node process's ``Math.floor(Math.random() * 1000)`` and holds its predictions to
the values the same process drew next.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gpu_executors.io.atomic import atomic_write_json
from gpu_executors.prng.synth import _records
from gpu_executors.sieve.linear import solve_pool
from gpu_executors.sieve.settings import SieveSettings
from prng_assets import case_runs
from prng_assets.assets.sieve import SieveSettingsConfig
from prng_assets.case_settings import CaseSettingsError, load
from prng_assets.definitions import build_defs
from tests.run_config import QUIET

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
GEN, DRAW = "v8_math_random", "floor:1000"
V8 = {"generator": GEN, "draw": DRAW, "mode": "linear", "search": False, "window": 100}
N, NEXT = 500, 5  # 400 train (100 solved from, 300 held back), 100 holdout


def node_draws(n: int) -> list[int]:
    """``n`` draws of ``Math.floor(Math.random() * 1000)`` from one fresh, unseeded process."""
    script = f"for (let i = 0; i < {n}; i++) console.log(Math.floor(Math.random() * 1000))"
    out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return [int(v) for v in out.split()]


@pytest.mark.parametrize(("settings", "message"), [
    ({"mode": "seed"}, "v8_math_random has no seed scan (mode 'seed')"),
    ({"mode": "state"}, "v8_math_random has no seed scan (mode 'state')"),
    ({"mode": "seed", "search": True}, "use mode = \"linear\""),
    ({"mode": "seed", "generator": "v8_math_random,mt19937"}, "(a generator list)"),
    ({"draw": "mod:1000"}, "use floor:N"),
])
def test_v8_is_refused_outside_mode_linear(settings, message) -> None:
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        SieveSettingsConfig(**{**V8, **settings})
    with pytest.raises(ValueError, match="no seed scan"):
        SieveSettings(GEN, DRAW, mode="seed").validate()


def test_a_v8_case_file(tmp_path: Path) -> None:
    good = ("[history]\nmodulus = 1000\n[sieve]\nmode = 'linear'\ngenerator = 'v8_math_random'\n"
            "draw = 'floor:1000'\nsearch = false\nwindow = 100\n")
    path = tmp_path / "v8.seedsieve.toml"
    path.write_text(good)
    sieve = load(path).run_config(tmp_path / "v8.json")["ops"]["sieve_settings"]["config"]
    assert (sieve["generator"], sieve["mode"]) == (GEN, "linear")
    for text, key, rule in [
        (good.replace("mode = 'linear'\n", ""), "[sieve] generator", "no seed scan (mode 'seed')"),
        (good.replace("modulus = 1000", "modulus = 100"), "[sieve] draw", "modulus = 1000"),
        (good.replace("floor:1000", "floor:x"), "[sieve] draw", "floor"),
    ]:
        path.write_text(text)
        with pytest.raises(CaseSettingsError) as caught:
            load(path)
        assert caught.value.key == key and rule in caught.value.rule, caught.value


@needs_node
def test_a_short_window_says_the_cache_position_was_assumed() -> None:
    """Within one 64-value cache block every position fits; the record says what was taken
    and that the held-back draws checked it. A window past the first refill settles it."""
    values = np.array(node_draws(200), dtype=np.int64)
    short = solve_pool(GEN, DRAW, values, 40, 16).record
    assert short["solved"] and short["held_back_matched"] == 160
    assert "cache_left 64" in short["prediction_assumes"]
    assert "did not settle the position" in short["prediction_assumes"]
    long = solve_pool(GEN, DRAW, values, 100, 16).record
    assert long["held_back_matched"] == 100 and long["state"]["cache_left"] == 64
    assert "did not settle" not in long["prediction_assumes"]
    assert "one node process" in long["prediction_assumes"]


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (mat,) = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mat.metadata.items()}


@pytest.fixture(scope="module")
def v8_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("v8")
    values = node_draws(N + NEXT)
    path = root / "v8.json"
    atomic_write_json(path, _records(np.array(values[:N])), sort_keys=False)
    defs = build_defs(artefact_root=str(root / "artefacts"), backend="cpu")
    with dg.instance_for_test() as instance:
        head = case_runs.head_config(path, V8)
        head["draw_history"]["config"]["modulus"] = 1000
        assert case_runs.prepare(defs, instance, "v8", head, QUIET).success
        assert case_runs.scan(defs, instance, "v8", extra=QUIET).success
        pool = case_runs.pool(defs, instance, "v8", QUIET)
        ops = {"predictions": {"config": {"next_draws": NEXT, "top_k": 1}}}
        rank = case_runs.rank(defs, instance, "v8", ops, QUIET)
        checks = {e.check_name: e for r in (pool, rank) for e in r.get_asset_check_evaluations()}
        yield {"pool": pool, "rank": rank, "checks": checks, "next": values[N:]}


@needs_node
@pytest.mark.slow  # the whole graph once (8 s here, more on a cold kernel cache)
def test_a_v8_case_predicts_what_node_drew_next(v8_case) -> None:
    assert v8_case["pool"].success and v8_case["rank"].success
    pool = _meta(v8_case["pool"], "survivor_pool")
    assert pool["linear_solved"] is True and pool["linear_held_back_matched"] == 300
    assert "cache_left 64" in pool["linear_predictions_assume"]
    out = _meta(v8_case["rank"], "predictions")
    assert out["status"] == "predict"
    (pick,) = out["predictions"]
    assert "seed" not in pick and pick["state"].startswith("recovered at draw 0 (model 0)")
    assert pick["next_draws"] == v8_case["next"]
    assert "one node process" in out["assumes"]


@needs_node
@pytest.mark.slow  # the same graph run
def test_the_checks_of_a_v8_case(v8_case) -> None:
    checks = v8_case["checks"]
    assert sorted(k for k, c in checks.items() if not c.passed) == []
    assert checks["pool_survivors_recomputed"].metadata["linear_state_resolved"].value is True
    backtest = checks["predictions_backtest_reproduced"].metadata
    assert backtest["backtests"].value["confirmed"]["hits"] == 100
    assert backtest["picks_not_reproduced"].value == "none"
    # node's draws carry no planted truth: the check says so instead of passing on a seed
    assert checks["truth_recovered"].metadata["applies"].value == "no truth sidecar"
