"""Ranking on Dagster: the scorer search, the feature matrix, the models, the predictions.

Each scenario runs the whole graph once (module-scoped) on a narrow seed range around the planted
seed, so the loose sieve yields a few hundred chance survivors in seconds; tests then read what
the runs recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pydantic
import pytest

from gpu_executors.prng.synth import planted_history, random_history, write_history
from prng_assets.definitions import build_defs
from prng_assets.demo import DEMO, DEMO_SIEVE
from prng_assets.partitions import BLOCKS
from tests.run_config import QUIET

SEED = DEMO["seed"]
# 2^18 seeds around the planted one: two seed blocks do the work, the rest are out of range.
NARROW = {**DEMO_SIEVE, "seed_start": SEED - (1 << 17), "seed_stop": SEED + (1 << 17)}
FAST_ML = {"optimal_scorer_config": {"config": {"n_trials": 8, "sample_size": 200}},
           **{f"model_{f}": {"config": {"n_trials": 2, "folds": 2}}
              for f in ("neural_net", "xgboost", "lightgbm", "catboost")}}

pytestmark = pytest.mark.slow


def _run_head(defs, instance, path: Path) -> None:
    prep = defs.resolve_job_def("prepare").execute_in_process(
        run_config={"ops": {"draw_history": {"config": {"path": str(path)}},
                            "sieve_settings": {"config": NARROW}}, **QUIET},
        instance=instance)
    assert prep.success
    scan = defs.resolve_job_def("scan_seed_blocks")
    for key in BLOCKS.partition_keys():
        assert scan.execute_in_process(partition_key=key, instance=instance,
                                       run_config=QUIET).success
    assert defs.resolve_job_def("pool").execute_in_process(instance=instance,
                                                           run_config=QUIET).success


def _scenario(tmp_path_factory, name: str, values, truth, ml: dict | None = None):
    root = tmp_path_factory.mktemp(name)
    path = write_history(root / "history.json", values, truth)
    defs = build_defs(artefact_root=str(root / "artefacts"), backend="cpu")
    with dg.instance_for_test() as instance:
        _run_head(defs, instance, path)
        result = defs.resolve_job_def("rank_and_predict").execute_in_process(
            run_config={"ops": ml or FAST_ML, **QUIET}, instance=instance,
            raise_on_error=False)
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        yield {"defs": defs, "instance": instance, "result": result, "checks": checks,
               "art": root / "artefacts", "path": path}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "planted", values, truth)


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    _values, truth = random_history(1000, 400)
    values = np.random.default_rng(5).integers(0, 1000, 400)  # fixed, so the run is repeatable
    yield from _scenario(tmp_path_factory, "noise", values, truth)


def _json(art: Path, *parts: str) -> dict:
    return json.loads(art.joinpath(*parts).read_text())


def test_planted_graph_materialises_with_blocking_checks_green(planted) -> None:
    result, checks = planted["result"], planted["checks"]
    assert result.success
    blocking = ["scorer_trials_differ", "scorer_trials_all_completed",
                "scorer_best_config_complete", "feature_matrix_uses_optimal_config",
                "feature_matrix_no_leakage", "feature_matrix_finite", "models_r2_sane",
                "models_shapes_equal", "models_predictions_vary", "models_test_split_disjoint",
                "models_no_leakage_signature"]
    assert {k: checks[k].passed for k in blocking} == dict.fromkeys(blocking, True)
    assert checks["feature_matrix_constant_features"].passed
    assert checks["scorer_trial_samples_differ"].passed


def test_scorer_record_is_complete_and_honest(planted) -> None:
    record = _json(planted["art"], "optimal_scorer_config", "config.json")
    assert record["trials_requested"] == record["trials_completed"] == 8
    assert set(record["searched"]) <= set(record["best_params"])
    assert record["sample_size"] == 200  # the override is honoured
    assert record["distinct_samples"] == 8  # each trial drew its own survivors
    assert 0 < record["pool_coverage"] <= 1
    assert record["study_name"].startswith("optimal_scorer_config-")
    for key in ("validated_rho", "validated_p_value", "objective", "sampler_seed", "inputs",
                "scorer_digest", "best_user_attrs"):
        assert key in record
    assert record["validated_significant"] == (record["validated_rho"] > 0
                                               and record["validated_p_value"] < 0.05)


def test_feature_matrix_uses_the_optimal_configuration(planted) -> None:
    scorer = _json(planted["art"], "optimal_scorer_config", "config.json")
    matrix = _json(planted["art"], "feature_matrix", "record.json")
    assert matrix["scorer_digest"] == scorer["scorer_digest"]
    assert matrix["scorer_config"] == scorer["scorer_config"]
    roles = {v["role"] for v in matrix["schema"].values()}
    assert roles == {"key", "feature", "target"}


def test_planted_seed_is_predicted_exactly(planted) -> None:
    out = _json(planted["art"], "predictions", "predictions.json")
    assert out["status"] == "predict"
    assert out["open_sources"] == ["confirmed"]
    assert all(p["source"] == "confirmed" for p in out["predictions"])
    top = out["predictions"][0]
    assert (top["seed"], top["offset"], top["gap"], top["source"]) == (SEED, 3, 2, "confirmed")
    assert top["holdout_hits"] == 1.0
    # Its next draws continue the planted stream exactly.
    values, _truth = planted_history(**{**DEMO, "n": DEMO["n"] + 5})
    assert top["next_draws"] == [int(v) for v in values[DEMO["n"]:]]
    assert planted["checks"]["predictions_beat_chance"].passed


def test_random_history_reports_no_signal(noise) -> None:
    checks = noise["checks"]
    assert noise["result"].success
    rho = checks["scorer_validated_rho_positive"]
    record = _json(noise["art"], "optimal_scorer_config", "config.json")
    # Noise holds no ranking signal: validated rho on unseen survivors is not significant, and
    # the check reports it as chance (a warning, so the run goes on to abstain).
    assert not record["validated_significant"]
    assert not rho.passed and rho.severity == dg.AssetCheckSeverity.WARN
    assert rho.metadata["verdict"].value.startswith("not significant")
    out = _json(noise["art"], "predictions", "predictions.json")
    assert out["status"] == "abstain" and out["predictions"] == []
    assert out["backtests"]["confirmed"]["candidates"] == 0
    assert "model (" in out["reason"] and "withheld" in out["reason"]
    assert not checks["predictions_beat_chance"].passed
    assert checks["models_no_leakage_signature"].passed


@pytest.mark.parametrize(
    ("config", "message"),
    [({"sample_size": 0}, "sample_size 0 must be at least 20"),
     ({"n_trials": 0}, "n_trials 0 must be at least 1")],
)
def test_bad_scorer_config_fails_clearly(planted, config, message) -> None:
    job = planted["defs"].resolve_job_def("rank_and_predict")
    run = job.execute_in_process(
        run_config={"ops": {"optimal_scorer_config": {"config": config}}, **QUIET},
        instance=planted["instance"], asset_selection=[dg.AssetKey("optimal_scorer_config")],
        raise_on_error=False)
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
    chain, error = [], failure.event_specific_data.error
    while error is not None:  # the step's retries wrap the config error
        chain.append(error)
        error = error.cause
    config_errors = [e for e in chain if e.cls_name == pydantic.ValidationError.__name__]
    assert config_errors and message in config_errors[0].message


def test_unknown_scorer_config_key_is_rejected(planted) -> None:
    job = planted["defs"].resolve_job_def("rank_and_predict")
    with pytest.raises(dg.DagsterInvalidConfigError, match="sample_szie"):
        job.execute_in_process(
            run_config={"ops": {"optimal_scorer_config": {"config": {"sample_szie": 5}}}},
            instance=planted["instance"], asset_selection=[dg.AssetKey("optimal_scorer_config")])


def test_empty_pool_fails_clearly(tmp_path: Path) -> None:
    values, truth = planted_history(**DEMO)
    path = write_history(tmp_path / "h.json", values, truth)
    defs = build_defs(artefact_root=str(tmp_path / "art"), backend="cpu")
    strict = {**NARROW, "max_misses": 0, "seed_start": 0, "seed_stop": 1000}
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("prepare").execute_in_process(
            run_config={"ops": {"draw_history": {"config": {"path": str(path)}},
                                "sieve_settings": {"config": strict}}, **QUIET},
            instance=instance).success
        scan = defs.resolve_job_def("scan_seed_blocks")
        for key in BLOCKS.partition_keys():
            scan.execute_in_process(partition_key=key, instance=instance, run_config=QUIET)
        defs.resolve_job_def("pool").execute_in_process(instance=instance, run_config=QUIET)
        run = defs.resolve_job_def("rank_and_predict").execute_in_process(
            run_config={"ops": FAST_ML, **QUIET}, instance=instance, raise_on_error=False,
            asset_selection=[dg.AssetKey("optimal_scorer_config")])
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
    assert "the survivor pool has 0 rows" in str(failure.event_specific_data.error)


def test_stored_records_round_trip_through_their_types(planted) -> None:
    """Each typed record reads its file and writes back exactly the keys and values it read."""
    from gpu_executors.models.records import ModelSidecar
    from gpu_executors.ranking.records import ScorerRecord
    from gpu_executors.sieve.records import PoolStats, SieveSettingsRecord

    art = planted["art"]
    stored = {("sieve_settings", "settings.json"): SieveSettingsRecord,
              ("survivor_pool", "stats.json"): PoolStats,
              ("optimal_scorer_config", "config.json"): ScorerRecord,
              **{("models", f, "sidecar.json"): ModelSidecar
                 for f in ("neural_net", "xgboost", "lightgbm", "catboost")}}
    for parts, record in stored.items():
        raw = _json(art, *parts)
        assert json.loads(json.dumps(record.from_dict(raw).to_dict())) == raw, parts


def test_model_sidecars_and_reload(planted) -> None:
    from gpu_executors.models.persistence import load_model

    art = planted["art"]
    matrix = _json(art, "feature_matrix", "record.json")
    comparison = _json(art, "model_comparison", "comparison.json")
    assert {r["family"] for r in comparison["rows"]} == {"neural_net", "xgboost", "lightgbm",
                                                         "catboost"}
    import polars as pl

    table = pl.read_parquet(art / "feature_matrix" / "matrix.parquet")
    for family in ("neural_net", "xgboost", "lightgbm", "catboost"):
        car = _json(art, "models", family, "sidecar.json")
        assert car["features"] == matrix["features"]
        assert not set(car["train_rows"]) & set(car["test_rows"])
        model = load_model(family, car["model_path"])
        x = table.select(car["features"]).to_numpy()[car["test_rows"]]
        pred = model.predict(x)
        assert pred.shape == (len(car["test_rows"]),)
        assert np.isclose(np.std(pred), car["prediction_std"], rtol=1e-5, atol=1e-12)


def test_planted_leak_fails_the_leakage_check(planted, monkeypatch) -> None:
    # Last in the module: it rewrites the planted scenario's feature matrix with the leak.
    import gpu_executors.ranking.matrix as step3

    # The leak: features see the whole history instead of the train draws.
    monkeypatch.setattr(step3, "train_view", lambda pred, history: (pred, history.values))
    defs, instance = planted["defs"], planted["instance"]
    job = defs.resolve_job_def("rank_and_predict")
    run = job.execute_in_process(
        run_config={"ops": {}, **QUIET}, instance=instance, raise_on_error=False,
        asset_selection=[dg.AssetKey("feature_matrix")])
    checks = {e.check_name: e for e in run.get_asset_check_evaluations()}
    leak = checks["feature_matrix_no_leakage"]
    assert not leak.passed
    assert leak.metadata["features_reading_holdout"].value != "none"
