"""Scaled out for real: a PostgreSQL instance shared by concurrent runs and Optuna workers.

A throwaway PostgreSQL cluster (scripts/postgres_local.sh) backs the instance profile
deploy/postgres/dagster.yaml. A case is added with ``seedsieve case add``; the Dagster CLI then
materialises, as separate processes: the case's prepare job, two of its seed-block runs at once
(``CASE|BLOCK`` partitions), the remaining blocks (two at once again), and the case's pool; the
instance must record every block exactly once. Two Optuna workers share one study on
the same server; every trial must be recorded exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gpu_executors.prng.synth import planted_history, write_history
from tests.paths import ROOT

SCRIPT = ROOT / "scripts" / "postgres_local.sh"
PLANTED_SEED = 40_000  # block "2" of four 2^14-seed blocks
BLOCK_ENV = {"SEEDSIEVE_SPACE_BITS": "16", "SEEDSIEVE_BLOCK_BITS": "14"}
BLOCKS = ["0", "1", "2", "3"]
CASE = "scaleout"
KEYS = [f"{CASE}|{b}" for b in BLOCKS]  # the survivors' (case, seed block) partitions
# The run of a case's partition (prepare, pool): `dagster job execute` takes it as a tag.
CASE_TAGS = json.dumps({"dagster/partition": CASE})
# Steps run in the run's own process by default (prng_assets/jobs.py): no executor config.
IN_PROCESS: dict = {}
pytestmark = pytest.mark.slow


def _can_get_postgres() -> str | None:
    """None when the script can find or install a server, else why it cannot."""
    if list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb"):
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return None
    return "no PostgreSQL server binaries, and not root with apt-get to install them"


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway cluster for this test session: the SEEDSIEVE_PG_* / OPTUNA_URL variables."""
    reason = _can_get_postgres()
    if reason:
        pytest.skip(reason)
    # In /tmp itself (not pytest's root-private tmp dir): as root the server runs as `postgres`,
    # which must reach the directory.
    folder = tempfile.mkdtemp(prefix="seedsieve-pg-")
    proc = subprocess.run(
        ["bash", str(SCRIPT), "start", folder], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        if "cannot install" in proc.stderr or "apt-get install postgresql failed" in proc.stderr:
            pytest.skip(f"PostgreSQL unavailable: {proc.stderr.strip()}")
        pytest.fail(f"postgres_local.sh start failed: {proc.stderr}")
    env = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value
    try:
        yield env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _home(tmp_path: Path, profile: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / profile / "dagster.yaml", home / "dagster.yaml")
    return home


def test_postgres_script_reports_status_and_url(postgres: dict[str, str]) -> None:
    assert postgres["SEEDSIEVE_PG_HOST"] == "127.0.0.1" and int(postgres["SEEDSIEVE_PG_PORT"])
    assert postgres["SEEDSIEVE_OPTUNA_URL"].startswith("postgresql+psycopg2://")
    import psycopg2

    conn = psycopg2.connect(
        host=postgres["SEEDSIEVE_PG_HOST"],
        port=postgres["SEEDSIEVE_PG_PORT"],
        user=postgres["SEEDSIEVE_PG_USER"],
        password=postgres["SEEDSIEVE_PG_PASSWORD"],
        dbname="postgres",
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            names = {r[0] for r in cur.fetchall()}
    finally:
        conn.close()
    assert {"dagster", "optuna"} <= names


def test_docker_profile_loads_as_an_instance(postgres, tmp_path: Path, monkeypatch) -> None:
    """`dagster instance info`-style: the docker profile's storage connects, the launcher loads
    (DockerRunLauncher needs a daemon only to launch)."""
    from dagster_docker import DockerRunLauncher

    for k, v in {**postgres, "SEEDSIEVE_IMAGE": "seedsieve:latest"}.items():
        monkeypatch.setenv(k, v)
    home = _home(tmp_path, "docker")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_launcher, DockerRunLauncher)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_monitoring_enabled


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _seedsieve(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """The seedsieve CLI (``case add`` registers a case in $DAGSTER_HOME's instance)."""
    return subprocess.Popen(
        [sys.executable, "-m", "prng_assets.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen], what: str) -> None:
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{what}: {' '.join(proc.args)}\n{err[-4000:]}"


def _materialize_block(key: str, env: dict[str, str]) -> subprocess.Popen:
    return _cli(
        [
            "asset",
            "materialize",
            "-m",
            "prng_assets.definitions",
            "--select",
            "survivors",
            "--partition",
            key,
            "--config-json",
            json.dumps(IN_PROCESS),
        ],
        env,
    )


def test_concurrent_block_runs_on_postgres(postgres, tmp_path: Path, monkeypatch) -> None:
    home = _home(tmp_path, "postgres")
    art = tmp_path / "artefacts"
    values, truth = planted_history("java_lcg", "mod:1000", PLANTED_SEED, n=120, offset=1)
    history = write_history(tmp_path / "history.json", values, truth)
    env = {
        **os.environ,
        **postgres,
        **BLOCK_ENV,
        "DAGSTER_HOME": str(home),
        "SEEDSIEVE_ARTEFACTS": str(art),
        "SEEDSIEVE_BACKEND": "cpu",
    }
    env.pop("SEEDSIEVE_ALERT_WEBHOOK", None)
    prepare = {
        "ops": {
            "draw_history": {"config": {"path": str(history)}},
            "sieve_settings": {
                "config": {"search": False, "window": 8, "offset_min": 0, "offset_max": 2}
            },
        },
        **IN_PROCESS,
    }
    # `dagster job execute` takes run config from files (JSON is YAML).
    prepare_file, pool_file = tmp_path / "prepare.yaml", tmp_path / "pool.yaml"
    prepare_file.write_text(json.dumps(prepare))
    pool_file.write_text(json.dumps(IN_PROCESS))
    t0 = time.perf_counter()
    timings = {}
    # The documented GPU pool limit, set through the CLI on the Postgres instance, alongside
    # the prepare job.
    pool_limit = _cli(["instance", "concurrency", "set", "gpu", "1"], env)
    # The case must exist in the instance before any of its partitions is materialised.
    _finish([_seedsieve(["case", "add", CASE], env)], "case add")
    prep = _cli(
        [
            "job",
            "execute",
            "-m",
            "prng_assets.definitions",
            "-j",
            "prepare",
            "-c",
            str(prepare_file),
            "--tags",
            CASE_TAGS,
        ],
        env,
    )
    _finish([prep, pool_limit], "prepare")
    # The sieve pool set before the first concurrent block runs: left to its default, two
    # runs that both find it missing race to create it, and on Postgres the loser fails
    # (dagster#33552: INSERT, catch the duplicate, UPDATE in the aborted transaction).
    _finish([_cli(["instance", "concurrency", "set", "sieve", "4"], env)], "sieve pool")
    timings["prepare"] = time.perf_counter() - t0
    # Two runs at once over different blocks, then the other two blocks, again at once.
    spans: dict[str, tuple[float, float]] = {}
    for pair in (KEYS[:2], KEYS[2:]):
        start = time.perf_counter()
        procs = [_materialize_block(k, env) for k in pair]
        _finish(procs, f"blocks {pair}")
        for k in pair:
            spans[k] = (start, time.perf_counter())
        timings[f"blocks {','.join(pair)}"] = time.perf_counter() - start
    start = time.perf_counter()
    _finish(
        [
            _cli(
                [
                    "job",
                    "execute",
                    "-m",
                    "prng_assets.definitions",
                    "-j",
                    "pool",
                    "-c",
                    str(pool_file),
                    "--tags",
                    CASE_TAGS,
                ],
                env,
            )
        ],
        "pool",
    )
    timings["pool"] = time.perf_counter() - start
    print(f"\nscale-out timings (s): { {k: round(v, 1) for k, v in timings.items()} }")

    # What the shared instance recorded, read back from Postgres.
    for k, v in postgres.items():
        monkeypatch.setenv(k, v)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.event_log_storage.get_concurrency_info("gpu").slot_count == 1
        assert instance.event_log_storage.get_concurrency_info("sieve").slot_count == 4
        records = instance.fetch_materializations(dg.AssetKey("survivors"), limit=100).records
        per_block = Counter(r.event_log_entry.dagster_event.partition for r in records)
        assert per_block == Counter(KEYS), per_block  # every block exactly once
        assert instance.get_dynamic_partitions("cases") == [CASE]
        runs = instance.get_run_records()
        assert len(runs) == 6 and all(
            r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs
        )
        # prepare and pool run the case's partition, each block run a (case, block) partition
        tags = [r.dagster_run.tags for r in runs]
        case_of_run = [t.get("dagster/partition/case", t.get("dagster/partition")) for t in tags]
        assert case_of_run == [CASE] * 6, tags
        block_runs = [r for r in runs if "dagster/partition/seed_block" in r.dagster_run.tags]
        run_blocks = sorted(r.dagster_run.tags["dagster/partition"] for r in block_runs)
        assert run_blocks == KEYS  # one run per block, none lost or repeated
        by_block = {r.dagster_run.tags["dagster/partition"]: r for r in block_runs}
        overlaps = [
            min(by_block[a].end_time, by_block[b].end_time)
            - max(by_block[a].start_time, by_block[b].start_time)
            for a, b in (KEYS[:2], KEYS[2:])
        ]
        print(f"run overlap within each pair (s): {[round(o, 2) for o in overlaps]}")
        pool_event = instance.get_latest_materialization_event(dg.AssetKey("survivor_pool"))
        assert pool_event.dagster_event.partition == CASE
        meta = {k: v.value for k, v in pool_event.asset_materialization.metadata.items()}
        assert (meta["partitions_covered"], meta["partitions_missing"]) == (4, 0)
        # The code location's partitioning, with the blocks this test's environment cut.
        case_blocks = dg.MultiPartitionsDefinition(
            {
                "case": dg.DynamicPartitionsDefinition(name="cases"),
                "seed_block": dg.StaticPartitionsDefinition(BLOCKS),
            }
        )
        status = instance.get_status_by_partition(dg.AssetKey("survivors"), KEYS, case_blocks)
        assert set(status) == set(KEYS), status
        assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
    pool = pl.read_parquet(art / "cases" / CASE / "survivor_pool" / "pool.parquet")
    assert PLANTED_SEED in pool["seed"].to_list()
    assert sorted(pool["block"].unique().to_list()) == ["2"]


OPTUNA_WORKER = """
import sys, time
from pathlib import Path
from resources.optuna_storage import OptunaStorage

url, name, worker, n, ready = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
study = OptunaStorage(url=url).study(name, "maximize", sampler_seed=int(worker))
Path(ready, worker).touch()
while len(list(Path(ready).iterdir())) < 2:  # start together: the trials must interleave
    time.sleep(0.05)

def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    trial.set_user_attr("worker", worker)
    time.sleep(0.05)
    return -(x - 2.0) ** 2

study.optimize(objective, n_trials=n)
"""


def test_two_optuna_workers_share_one_study(postgres, tmp_path: Path) -> None:
    import optuna

    from resources.optuna_storage import OptunaStorage

    url, name, k = postgres["SEEDSIEVE_OPTUNA_URL"], f"shared-{os.getpid()}", 10
    OptunaStorage(url=url).study(name, "maximize", sampler_seed=0)  # as sieve_settings would
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPTUNA_WORKER, url, name, w, str(k), str(ready)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in ("1", "2")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name=name, storage=url)
    trials = study.get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(2 * k))  # each trial recorded once, no gaps
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * (2 * k)
    workers = [t.user_attrs["worker"] for t in sorted(trials, key=lambda t: t.number)]
    assert Counter(workers) == {"1": k, "2": k}
    # Interleaved: the workers really ran at the same time on the shared study.
    assert workers != sorted(workers) and workers != sorted(workers, reverse=True)
    assert len({t.params["x"] for t in trials}) == 2 * k
