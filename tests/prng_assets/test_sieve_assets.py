"""The sieve on Dagster: settings search, seed-block partitions, pool, checks, resume, cases.

Every asset is partitioned by case and the scan by case x seed block: the tests drive a case's
jobs through ``case_runs`` and read its artefacts under ``ARTEFACT_ROOT/cases/CASE``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from gpu_executors.prng.synth import planted_history, random_history, write_history
from gpu_executors.sieve.settings import SeedBlocks, SieveSettings
from prng_assets import case_runs
from prng_assets.assets.sieve import survivor_pool, survivors
from prng_assets.definitions import build_defs
from prng_assets.demo import DEMO, run_demo
from prng_assets.partitions import BLOCKS, DEMO_CASE, scan_keys
from tests.run_config import QUIET

FAST_SETTINGS = {"n_trials": 6}
CASE = DEMO_CASE


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    return build_defs(artefact_root=str(tmp_path / "artefacts"), backend="cpu")


def _case_dir(tmp_path: Path, case: str = CASE) -> Path:
    """Where a case's artefacts live (``ArtefactStore.case``)."""
    return tmp_path / "artefacts" / "cases" / case


def _prepare(defs, instance, path: Path, case: str = CASE,
             **settings) -> dg.ExecuteInProcessResult:
    return case_runs.prepare(defs, instance, case,
                             case_runs.head_config(path, {**FAST_SETTINGS, **settings}), QUIET)


def _scan(defs, instance, blocks: list[str], case: str = CASE) -> None:
    """One run over the case's contiguous range of blocks (as a backfill's run)."""
    assert case_runs.scan(defs, instance, case, blocks, QUIET).success


def _pool(defs, instance, case: str = CASE) -> dict:
    result = case_runs.pool(defs, instance, case, QUIET)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _keys(blocks: list[str], case: str = CASE) -> list[str]:
    """The survivors partition keys (``case|block``) of a case's blocks."""
    return [str(k) for k in scan_keys(case, blocks)]


def test_seed_blocks_cut_the_space() -> None:
    blocks = SeedBlocks(start=0, space_bits=22, block_bits=18)
    keys = blocks.partition_keys()
    assert len(keys) == 16 and keys[0] == "0" and keys[-1] == "f"
    assert blocks.seed_range("b") == (11 << 18, 12 << 18)
    assert BLOCKS.count == len(keys)  # the default the code location loads
    with pytest.raises(ValueError, match="65,536"):
        SeedBlocks(space_bits=40, block_bits=20)


def test_demo_recovers_the_planted_seed(defs, instance, demo_history: Path) -> None:
    lines, ok = run_demo(defs, instance, demo_history)
    text = "\n".join(lines)
    assert ok
    assert "recovered: seed 3141592 (offset 3, gap 2" in text
    assert "beats chance" in text
    assert "SOMETHING IS WRONG" not in text and "runs succeeded" in text


def test_random_history_shows_no_excess(defs, instance, tmp_path: Path) -> None:
    values, truth = random_history(1000, 400)
    path = write_history(tmp_path / "noise.json", values, truth)
    assert _prepare(defs, instance, path).success
    _scan(defs, instance, BLOCKS.partition_keys())
    checks = _pool(defs, instance)
    assert not checks["survivors_beat_null"].passed  # a warning: no finding
    assert checks["survivors_beat_null"].metadata["verdict"].value.startswith("no excess")
    assert checks["all_seed_blocks_scanned"].passed
    assert checks["truth_recovered"].passed  # no planted truth to recover
    assert checks["settings_reached_sieve"].passed


def test_resumed_backfill_scans_only_missing_blocks(defs, instance, demo_history: Path) -> None:
    assert _prepare(defs, instance, demo_history, search=False, window=10, offset_max=4,
                    gap_max=3).success
    keys = BLOCKS.partition_keys()
    _scan(defs, instance, keys[: len(keys) // 2])  # stopped half-way
    checks = _pool(defs, instance)
    assert not checks["all_seed_blocks_scanned"].passed
    done = instance.get_materialized_partitions(survivors.key)
    missing = [k for k in keys if str(scan_keys(CASE, [k])[0]) not in done]
    assert missing == keys[len(keys) // 2:]
    _scan(defs, instance, missing)  # resume
    counts = {}
    for record in instance.fetch_materializations(survivors.key, limit=1000).records:
        key = record.asset_materialization.partition
        counts[key] = counts.get(key, 0) + 1
    assert counts == dict.fromkeys(_keys(keys), 1)  # every block scanned exactly once
    checks = _pool(defs, instance)
    assert checks["all_seed_blocks_scanned"].passed
    assert checks["truth_recovered"].passed


def test_truth_check_fails_when_settings_exclude_the_truth(defs, instance,
                                                           demo_history: Path) -> None:
    # gap 2 is planted; scanning gaps 0..1 only cannot find it.
    assert _prepare(defs, instance, demo_history, search=False, window=10, offset_max=4,
                    gap_max=1).success
    _scan(defs, instance, BLOCKS.partition_keys())
    checks = _pool(defs, instance)
    assert not checks["truth_recovered"].passed
    assert checks["truth_recovered"].metadata["found"].value is False


def test_warm_start_begins_with_the_previous_best(defs, instance, demo_history: Path,
                                                  tmp_path: Path) -> None:
    """A new search with warm_start tries the case's previous best settings first."""
    assert _prepare(defs, instance, demo_history, n_trials=3).success
    path = _case_dir(tmp_path) / "sieve_settings" / "settings.json"
    first = json.loads(path.read_text())
    assert _prepare(defs, instance, demo_history, n_trials=2, warm_start=True).success
    again = json.loads(path.read_text())
    assert again["warm_started"] is True and again["study_name"] != first["study_name"]
    assert again["trials"][0]["params"] == first["best_params"]


def test_searched_parameters_reach_the_sieve_and_study_resumes(
    defs, instance, demo_history: Path, tmp_path: Path
) -> None:
    assert _prepare(defs, instance, demo_history, study_name="resume-me", n_trials=3).success
    record = json.loads((_case_dir(tmp_path) / "sieve_settings" / "settings.json").read_text())
    # A trial whose forward pass keeps no survivor is pruned, with its reason.
    assert record["trials_completed"] + record["trials_pruned"] == 3
    assert record["sampler_seed"] == 0
    best = record["best_params"]
    assert set(best) == {"window", "offset_max", "gap_min", "gap_max", "gap_mode", "max_misses"}
    assert all(record["settings"][k] == v for k, v in best.items())
    assert _prepare(defs, instance, demo_history, study_name="resume-me", n_trials=5).success
    again = json.loads((_case_dir(tmp_path) / "sieve_settings" / "settings.json").read_text())
    # resumed: 3 old + 2 new, not 5 new
    assert again["trials_completed"] + again["trials_pruned"] == 5
    # Resumed under other bounds, the old trials neither count nor may be chosen: 3 new trials,
    # and the settings lie within the new bounds (as requested).
    result = _prepare(defs, instance, demo_history, study_name="resume-me", n_trials=3,
                      window_bounds=[6, 7])
    assert result.success
    narrowed = json.loads((_case_dir(tmp_path) / "sieve_settings" / "settings.json").read_text())
    assert narrowed["trials_completed"] + narrowed["trials_pruned"] == 3
    assert 6 <= narrowed["settings"]["window"] <= 7
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}[
        "sieve_settings_as_requested"]
    assert _prepare(defs, instance, demo_history, study_name="resume-me", n_trials=5).success
    _scan(defs, instance, BLOCKS.partition_keys()[:2])
    assert _pool(defs, instance)["settings_reached_sieve"].passed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"gap_min": 3, "gap_max": 1}, "gap_min 3 > gap_max 1"),
        ({"seed_start": 10, "seed_stop": 10}, "empty seed range"),
        ({"window_bounds": [6, 500]}, "longer than the train split"),
        ({"search": False, "window": 500}, "longer than the train split"),
        ({"draw": "nextint:10", "generator": "msvc_rand"}, "31 bits"),
        ({"n_trials": 0}, "n_trials"),
        ({"windw": 8}, "windw"),
        ({"generator": "mt19937,pcg33"}, "unknown generator(s) pcg33"),
        ({"generator": "auto", "draw": "mod"}, "expected mod:M"),
        ({"gap_strategies": ["steady", "fast"]}, "unknown gap strategy 'fast'"),
        ({"gap_mode_choices": ["sometimes"]}, "unknown gap mode 'sometimes'"),
        ({"mode": "state", "search": False, "gap_mode": "variable"},
         "state scans use a constant gap"),
    ],
)
def test_bad_settings_fail_with_a_clear_message(defs, instance, demo_history: Path, settings,
                                                message: str) -> None:
    try:
        result = _prepare(defs, instance, demo_history, **settings)
    except dg.DagsterInvalidConfigError as exc:  # rejected before anything runs
        assert message in str(exc)
        return
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert message in failure.step_failure_data.error.to_string()
    assert instance.get_latest_materialization_event(survivors.key) is None


def test_settings_digest_changes_with_any_parameter() -> None:
    a = SieveSettings("java_lcg", "mod:1000", window=8)
    assert a.digest() != SieveSettings("java_lcg", "mod:1000", window=9).digest()
    assert a.digest() == SieveSettings("java_lcg", "mod:1000", window=8).digest()


def test_pool_table_has_one_row_per_candidate(defs, instance, demo_history: Path,
                                              tmp_path: Path) -> None:
    assert _prepare(defs, instance, demo_history, search=False, window=6, offset_max=3,
                    gap_max=2, max_misses=1).success
    _scan(defs, instance, ["b"])
    _pool(defs, instance)
    pool = pl.read_parquet(_case_dir(tmp_path) / "survivor_pool" / "pool.parquet")
    assert pool.select(["seed", "offset", "gap"]).is_unique().all()
    assert 3_141_592 in pool["seed"].to_list()


def test_state_scan_pool_reverse_pass_walks_backward(defs, instance, tmp_path: Path) -> None:
    """A bidirectional state scan through the pool: the true anchor state survives with both
    passes, and the reverse-pass check recomputes its backward walk."""
    import numpy as np

    from gpu_executors.prng.generators import get_generator
    from gpu_executors.prng.synth import planted_history

    gen = get_generator("xorshift32")
    anchor, gap, offset = 4, 1, 2
    target = 3_000_001  # the state just before draw `anchor`, inside the scanned 2^22 space
    state = np.array([target], dtype=np.uint64)
    for _ in range(offset + anchor * (gap + 1)):
        gen.prev(state)
    values, truth = planted_history("xorshift32", "mod:1000", int(state[0]), 300, offset,
                                    (gap, gap))
    path = write_history(tmp_path / "state.json", values, truth)
    assert _prepare(defs, instance, path, generator="xorshift32", mode="state", search=False,
                    window=12, anchor=anchor, gap_min=gap, gap_max=gap).success
    _scan(defs, instance, ["b"])  # 3_000_001 >> 18 == 11
    checks = _pool(defs, instance)
    pool = pl.read_parquet(_case_dir(tmp_path) / "survivor_pool" / "pool.parquet")
    row = pool.filter(pl.col("seed") == target).row(0, named=True)
    assert (row["forward_matches"], row["reverse_matches"]) == (12 - anchor, anchor)
    assert checks["reverse_pass_is_backward"].passed
    assert checks["reverse_pass_is_backward"].metadata["recomputed_mismatches"].value == 0


def test_match_tiers_single_out_one_true_candidate_among_chance_survivors() -> None:
    from gpu_executors.sieve.settings import pool_stats, tier_nulls
    from gpu_executors.sieve.spec import SURVIVOR_SCHEMA

    settings = SieveSettings(generator="java_lcg", draw="mod:1000", window=10, max_misses=8)
    train = np.arange(10)
    candidates = 10_000_000
    tiers = tier_nulls(settings, train, candidates)
    assert set(tiers) == set(range(2, 11))
    chance = round(tiers[2])  # exactly the null's count of chance survivors...
    matches = np.full(chance, 2)
    matches[0] = 10  # ...one of which matches the whole window
    pool = pl.DataFrame({"seed": np.arange(chance, dtype=np.uint64),
                         "generator": ["java_lcg"] * chance, "draw": ["mod:1000"] * chance,
                         "offset": np.zeros(chance, np.int64), "gap": np.zeros(chance, np.int64),
                         "gaps": [[]] * chance, "strategy": [None] * chance,
                         "forward_matches": matches,
                         "reverse_matches": np.zeros(chance, np.int64), "matches": matches,
                         "match_rate": matches / 10}, schema=SURVIVOR_SCHEMA)
    blocks = [{"candidates_scanned": candidates, "null_expected": tiers[2]}]
    stats = pool_stats(pool, blocks, 1, tiers)
    assert stats["p_value"] > 0.3  # the total alone is no finding
    assert stats["best_tier"]["min_matches"] == 10 and stats["tier_p_value"] < 1e-10
    assert stats["significant"]
    assert not pool_stats(pool.filter(pl.col("matches") < 10), blocks, 1, tiers)["significant"]


def test_the_pair_is_identified_when_not_given(defs, instance, tmp_path: Path) -> None:
    """generator as a list: each pair scanned on the blocks, only mt19937 beats chance after the
    correction, and the record scans it; the other pairs' figures are in the metadata."""
    values, truth = planted_history("mt19937", "mod:1000", 3_200_003, 300)  # block c
    path = write_history(tmp_path / "mt.json", values, truth)
    result = _prepare(defs, instance, path, generator="mt19937,php_mt_rand_legacy,xorshift32",
                      search=False, window=8, sample_blocks=2, sampler_seed=3)
    assert result.success
    record = json.loads((_case_dir(tmp_path) / "sieve_settings" / "settings.json").read_text())
    assert (record["settings"]["generator"], record["settings"]["draw"]) == ("mt19937", "mod:1000")
    ident = record["identification"]
    assert (ident["tried"], ident["identified"]) == (3, ["mt19937 mod:1000"])
    assert ident["pairs"][0]["survivors"] == 1 and ident["pairs"][1]["survivors"] == 0
    meta = result.asset_materializations_for_node("sieve_settings")[0].metadata
    assert meta["identified"].value.startswith("mt19937 mod:1000 (corrected p = ")
    assert "| xorshift32 mod:1000 | 0 |" in meta["pairs_tried"].value


def test_one_run_scans_a_range_of_blocks(defs, instance, demo_history: Path, tmp_path) -> None:
    """A backfill's run scans its whole range (SEEDSIEVE_BLOCKS_PER_RUN blocks, default 8): each
    block's survivors are stored apart, and the pool is the same as one run per block."""
    assert survivors.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=8)
    assert _prepare(defs, instance, demo_history, search=False, window=10, offset_max=4,
                    gap_min=0, gap_max=3).success
    keys = BLOCKS.partition_keys()
    for start, end in ((keys[0], keys[7]), (keys[8], keys[-1])):
        result = defs.resolve_job_def("scan_seed_blocks").execute_in_process(
            instance=instance, run_config=QUIET,
            tags={case_runs.RANGE_START_TAG: _keys([start])[0],
                  case_runs.RANGE_END_TAG: _keys([end])[0]})
        assert result.success
        events = result.asset_materializations_for_node("survivors")
        assert sorted(e.partition for e in events) == _keys(
            keys[keys.index(start) : keys.index(end) + 1])
        assert {e.metadata["blocks"].value for e in events} == {8}
    materialized = instance.get_materialized_partitions(survivors.key)
    assert materialized == set(_keys(keys))
    checks = _pool(defs, instance)
    assert checks["all_seed_blocks_scanned"].passed
    pool = pl.read_parquet(_case_dir(tmp_path) / "survivor_pool" / "pool.parquet")
    assert 3141592 in pool["seed"].to_list()  # the demo's planted seed, in block b


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_cases_stand_side_by_side(defs, instance, demo_history: Path, tmp_path: Path) -> None:
    """Two draw files as two cases in one instance and one artefact root: each case's settings,
    blocks and pool stay in its own folder, and re-running one leaves the other's files as
    they were."""
    other = {**DEMO, "seed": 1_234_567, "offset": 1, "gap": (1, 1)}
    values, truth = planted_history(**other)
    b_path = write_history(tmp_path / "b" / "history.json", values, truth)
    seeds = {"a": DEMO["seed"], "b": other["seed"]}

    def sieve(case: str, window: int = 10) -> dict:
        return {"search": False, "window": window, "offset_max": 4, "gap_max": 3,
                "seed_start": seeds[case] - (1 << 12), "seed_stop": seeds[case] + (1 << 12)}

    def run(case: str, path: Path, window: int = 10) -> dict:
        assert _prepare(defs, instance, path, case=case, **sieve(case, window)).success
        _scan(defs, instance, BLOCKS.partition_keys(), case=case)
        checks = _pool(defs, instance, case=case)
        assert checks["truth_recovered"].passed and checks["all_seed_blocks_scanned"].passed
        assert checks["settings_reached_sieve"].passed
        return checks

    run("a", demo_history)
    run("b", b_path)
    assert sorted(p.name for p in (tmp_path / "artefacts").iterdir()) == ["cases"]
    assert sorted(p.name for p in (tmp_path / "artefacts" / "cases").iterdir()) == ["a", "b"]
    for case, seed in seeds.items():
        folder = _case_dir(tmp_path, case)
        record = json.loads((folder / "sieve_settings" / "settings.json").read_text())
        assert record["settings"]["seed_start"] == seed - (1 << 12)
        pool = pl.read_parquet(folder / "survivor_pool" / "pool.parquet")
        assert seed in pool["seed"].to_list()
        assert seeds["b" if case == "a" else "a"] not in pool["seed"].to_list()
        assert len(list((folder / "survivors").iterdir())) == 1  # one scan digest per case

    a_before = _hashes(_case_dir(tmp_path, "a"))
    b_before = _hashes(_case_dir(tmp_path, "b"))
    run("b", b_path, window=12)  # case b again, with other settings
    assert _hashes(_case_dir(tmp_path, "a")) == a_before  # every file of case a untouched
    b_after = _hashes(_case_dir(tmp_path, "b"))
    assert b_after["sieve_settings/settings.json"] != b_before["sieve_settings/settings.json"]
    assert b_after["survivor_pool/pool.parquet"] != b_before["survivor_pool/pool.parquet"]
    assert json.loads((_case_dir(tmp_path, "b") / "sieve_settings" / "settings.json")
                      .read_text())["settings"]["window"] == 12

    assert instance.get_materialized_partitions(survivor_pool.key) == {"a", "b"}
    assert instance.get_materialized_partitions(survivors.key) == set(
        _keys(BLOCKS.partition_keys(), "a") + _keys(BLOCKS.partition_keys(), "b"))


def test_gap_mode_names_in_run_config_are_the_enum_values() -> None:
    from typing import get_args

    from gpu_executors.sieve.strategies import GapMode
    from prng_assets.assets.sieve import GapModeName

    assert list(get_args(GapModeName)) == [m.value for m in GapMode]


def test_both_gap_modes_scan_and_pool_together(defs, instance, demo_history: Path,
                                               tmp_path: Path) -> None:
    """Gap mode "both": each block is scanned with a constant and with variable gaps; the
    planted constant-gap seed is in the pool as both kinds of row, and the reference rescan of
    the pool (both scans) agrees with it."""
    seed = DEMO["seed"]
    assert _prepare(defs, instance, demo_history, search=False, window=10, offset_max=4,
                    gap_max=3, gap_mode="both", seed_start=seed - 2000,
                    seed_stop=seed + 2000).success
    _scan(defs, instance, ["b"])  # the planted seed's block
    checks = _pool(defs, instance)
    pool = pl.read_parquet(_case_dir(tmp_path) / "survivor_pool" / "pool.parquet")
    rows = pool.filter(pl.col("seed") == seed).select("offset", "gap", "strategy").rows()
    assert (3, 2, None) in rows
    assert any(gap == -1 and strategy for _, gap, strategy in rows), rows
    assert checks["truth_recovered"].passed
    assert checks["pool_survivors_recomputed"].passed
    stats = json.loads((_case_dir(tmp_path) / "survivor_pool" / "stats.json").read_text())
    assert stats["settings"]["gap_mode"] == "both"
