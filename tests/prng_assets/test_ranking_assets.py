"""Ranking on Dagster: the scorer search, the feature matrix, the models, the predictions.

Each scenario runs the whole graph once (module-scoped) on a narrow seed range around the planted
seed, so the loose sieve yields a few hundred chance survivors in seconds; tests then read what
the runs recorded. Two more use a tight sieve: exact recovery (the planted seed alone, too few
rows to rank: predicted from the confirmed source) and an empty pool (the graph abstains).
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pydantic
import pytest

from gpu_executors.prng.synth import planted_history, random_history, write_history
from prng_assets import case_runs
from prng_assets.definitions import build_defs
from prng_assets.demo import DEMO, DEMO_SIEVE
from tests.run_config import QUIET

SEED = DEMO["seed"]
# 2^18 seeds around the planted one: two seed blocks do the work, the rest are out of range.
NARROW = {**DEMO_SIEVE, "seed_start": SEED - (1 << 17), "seed_stop": SEED + (1 << 17)}
FAST_ML = {"optimal_scorer_config": {"config": {"n_trials": 8, "sample_size": 200}},
           **{f"model_{f}": {"config": {"n_trials": 2, "folds": 2}}
              for f in ("neural_net", "xgboost", "lightgbm", "catboost")}}

# A tight sieve: every window draw must match, so only the planted seed survives (the chance
# of a false survivor among 2^18 seeds x 45 offset/gap pairs is about 1e-23).
EXACT = {**NARROW, "max_misses": 0}
EMPTY = {**EXACT, "seed_start": 0, "seed_stop": 1000}
FAMILIES = ("neural_net", "xgboost", "lightgbm", "catboost")

pytestmark = pytest.mark.slow


def _run_head(defs, instance, case: str, path: Path, sieve: dict) -> None:
    """The case's head, its seed blocks (one run over them all) and its pool."""
    assert case_runs.prepare(defs, instance, case, case_runs.head_config(path, sieve),
                             QUIET).success
    assert case_runs.scan(defs, instance, case, extra=QUIET).success
    assert case_runs.pool(defs, instance, case, QUIET).success


def _scenario(tmp_path_factory, name: str, values, truth, ml: dict | None = None,
              sieve: dict = NARROW):
    """The whole graph of case ``name`` on one history; ``art`` is the case's artefact folder."""
    root = tmp_path_factory.mktemp(name)
    path = write_history(root / "history.json", values, truth)
    defs = build_defs(artefact_root=str(root / "artefacts"), backend="cpu")
    with dg.instance_for_test() as instance:
        _run_head(defs, instance, name, path, sieve)
        result = case_runs.rank(defs, instance, name, ml or FAST_ML, QUIET)
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        yield {"defs": defs, "instance": instance, "result": result, "checks": checks,
               "case": name, "root": root, "art": root / "artefacts" / "cases" / name,
               "path": path}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "planted", values, truth)


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    _values, truth = random_history(1000, 400)
    values = np.random.default_rng(5).integers(0, 1000, 400)  # fixed, so the run is repeatable
    yield from _scenario(tmp_path_factory, "noise", values, truth)


@pytest.fixture(scope="module")
def exact(tmp_path_factory):
    """A tight sieve (no miss allowed) that keeps the planted seed alone: exact recovery."""
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "exact", values, truth, sieve=EXACT)


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    """The same tight sieve over seeds that miss the planted one: no survivor at all."""
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "empty", values, truth, sieve=EMPTY)


def _json(art: Path, *parts: str) -> dict:
    return json.loads(art.joinpath(*parts).read_text())


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    """The metadata of the run's materialisation of ``key``, as plain values."""
    (mat,) = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mat.metadata.items()}


def test_planted_graph_materialises_with_blocking_checks_green(planted) -> None:
    result, checks = planted["result"], planted["checks"]
    assert result.success
    blocking = ["scorer_trials_differ", "scorer_trials_all_completed",
                "scorer_best_config_complete", "scorer_trial_samples_differ",
                "feature_matrix_uses_optimal_config", "feature_matrix_rebuilt_from_train",
                "feature_matrix_no_leakage", "feature_matrix_finite", "models_r2_sane",
                "models_shapes_equal", "models_predictions_vary", "models_test_split_disjoint",
                "models_no_leakage_signature", "models_training_loss_is_mse",
                "models_permutation_p_reproduced"]
    assert {k: checks[k].passed for k in blocking} == dict.fromkeys(blocking, True)
    assert checks["feature_matrix_constant_features"].passed


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
        instance=planted["instance"], partition_key=planted["case"],
        asset_selection=[dg.AssetKey("optimal_scorer_config")], raise_on_error=False)
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
            instance=planted["instance"], partition_key=planted["case"],
            asset_selection=[dg.AssetKey("optimal_scorer_config")])


def test_exact_recovery_predicts_the_planted_seed_from_the_confirmed_source(exact) -> None:
    import polars as pl

    from gpu_executors.prng.draws import generate_draws, parse_draw
    from gpu_executors.prng.generators import get_generator

    result, art = exact["result"], exact["art"]
    assert result.success
    pool = pl.read_parquet(art / "survivor_pool" / "pool.parquet")
    assert pool.select(["seed", "offset", "gap"]).rows() == [(SEED, 3, 2)]
    reason = ("the survivor pool has 1 rows: ranking needs at least 20; predictions come from "
              "the confirmed candidates")
    # The ranking materialised as skipped, with the reason, and the run went on.
    scorer = _meta(result, "optimal_scorer_config")
    assert (scorer["status"], scorer["reason"]) == ("skipped", reason)
    record = _json(art, "optimal_scorer_config", "config.json")
    assert (record["status"], record["reason"], record["trials_completed"]) == ("skipped",
                                                                               reason, 0)
    assert _meta(result, "feature_matrix")["rows"] == 1
    assert _json(art, "feature_matrix", "record.json")["scorer_digest"] == record["scorer_digest"]
    for family in FAMILIES:
        meta = _meta(result, f"model_{family}")
        assert (meta["status"], meta["reason"]) == ("skipped", reason)
        assert _json(art, "models", family, "sidecar.json") == {
            "family": family, "status": "skipped", "reason": reason}
    comparison = _json(art, "model_comparison", "comparison.json")
    assert (comparison["status"], comparison["winner"], comparison["reason"]) == (
        "skipped", None, reason)
    assert _meta(result, "model_comparison")["status"] == "skipped"
    # The prediction: the planted seed's own next draws, from the confirmed source.
    out = _json(art, "predictions", "predictions.json")
    assert (out["status"], out["open_sources"], out["winner"]) == ("predict", ["confirmed"], None)
    assert set(out["backtests"]) == {"confirmed"}
    assert out["backtests"]["confirmed"]["hits"] == out["backtests"]["confirmed"]["draws"] == 80
    assert out["backtests"]["confirmed"]["p_value"] < 1e-100
    (top,) = out["predictions"]
    assert (top["seed"], top["offset"], top["gap"], top["source"]) == (SEED, 3, 2, "confirmed")
    whole = generate_draws(get_generator(DEMO["generator"]), parse_draw(DEMO["draw"]), SEED,
                           DEMO["n"] + 5, offset=DEMO["offset"], gaps=DEMO["gap"][0])
    assert top["next_draws"] == [int(v) for v in whole[DEMO["n"]:]]
    assert out["next_draw_indices"] == [DEMO["n"], DEMO["n"] + 4]
    assert _meta(result, "predictions")["status"] == "predict"


def test_exact_recovery_checks_pass_as_not_applicable_or_on_their_own(exact) -> None:
    checks = exact["checks"]
    assert {k: c.passed for k, c in checks.items()} == dict.fromkeys(checks, True)
    not_applicable = [k for k, c in checks.items() if "applies" in c.metadata
                      and c.metadata["applies"].value.startswith("not applicable: ")]
    assert sorted(not_applicable) == sorted([
        "scorer_trials_differ", "scorer_trials_all_completed", "scorer_best_config_complete",
        "scorer_validated_rho_positive", "scorer_trial_samples_differ",
        "scorer_validated_rho_reproduced", "feature_matrix_constant_features", "models_r2_sane",
        "models_shapes_equal", "models_predictions_vary", "models_test_split_disjoint",
        "models_not_overfit", "models_no_leakage_signature", "winner_beats_permutation",
        "models_training_loss_is_mse", "models_permutation_p_reproduced"])
    assert checks["scorer_trials_differ"].metadata["applies"].value == (
        "not applicable: the survivor pool has 1 rows: ranking needs at least 20; predictions "
        "come from the confirmed candidates")
    # These still judge the one row: the default configuration, the leakage probe, finiteness.
    assert checks["feature_matrix_no_leakage"].metadata["rows_probed"].value == 1
    assert checks["feature_matrix_no_leakage"].metadata["targets_read_holdout"].value is True
    assert checks["feature_matrix_rebuilt_from_train"].metadata["rows_rebuilt"].value == 1
    assert checks["predictions_beat_chance"].metadata["status"].value == "predict"


def test_empty_pool_abstains_and_the_graph_succeeds(empty) -> None:
    import polars as pl

    from gpu_executors.ranking.matrix import schema

    result, art, checks = empty["result"], empty["art"], empty["checks"]
    assert result.success
    assert pl.read_parquet(art / "survivor_pool" / "pool.parquet").height == 0
    assert checks["feature_matrix_rebuilt_from_train"].metadata["applies"].value.startswith(
        "not applicable: ")
    reason = ("the survivor pool is empty: no candidate to rank or predict from (loosen the "
              "sieve or scan more seed blocks)")
    assert (_meta(result, "optimal_scorer_config")["status"],
            _meta(result, "optimal_scorer_config")["reason"]) == ("skipped", reason)
    matrix = pl.read_parquet(art / "feature_matrix" / "matrix.parquet")
    assert matrix.height == 0 and matrix.columns == list(schema())
    fm = _meta(result, "feature_matrix")
    assert (fm["status"], fm["rows"], fm["note"]) == ("empty", 0, reason)
    assert _meta(result, "model_comparison")["status"] == "skipped"
    out = _json(art, "predictions", "predictions.json")
    assert (out["status"], out["reason"]) == ("abstain", reason)
    assert out["predictions"] == out["ranked_candidates"] == []
    assert out["winner"] is None and out["confirmed_candidates"] == 0
    assert _meta(result, "predictions")["reason"].startswith("the survivor pool is empty: ")
    # Every check passes (most as not applicable) except the warning that nothing beat chance.
    failed = {k for k, c in checks.items() if not c.passed}
    assert failed == {"predictions_beat_chance"}
    assert checks["predictions_beat_chance"].severity == dg.AssetCheckSeverity.WARN
    assert checks["feature_matrix_no_leakage"].metadata["applies"].value == (
        f"not applicable: {reason}")


@pytest.mark.parametrize(("rows", "passed"), [(25, False), (19, True)])
def test_a_skip_the_pool_does_not_justify_fails_the_checks(tmp_path: Path, rows: int,
                                                           passed: bool) -> None:
    """A skipped search is "not applicable" only when the pool as it is justifies the skip."""
    import polars as pl
    from dagster._core.execution.context.invocation import DirectAssetCheckExecutionContext

    from gpu_executors.ranking.records import ScorerRecord
    from gpu_executors.sieve.spec import SURVIVOR_SCHEMA
    from prng_assets.checks.scorer import scorer_trials_differ
    from resources.artefacts import ArtefactStore
    from resources.optuna_storage import OptunaStorage

    # The check reads the artefacts of its run's case: the records are written in the case's
    # folder, and the check is invoked with a context for that partition (build_asset_check_context
    # takes no partition key, so the op context that it wraps is built with one).
    root = ArtefactStore(root=str(tmp_path))
    store = root.case("pretend")
    pool = pl.DataFrame({"seed": np.arange(rows, dtype=np.uint64)}).with_columns(
        pl.lit("java_lcg").alias("generator"), pl.lit("mod:1000").alias("draw"),
        *[pl.lit(0).alias(c) for c in ("offset", "gap", "forward_matches", "reverse_matches",
                                       "matches")],
        pl.lit([], dtype=pl.List(pl.Int64)).alias("gaps"), pl.lit(1.0).alias("match_rate"),
        pl.lit(None, dtype=pl.Utf8).alias("strategy"),
    ).select(list(SURVIVOR_SCHEMA)).cast(SURVIVOR_SCHEMA)
    store.write_parquet(pool, "survivor_pool", "pool.parquet")
    fake = ScorerRecord.skipped("pretend", objective="o", target="t", searched=[],
                                sample_size=200, pool_rows=1, sampler_seed=0, inputs={})
    store.write_record(fake, "optimal_scorer_config", "config.json")
    context = DirectAssetCheckExecutionContext(dg.build_op_context(partition_key="pretend"))
    result = scorer_trials_differ(context, artefacts=root,
                                  optuna_storage=OptunaStorage(root=str(tmp_path)))
    assert result.passed is passed
    assert result.metadata["applies"].value == ("yes: the skip is not justified" if not passed
                                                else "not applicable: pretend")


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


def test_ranking_refuses_a_pool_built_from_an_older_history(tmp_path_factory) -> None:
    """Lineage: once the case's draw file changes and only ``prepare`` is re-materialised, the
    ranking refuses the pool on disk (built from the older history) and names what to redo."""
    values, truth = planted_history(**DEMO)
    # A fresh case and instance of its own (the tight sieve keeps it cheap: one survivor, so
    # the ranking skips its searches), so the module's other scenarios are untouched.
    scenario = _scenario(tmp_path_factory, "stale", values, truth, sieve=EXACT)
    stale = next(scenario)
    try:
        assert stale["result"].success
        defs, instance, case = stale["defs"], stale["instance"], stale["case"]
        before = _json(stale["art"], "draw_history", "record.json")["history_digest"]
        pool_stamp = _json(stale["art"], "survivor_pool", "lineage.json")
        assert pool_stamp["history"] == before
        # Another draw file for the case: a different planted seed.
        other, other_truth = planted_history(**{**DEMO, "seed": SEED + 1})
        path = write_history(stale["root"] / "history_2.json", other, other_truth)
        assert case_runs.prepare(defs, instance, case, case_runs.head_config(path, EXACT),
                                 QUIET).success
        after = _json(stale["art"], "draw_history", "record.json")["history_digest"]
        assert after != before
        assert _json(stale["art"], "survivor_pool", "lineage.json") == pool_stamp  # not redone
        run = case_runs.rank(defs, instance, case, FAST_ML, QUIET)
        assert not run.success
        failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
        assert failure.step_key == "optimal_scorer_config"
        messages, error = [], failure.event_specific_data.error
        while error is not None:
            messages.append(error.message)
            error = error.cause
        user = failure.event_specific_data.user_failure_data
        if user is not None and user.description:
            messages.append(user.description)
        refusal = [m for m in messages if "re-materialise" in m]
        assert refusal, messages
        assert "re-materialise survivor_pool" in refusal[0]
        assert after[:12] in refusal[0] and before[:12] in refusal[0]
        # Nothing downstream was rebuilt on the stale pool.
        assert run.asset_materializations_for_node("optimal_scorer_config") == []
        assert run.asset_materializations_for_node("predictions") == []
    finally:
        scenario.close()


def test_planted_leak_fails_the_leakage_check(planted, monkeypatch) -> None:
    # Last in the module: it rewrites the planted scenario's feature matrix with the leak.
    import gpu_executors.ranking.matrix as step3

    # The leak: features see the whole history instead of the train draws.
    monkeypatch.setattr(step3, "train_view", lambda pred, history: (pred, history.values))
    defs, instance = planted["defs"], planted["instance"]
    job = defs.resolve_job_def("rank_and_predict")
    run = job.execute_in_process(
        run_config={"ops": {}, **QUIET}, instance=instance, partition_key=planted["case"],
        raise_on_error=False, asset_selection=[dg.AssetKey("feature_matrix")])
    checks = {e.check_name: e for e in run.get_asset_check_evaluations()}
    leak = checks["feature_matrix_no_leakage"]
    assert not leak.passed
    assert leak.metadata["features_reading_holdout"].value != "none"
    # The stored rows, rebuilt from the train draws alone, disagree with the leaked file.
    rebuilt = checks["feature_matrix_rebuilt_from_train"]
    assert not rebuilt.passed and rebuilt.blocking
    assert rebuilt.metadata["differing_columns"].value != "none"
