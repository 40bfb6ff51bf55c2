"""Mutation tests of the sieve checks (issue #19): each fault planted, the named check must fail.

A fault enters either before its record is written (the writer's code is monkeypatched, so the
record is consistent with itself but not with what was asked or what the draws give) or after
(the file is altered once written, then the checks run again alone). Each case scans 2^13
seeds around the demo's planted seed with a loose sieve (at least 2 of 10 draws, offsets 0..8,
gaps 0..4), so its pool holds the planted seed and a few chance survivors.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
import optuna
import polars as pl
import pytest

import prng_assets.assets.sieve as sieve_assets
from gpu_executors.prng.synth import planted_history, truth_path, write_history
from gpu_executors.sieve.records import PoolStats, SieveSettingsRecord
from prng_assets import case_runs, lineage
from prng_assets.artefact_keys import POOL_TABLE, block_stats, block_table
from prng_assets.assets.sieve import SieveSettingsConfig, sieve_settings, survivor_pool
from prng_assets.definitions import build_defs, defs
from prng_assets.demo import DEMO
from resources.artefacts import ArtefactStore
from tests.run_config import QUIET

pytestmark = pytest.mark.slow

SEED = DEMO["seed"]
PLANTED_BLOCK = "b"  # 3_141_592 >> 18 == 11
SIEVE = {"search": False, "window": 10, "offset_max": 8, "gap_max": 4, "max_misses": 8,
         "seed_start": SEED - (1 << 12), "seed_stop": SEED + (1 << 12)}
CASE = "mut"
# As the code location registers them (not as the module defines them).
BLOCKING = {k.name: defs.resolve_asset_graph().get_check_spec(k).blocking
            for k in defs.resolve_asset_graph().asset_check_keys
            if k.asset_key in (sieve_settings.key, survivor_pool.key)}
HEAD_CHECKS = {k.name for k in defs.resolve_asset_graph().asset_check_keys
               if k.asset_key == sieve_settings.key}
ERROR_CHECKS = ("all_seed_blocks_scanned", "settings_reached_sieve", "gpu_survivors_reverified",
                "reverse_pass_is_backward", "truth_recovered", "pool_survivors_recomputed",
                "sieve_settings_as_requested")

Checks = dict[str, dg.AssetCheckEvaluation]


class Graph:
    """One case's head, scan and pool in a fresh instance and artefact root."""

    def __init__(self, root: Path, instance: dg.DagsterInstance, truth: bool = True) -> None:
        values, planted = planted_history(**DEMO)
        self.path = write_history(root / "history.json", values, planted)
        if not truth:
            truth_path(self.path).unlink()
        self.defs = build_defs(artefact_root=str(root / "artefacts"), backend="cpu")
        self.instance = instance
        self.art = root / "artefacts" / "cases" / CASE
        self.store = ArtefactStore(root=str(root / "artefacts")).case(CASE)

    def prepare(self, **sieve: Any) -> tuple[dg.ExecuteInProcessResult, Checks]:
        result = case_runs.prepare(self.defs, self.instance, CASE,
                                   case_runs.head_config(self.path, {**SIEVE, **sieve}), QUIET)
        return result, _evaluations(result)

    def scan(self) -> None:
        assert case_runs.scan(self.defs, self.instance, CASE, extra=QUIET).success

    def pool(self) -> tuple[dg.ExecuteInProcessResult, Checks]:
        result = case_runs.pool(self.defs, self.instance, CASE, QUIET)
        return result, _evaluations(result)

    def run(self, **sieve: Any) -> tuple[dg.ExecuteInProcessResult, Checks]:
        """The whole sieve, the head's checks passed; the pool's run and its checks."""
        head, checks = self.prepare(**sieve)
        assert head.success and checks["sieve_settings_as_requested"].passed
        self.scan()
        return self.pool()

    def checks_only(self, job: str, asset: dg.AssetsDefinition) -> tuple[
            dg.ExecuteInProcessResult, Checks]:
        """The asset's checks run again alone (a fault entered after its files were written)."""
        keys = {k for k in self.defs.resolve_asset_graph().asset_check_keys
                if k.asset_key == asset.key}
        subset = self.defs.resolve_job_def(job).get_subset(asset_selection=set(),
                                                           asset_check_selection=keys)
        result = subset.execute_in_process(run_config=QUIET, instance=self.instance,
                                           partition_key=CASE, raise_on_error=False)
        return result, _evaluations(result)

    def digest(self) -> str:
        return lineage.current(self.store).scan_digest


def _evaluations(result: dg.ExecuteInProcessResult) -> Checks:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _meta(check: dg.AssetCheckEvaluation, key: str) -> Any:
    return check.metadata[key].value


def _fails_blocking(result: dg.ExecuteInProcessResult, checks: Checks, name: str) -> None:
    """The check failed at run time, it is blocking, and so its run failed."""
    assert not checks[name].passed, name
    assert BLOCKING[name], name
    assert not result.success


@pytest.fixture
def graph(tmp_path: Path, instance: dg.DagsterInstance) -> Graph:
    return Graph(tmp_path, instance)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One clean case, for faults entered after the files were written (each test restores)."""
    with dg.instance_for_test() as instance:
        g = Graph(tmp_path_factory.mktemp("clean"), instance)
        result, checks = g.run()
        yield {"graph": g, "result": result, "checks": checks}


def test_error_checks_are_blocking_and_the_warning_is_not() -> None:
    assert {n: BLOCKING[n] for n in ERROR_CHECKS} == dict.fromkeys(ERROR_CHECKS, True)
    assert BLOCKING["survivors_beat_null"] is False  # no signal is not a bug


def test_clean_run_passes_every_sieve_check(clean: dict[str, Any]) -> None:
    checks, g = clean["checks"], clean["graph"]
    assert clean["result"].success
    assert {n: e.passed for n, e in checks.items()} == dict.fromkeys(
        [n for n in BLOCKING if n not in HEAD_CHECKS], True)
    recomputed = checks["pool_survivors_recomputed"]
    pool = pl.read_parquet(g.art / "survivor_pool" / "pool.parquet")
    assert 1 < pool["seed"].n_unique() <= 40 and SEED in pool["seed"].to_list()
    assert _meta(recomputed, "pool_seeds_recomputed") == pool["seed"].n_unique()
    assert _meta(recomputed, "other_seeds_recomputed") == 150
    assert _meta(recomputed, "mismatches") == 0 and not _meta(recomputed, "capped_by_cost")
    assert _meta(checks["truth_recovered"], "found") is True
    head, again = g.checks_only("prepare", sieve_settings)  # the head's check, from the instance
    assert head.success and again["sieve_settings_as_requested"].passed
    as_requested = again["sieve_settings_as_requested"]
    assert _meta(as_requested, "set_by_run_config") == (
        "gap_max, max_misses, offset_max, seed_start, seed_stop, window")
    assert _meta(as_requested, "differing") == "none"


def test_no_truth_sidecar_passes_truth_recovered_as_not_applicable(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    result, checks = Graph(tmp_path, instance, truth=False).run()
    assert result.success and checks["truth_recovered"].passed
    assert _meta(checks["truth_recovered"], "applies") == "no truth sidecar"


# (a) A sieve setting of a `search: false` run config silently dropped.
def _dropping(name: str, value: int) -> Callable[[SieveSettingsConfig], Any]:
    real = SieveSettingsConfig.settings

    def settings(self: SieveSettingsConfig):
        return replace(real(self), **{name: value})

    return settings


@pytest.mark.parametrize(("name", "asked", "dropped_to"),
                         [("max_misses", 8, 0), ("gap_max", 4, 0)])
def test_dropped_setting_fails_as_requested(graph: Graph, monkeypatch, name: str, asked: int,
                                            dropped_to: int) -> None:
    """Before the record: the config's settings() loses a value, so the record, its digest,
    the stamp and every block agree with one another and only the run config tells."""
    monkeypatch.setattr(SieveSettingsConfig, "settings", _dropping(name, dropped_to))
    result, checks = graph.prepare()
    check = checks["sieve_settings_as_requested"]
    _fails_blocking(result, checks, "sieve_settings_as_requested")
    assert _meta(check, "differing") == name
    assert _meta(check, "differences") == {name: {"requested": asked, "recorded": dropped_to}}
    assert _meta(check, "lineage_stamp_agrees") is True  # the record is self-consistent
    assert result.asset_materializations_for_node("sieve_settings")  # it was written
    graph.scan()  # by hand, past the blocking check: the pool's checks see nothing wrong
    _pool, pool_checks = graph.pool()
    assert pool_checks["settings_reached_sieve"].passed
    assert pool_checks["pool_survivors_recomputed"].passed


def test_altered_settings_file_fails_as_requested(clean: dict[str, Any]) -> None:
    """After the record: settings.json is edited (gap_max 4 -> 2) once written."""
    g = clean["graph"]
    record = g.art / "sieve_settings" / "settings.json"
    original = record.read_text()
    try:
        record.write_text(original.replace('"gap_max": 4', '"gap_max": 2'))
        result, checks = g.checks_only("prepare", sieve_settings)
        check = checks["sieve_settings_as_requested"]
        _fails_blocking(result, checks, "sieve_settings_as_requested")
        assert _meta(check, "differing") == "gap_max"
        assert _meta(check, "lineage_stamp_agrees") is False
    finally:
        record.write_text(original)


def test_searched_settings_outside_the_bounds_fail(graph: Graph, monkeypatch) -> None:
    """Before the record (search: true): the trial's settings leave the window bounds."""
    real = sieve_assets.suggest_settings
    monkeypatch.setattr(sieve_assets, "suggest_settings",
                        lambda *a: replace(real(*a), window=12))
    result, checks = graph.prepare(search=True, n_trials=2, window_bounds=[6, 10],
                                   offset_bounds=[0, 4], gap_bounds=[0, 3])
    _fails_blocking(result, checks, "sieve_settings_as_requested")
    assert _meta(checks["sieve_settings_as_requested"], "differences") == {
        "window": {"requested": "within [6, 10]", "recorded": 12}}


# (b) A survivor row altered, removed or added in pool.parquet.
def _alter_seed(pool: pl.DataFrame) -> pl.DataFrame:
    return pool.with_columns(pl.when(pl.col("seed") == SEED).then(pl.col("seed") + 1)
                             .otherwise(pl.col("seed")).alias("seed"))


def _alter_matches(pool: pl.DataFrame) -> pl.DataFrame:
    top = pl.col("seed") == SEED
    return pool.with_columns(pl.when(top).then(pl.col(c) - 1).otherwise(pl.col(c)).alias(c)
                             for c in ("forward_matches", "matches"))


def _remove(pool: pl.DataFrame) -> pl.DataFrame:
    return pool.filter(pl.col("seed") != SEED)


def _add(pool: pl.DataFrame) -> pl.DataFrame:
    spurious = pool.filter(pl.col("seed") == SEED).with_columns(pl.col("seed") + 7)
    return pl.concat([pool, spurious])


# Each fault and the seeds the check must name: an altered seed leaves the true one missing.
TAMPER = {"seed_altered": (_alter_seed, {SEED, SEED + 1}),
          "matches_altered": (_alter_matches, {SEED}),
          "row_removed": (_remove, {SEED}),
          "row_added": (_add, {SEED + 7})}


@pytest.mark.parametrize("fault", sorted(TAMPER))
def test_pool_written_wrong_fails_recomputation(graph: Graph, monkeypatch, fault: str) -> None:
    """Before the record: the merge hands the pool writer altered rows."""
    tamper, seeds = TAMPER[fault]
    real = sieve_assets.merge_pool
    monkeypatch.setattr(sieve_assets, "merge_pool", lambda frames: tamper(real(frames)))
    result, checks = graph.run()
    check = checks["pool_survivors_recomputed"]
    _fails_blocking(result, checks, "pool_survivors_recomputed")
    assert {m["seed"] for m in _meta(check, "mismatched")} == seeds
    assert checks["all_seed_blocks_scanned"].passed and checks["settings_reached_sieve"].passed


@pytest.mark.parametrize("fault", sorted(TAMPER))
def test_pool_file_altered_fails_recomputation(clean: dict[str, Any], fault: str) -> None:
    """After the record: pool.parquet is rewritten once the pool was materialised."""
    tamper, seeds = TAMPER[fault]
    g = clean["graph"]
    path = g.art.joinpath(*POOL_TABLE)
    backup = path.with_suffix(".clean")
    shutil.copy(path, backup)
    try:
        tamper(pl.read_parquet(path)).write_parquet(path)
        result, checks = g.checks_only("pool", survivor_pool)
        check = checks["pool_survivors_recomputed"]
        _fails_blocking(result, checks, "pool_survivors_recomputed")
        assert {m["seed"] for m in _meta(check, "mismatched")} == seeds
    finally:
        shutil.copy(backup, path)
    assert g.checks_only("pool", survivor_pool)[1]["pool_survivors_recomputed"].passed


# (c) A seed block's survivors file dropped.
def test_block_never_written_fails_coverage(graph: Graph, monkeypatch) -> None:
    """Before the record: the scan writes neither the planted block's table nor its stats."""
    for method in ("write_parquet", "write_json"):
        real = getattr(ArtefactStore, method)

        def skip(self, data, *parts, _real=real):
            if parts[0] == "survivors" and parts[-1].split(".")[0] == PLANTED_BLOCK:
                return self.path(*parts)
            return _real(self, data, *parts)

        monkeypatch.setattr(ArtefactStore, method, skip)
    result, checks = graph.run()
    _fails_blocking(result, checks, "all_seed_blocks_scanned")
    assert _meta(checks["all_seed_blocks_scanned"], "partitions_missing") == 1
    _fails_blocking(result, checks, "truth_recovered")


def test_block_files_deleted_fails_coverage(graph: Graph) -> None:
    """After the record: the planted block's table and stats are deleted before the pool."""
    graph.prepare()
    graph.scan()
    for key in (block_table, block_stats):
        graph.store.path(*key(graph.digest(), PLANTED_BLOCK)).unlink()
    result, checks = graph.pool()
    _fails_blocking(result, checks, "all_seed_blocks_scanned")
    assert _meta(checks["all_seed_blocks_scanned"], "partitions_missing") == 1


def test_stats_claiming_every_block_fail_coverage(graph: Graph, monkeypatch) -> None:
    """After the files: a block is deleted and the pool's stats are written claiming every
    block; the check counts the block files under the current scan digest itself."""
    graph.prepare()
    graph.scan()
    for key in (block_table, block_stats):
        graph.store.path(*key(graph.digest(), PLANTED_BLOCK)).unlink()
    real = ArtefactStore.write_record

    def claimed(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, PoolStats):
            record = replace(record, partitions_covered=record.partitions_expected,
                             partitions_missing=0)
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", claimed)
    result, checks = graph.pool()
    _fails_blocking(result, checks, "all_seed_blocks_scanned")
    coverage = checks["all_seed_blocks_scanned"]
    assert _meta(coverage, "partitions_missing") == 1 and _meta(coverage, "recorded_missing") == 0
    assert _meta(coverage, "missing") == PLANTED_BLOCK


def test_block_table_emptied_fails_recomputation(graph: Graph) -> None:
    """After the record: the planted block's table loses its rows, its stats still count them."""
    graph.prepare()
    graph.scan()
    path = graph.store.path(*block_table(graph.digest(), PLANTED_BLOCK))
    pl.read_parquet(path).clear().write_parquet(path)
    result, checks = graph.pool()
    check = checks["pool_survivors_recomputed"]
    _fails_blocking(result, checks, "pool_survivors_recomputed")
    assert _meta(check, "blocks_disagreeing_with_their_stats") == PLANTED_BLOCK
    _fails_blocking(result, checks, "truth_recovered")


# (e) The window optimiser (search: true): its trials as the study holds them.
SEARCH = {"search": True, "n_trials": 4, "window_bounds": [8, 10], "offset_bounds": [0, 8],
          "gap_bounds": [0, 4], "max_misses_bounds": [5, 7]}
SEARCH_CHECKS = ("sieve_trials_differ", "sieve_trials_all_completed",
                 "sieve_best_settings_complete", "sieve_trials_found_evidence")


def _searched(graph: Graph, **changes: Any) -> tuple[dg.ExecuteInProcessResult, Checks]:
    return graph.prepare(**{**SEARCH, **changes})


def test_clean_search_passes_the_optimiser_checks(graph: Graph) -> None:
    result, checks = _searched(graph)
    assert result.success
    assert {n: checks[n].passed for n in SEARCH_CHECKS} == dict.fromkeys(SEARCH_CHECKS, True)
    assert _meta(checks["sieve_trials_differ"], "distinct_values") >= 2
    done = checks["sieve_trials_all_completed"]
    assert _meta(done, "trials_completed") + _meta(done, "trials_pruned") == 4


def test_given_settings_make_the_optimiser_checks_not_applicable(clean: dict[str, Any]) -> None:
    _result, checks = clean["graph"].checks_only("prepare", sieve_settings)
    for name in SEARCH_CHECKS:
        assert checks[name].passed and _meta(checks[name], "applies").startswith(
            "not applicable: settings given directly")


def _constant_evidence(monkeypatch) -> None:
    real = sieve_assets.scan_blocks
    monkeypatch.setattr(sieve_assets, "scan_blocks",
                        lambda *a, **k: {**real(*a, **k), "survivors": 5, "evidence": 2.0})


def test_constant_objective_fails_trials_differ(graph: Graph, monkeypatch) -> None:
    """Before the record: every trial scores the same evidence."""
    _constant_evidence(monkeypatch)
    result, checks = _searched(graph)
    _fails_blocking(result, checks, "sieve_trials_differ")
    assert _meta(checks["sieve_trials_differ"], "distinct_values") == 1


def _rewritten_settings_record(monkeypatch, change: Callable) -> None:
    real = ArtefactStore.write_record

    def rewritten(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, SieveSettingsRecord) and record.search is not None:
            record = replace(record, search=change(record.search))
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", rewritten)


def test_record_claiming_distinct_evidence_fails_trials_differ(graph: Graph,
                                                               monkeypatch) -> None:
    """After the trials: the record lists an evidence of its own for each trial."""
    _constant_evidence(monkeypatch)
    _rewritten_settings_record(monkeypatch, lambda search: replace(
        search, trials=[{**t, "evidence": float(t["number"])} for t in search.trials]))
    result, checks = _searched(graph)
    _fails_blocking(result, checks, "sieve_trials_differ")
    assert _meta(checks["sieve_trials_differ"], "record_agrees_with_study") is False


@pytest.mark.parametrize("hidden", [False, True])
def test_trials_never_run_fail_all_completed(graph: Graph, monkeypatch, hidden: bool) -> None:
    """Before the record: two requested trials never start; honest, or with the record
    claiming them completed."""
    real = optuna.study.Study.optimize
    monkeypatch.setattr(optuna.study.Study, "optimize",
                        lambda self, func, n_trials=None, **k: real(self, func,
                                                                     n_trials=n_trials - 2, **k))
    if hidden:
        _rewritten_settings_record(monkeypatch, lambda search: replace(
            search, trials_completed=search.trials_requested - search.trials_pruned))
    result, checks = _searched(graph)
    _fails_blocking(result, checks, "sieve_trials_all_completed")
    done = checks["sieve_trials_all_completed"]
    assert _meta(done, "trials_requested") == 4
    assert _meta(done, "trials_completed") + _meta(done, "trials_pruned") == 2
    assert _meta(done, "record_agrees") is (not hidden)


class _FixedGapMax:
    """A trial never asked for ``gap_max``: it is pinned to ``gap_min``."""

    def __init__(self, trial) -> None:
        self._trial = trial

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        return low if name == "gap_max" else self._trial.suggest_int(name, low, high, **kwargs)


@pytest.mark.parametrize("hidden", [False, True])
def test_unsearched_parameter_fails_best_settings(graph: Graph, monkeypatch,
                                                  hidden: bool) -> None:
    """Before the record: ``gap_max`` drops out of the search (pinned to gap_min); honest, or
    with the record's best parameters filled in."""
    real = sieve_assets.suggest_settings
    monkeypatch.setattr(sieve_assets, "suggest_settings",
                        lambda trial, base, bounds: real(_FixedGapMax(trial), base, bounds))
    if hidden:
        _rewritten_settings_record(monkeypatch, lambda search: replace(
            search, best_params={**search.best_params, "gap_max": search.best_params["gap_min"]}))
    result, checks = _searched(graph)
    _fails_blocking(result, checks, "sieve_best_settings_complete")
    best = checks["sieve_best_settings_complete"]
    assert _meta(best, "missing") == "gap_max"
    assert _meta(best, "record_agrees_with_study") is (not hidden)


def test_nothing_surviving_any_trial_warns(graph: Graph) -> None:
    """A strict sieve over seeds without the planted one: every trial's forward pass is empty,
    so every trial is pruned with its reason and the settings are chosen blind; the warning
    says so and the rest pass."""
    result, checks = _searched(graph, seed_start=SEED + (1 << 12), seed_stop=SEED + (1 << 13),
                               window_bounds=[10, 10], max_misses_bounds=[0, 0])
    assert result.success
    found = checks["sieve_trials_found_evidence"]
    assert not found.passed and found.severity == dg.AssetCheckSeverity.WARN
    assert _meta(found, "verdict").startswith("nothing survived any trial")
    done = checks["sieve_trials_all_completed"]
    assert done.passed and _meta(done, "trials_pruned") == 4
    assert "forward pass empty" in _meta(done, "pruned_reasons")
    assert checks["sieve_trials_differ"].passed and checks["sieve_best_settings_complete"].passed
