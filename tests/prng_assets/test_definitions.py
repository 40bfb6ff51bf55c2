"""The code location loads, validates, registers everything, and rejects bad run config."""

from __future__ import annotations

import dagster as dg
import pydantic
import pytest

from prng_assets.assets.ingest import draw_history
from prng_assets.definitions import defs
from tests.paths import ROOT

ASSETS = [
    "draw_history",
    "feature_matrix",
    "model_catboost",
    "model_comparison",
    "model_lightgbm",
    "model_neural_net",
    "model_xgboost",
    "optimal_scorer_config",
    "predictions",
    "sieve_settings",
    "survivor_pool",
    "survivors",
]
GROUPS = {
    "draw_history": "ingest",
    "sieve_settings": "sieve",
    "survivors": "sieve",
    "survivor_pool": "sieve",
    "optimal_scorer_config": "scorer",
    "feature_matrix": "features",
    "model_catboost": "models",
    "model_lightgbm": "models",
    "model_neural_net": "models",
    "model_xgboost": "models",
    "model_comparison": "models",
    "predictions": "predictions",
}
CHECKS = [
    "draw_history:draw_dates_unique",
    "draw_history:draw_history_enough_for_window",
    "draw_history:draw_values_in_range",
    "feature_matrix:feature_matrix_constant_features",
    "feature_matrix:feature_matrix_finite",
    "feature_matrix:feature_matrix_no_leakage",
    "feature_matrix:feature_matrix_rebuilt_from_train",
    "feature_matrix:feature_matrix_uses_optimal_config",
    "model_comparison:models_no_leakage_signature",
    "model_comparison:models_not_overfit",
    "model_comparison:models_permutation_p_reproduced",
    "model_comparison:models_predictions_vary",
    "model_comparison:models_r2_sane",
    "model_comparison:models_shapes_equal",
    "model_comparison:models_test_split_disjoint",
    "model_comparison:models_training_loss_is_mse",
    "model_comparison:winner_beats_permutation",
    "optimal_scorer_config:scorer_best_config_complete",
    "optimal_scorer_config:scorer_trial_samples_differ",
    "optimal_scorer_config:scorer_trials_all_completed",
    "optimal_scorer_config:scorer_trials_differ",
    "optimal_scorer_config:scorer_validated_rho_positive",
    "optimal_scorer_config:scorer_validated_rho_reproduced",
    "predictions:predictions_backtest_reproduced",
    "predictions:predictions_beat_chance",
    "sieve_settings:sieve_best_settings_complete",
    "sieve_settings:sieve_settings_as_requested",
    "sieve_settings:sieve_trials_all_completed",
    "sieve_settings:sieve_trials_differ",
    "sieve_settings:sieve_trials_found_evidence",
    "survivor_pool:all_seed_blocks_scanned",
    "survivor_pool:gpu_survivors_reverified",
    "survivor_pool:pool_survivors_recomputed",
    "survivor_pool:reverse_pass_is_backward",
    "survivor_pool:settings_reached_sieve",
    "survivor_pool:survivors_beat_null",
    "survivor_pool:truth_recovered",
]
JOBS = {
    "pool": ["survivor_pool"],
    "prepare": ["draw_history", "sieve_settings"],
    "rank_and_predict": ["feature_matrix", "model_catboost", "model_comparison",
                         "model_lightgbm", "model_neural_net", "model_xgboost",
                         "optimal_scorer_config", "predictions"],
    "scan_seed_blocks": ["survivors"],
}
SENSORS = ["draw_file_sensor", "pool_finding_alert", "predictions_finding_alert"]
RESOURCES = ["artefacts", "compute", "notifications", "optuna_storage"]


def test_definitions_validate_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_asset_is_registered_in_its_domain_group() -> None:
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == ASSETS
    assert {k: graph.get(dg.AssetKey(k)).group_name for k in keys} == GROUPS


def test_readme_table_names_every_check_with_its_asset_and_blocking() -> None:
    """The README's checks table says what each check recomputes: every registered check has a
    row there, on its asset, with its blocking flag and kind (the table cannot drift)."""
    from prng_assets.checks.kinds import KINDS

    text = (ROOT / "README.md").read_text()
    section = text.split("### Every check, and what it re-derives", 1)[1].split("\n#", 1)[0]
    graph = defs.resolve_asset_graph()
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[1].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2].startswith("yes"),
                                         cells[3])
    expected = {k.name: (k.asset_key.to_user_string(), graph.get_check_spec(k).blocking,
                         str(KINDS[k.name])) for k in graph.asset_check_keys}
    assert rows == expected


def test_every_check_is_registered() -> None:
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}"
                    for k in defs.resolve_asset_graph().asset_check_keys)
    assert checks == CHECKS


def test_every_check_has_a_kind() -> None:
    """Each registered check is classified (finding or integrity), and the UI shows the kind
    in its description and metadata; the table names no check that does not exist."""
    from prng_assets.checks.kinds import KINDS

    graph = defs.resolve_asset_graph()
    specs = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert sorted(set(specs) - set(KINDS)) == []
    assert sorted(set(KINDS) - set(specs)) == []
    for name, spec in specs.items():
        kind = KINDS[name].value
        assert spec.description.startswith(f"[{kind}] "), name
        assert spec.metadata["kind"] == kind, name


def test_demo_summary_separates_no_finding_from_something_wrong() -> None:
    """A failed finding check is "no finding"; a failed integrity check is "something is
    wrong" even as a warning (a lost feature), and an unclassified one counts as integrity."""
    from prng_assets.demo import check_summary

    def e(name: str, passed: bool, severity: str = "WARN") -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(asset_key=dg.AssetKey("a"), check_name=name,
                                       passed=passed, severity=dg.AssetCheckSeverity(severity))

    line = check_summary([e("feature_matrix_finite", True),
                          e("scorer_validated_rho_positive", False),
                          e("feature_matrix_constant_features", False),
                          e("scorer_trial_samples_differ", False, "ERROR"),
                          e("unclassified_check", False)])
    assert line == ("checks: 1 passed; no finding (no signal, as reported above): "
                    "scorer_validated_rho_positive; SOMETHING IS WRONG (a bug or bad data): "
                    "feature_matrix_constant_features (warn), scorer_trial_samples_differ "
                    "(error), unclassified_check (warn)")


def test_every_job_sensor_and_resource_is_registered() -> None:
    jobs = {j.name: sorted(k.to_user_string() for k in j.asset_layer.executable_asset_keys)
            for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert jobs == JOBS
    assert sorted(s.name for s in defs.sensors or []) == SENSORS
    sensor_target = defs.resolve_job_def(defs.resolve_sensor_def("draw_file_sensor").job_name)
    assert sorted(k.to_user_string() for k in sensor_target.asset_layer.executable_asset_keys) \
        == JOBS["prepare"]  # a new draw file runs the head, as prepare does
    assert sorted(defs.resources or {}) == RESOURCES


def test_jobs_carry_the_checks_of_their_assets() -> None:
    """A job's checks run with it: prepare blocks on the ingest checks."""
    prepare = defs.resolve_job_def("prepare")
    names = {k.name for k in prepare.asset_layer.asset_graph.asset_check_keys
             if k.asset_key == draw_history.key}
    assert names == {"draw_dates_unique", "draw_history_enough_for_window",
                     "draw_values_in_range"}


def test_unknown_run_config_key_is_rejected(instance, artefacts, demo_history) -> None:
    """The original silently dropped overrides it did not know; Dagster must refuse them."""
    with pytest.raises(dg.DagsterInvalidConfigError, match="sample_szie"):
        dg.materialize(
            [draw_history],
            instance=instance,
            resources={"artefacts": artefacts},
            run_config={
                "ops": {"draw_history": {"config": {"path": str(demo_history), "sample_szie": 5}}}
            },
        )


@pytest.mark.parametrize(
    ("key", "value", "error", "message"),
    [
        ("holdout_fraction", 1.5, pydantic.ValidationError, "holdout_fraction 1.5 must be in"),
        ("window", 0, pydantic.ValidationError, "window 0 must be >= 1"),
        ("modulus", 1, pydantic.ValidationError, "modulus 1 must be >= 2"),
        ("format", "xml", dg.DagsterInvalidConfigError, "format"),
    ],
)
def test_bad_config_values_fail_before_reading(
    instance, artefacts, demo_history, key, value, error, message
) -> None:
    with pytest.raises(error, match=message):
        dg.materialize(
            [draw_history],
            instance=instance,
            resources={"artefacts": artefacts},
            run_config={
                "ops": {"draw_history": {"config": {"path": str(demo_history), key: value}}}
            },
        )
    assert not artefacts.exists("draw_history")  # nothing was read, nothing written


def _partitioning(pd: dg.PartitionsDefinition | None) -> str:
    if isinstance(pd, dg.DynamicPartitionsDefinition):
        return pd.name or ""
    if isinstance(pd, dg.MultiPartitionsDefinition):
        return " x ".join(d.name for d in pd.partitions_defs)
    return repr(pd)


def test_every_asset_is_partitioned_by_case() -> None:
    """A case per draw file: every asset by case, the scan by case x seed block."""
    graph = defs.resolve_asset_graph()
    got = {k: _partitioning(graph.get(dg.AssetKey(k)).partitions_def) for k in ASSETS}
    assert got == {**dict.fromkeys(ASSETS, "cases"), "survivors": "case x seed_block"}


def _report(instance: dg.DagsterInstance, key: str, *partitions: str,
            checks: bool = True) -> None:
    """A materialisation of each partition, with its checks passed (as a run would record).

    Checks are partitioned like their assets, so automation judges a partition's materialisation
    by that partition's check results. Runless check results share one (empty) run id, so a
    partition's checks can be reported once only: report them with the materialisation that
    matters."""
    asset_key = dg.AssetKey(key)
    names = [c.name for c in defs.resolve_asset_graph().asset_check_keys
             if c.asset_key == asset_key] if checks else []
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    for p in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset_key,
                                                                    partition=p))
        if not names:
            continue
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[p]), limit=1).records[0]
        target = AssetCheckEvaluationTargetMaterializationData(
            storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp)
        for name in names:
            instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                asset_key=asset_key, check_name=name, passed=True, partition=p,
                target_materialization_data=target))


def test_automation_ranks_a_case_only_after_its_pool_is_rebuilt() -> None:
    """A changed draw file re-scans its case; the ranking waits for the rebuilt pool (it never
    joins the old pool with the new history), then follows it in the same tick (one run, the
    pool first); no other case is requested."""
    from prng_assets.partitions import BLOCKS

    blocks = [f"a|{b}" for b in BLOCKS.partition_keys()]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("cases", ["a", "b"])
        for key in ASSETS:  # both cases fully materialised once
            if key == "survivors":
                _report(instance, key, *blocks, *(b.replace("a|", "b|") for b in blocks))
            elif key in ("draw_history", "sieve_settings"):  # a's checks: with its new head
                _report(instance, key, "b")
                _report(instance, key, "a", checks=False)
            else:
                _report(instance, key, "a", "b")
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        # the inbox sensor's run for a changed file, its checks passed
        _report(instance, "draw_history", "a")
        _report(instance, "sieve_settings", "a")
        after_head = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                       cursor=first.cursor)
        assert after_head.get_requested_partitions(dg.AssetKey("survivors")) == set(blocks)
        for key in ASSETS:
            if key != "survivors":
                assert after_head.get_num_requested(dg.AssetKey(key)) == 0, key
        _report(instance, "survivors", *blocks, checks=False)
        scanned = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                    cursor=after_head.cursor)
        for key in ("survivor_pool", "optimal_scorer_config", "feature_matrix",
                    "model_xgboost", "model_comparison", "predictions"):
            assert scanned.get_requested_partitions(dg.AssetKey(key)) == {"a"}, key

