"""Seedsieve under Docker for real: images built, runs and steps in containers, faults injected.

``make docker-test`` (scripts/docker_test.sh) builds the images and runs this module with
``SEEDSIEVE_DOCKER_TEST=1``; elsewhere it skips. The instance is the ``deploy/docker`` profile
(PostgreSQL storage, ``DockerRunLauncher``, run monitoring, run retries) with the test's
overrides: the host network instead of the compose network, host folders bound where the named
volumes would be, the Docker socket for the docker executor, a 5 s monitoring poll. The code
server runs in a container of the image; the daemon runs here, as the compose file's daemon
would. Every container is on the host network.

What is checked: a planted case dropped in the inbox goes through the whole graph in run
containers, and its pool and predictions equal the same case run in-process; the seed blocks
scanned again by ``scan_seed_blocks_docker`` (a container per step) with one step container
killed mid-scan come back identical, the step retried; a run container killed mid-run is failed
by run monitoring and retried by the daemon; a run past its maximum runtime is ended.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from gpu_executors.prng.synth import planted_history, write_history
from tests.net import free_port
from tests.paths import ROOT
from tests.system.test_scale_out import postgres  # noqa: F401 - the session's PostgreSQL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SEEDSIEVE_DOCKER_TEST") != "1",
                       reason="needs a Docker engine and the images: run `make docker-test`"),
]

BIN = Path(sys.executable).parent
DOCKER = shutil.which("docker") or "docker"
IMAGE = os.environ.get("SEEDSIEVE_IMAGE", "seedsieve:latest")
CASE = "dockercase"
N = 300
SPEC = {"generator": "mt19937", "draw": "mod:1000", "seed": 700_001, "n": N}  # block "2"
SETTINGS = '[sieve]\ngenerator = "mt19937"\ndraw = "mod:1000"\n'
# Four blocks of 2^18 seeds, two per run: the scan is a few seconds of kernel time, so the test
# measures containers, launcher, executor and daemon, not the sieve.
SPACE = {"SEEDSIEVE_SPACE_BITS": "20", "SEEDSIEVE_BLOCK_BITS": "18",
         "SEEDSIEVE_BLOCKS_PER_RUN": "2"}
BLOCKS = ["0", "1", "2", "3"]
IN_CONTAINER = {"art": "/opt/seedsieve/artefacts", "data": "/opt/seedsieve/data",
                "kernels": "/opt/seedsieve/kernels"}
TIMEOUT = 1500.0


def _docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout.strip()


def _wait_for(done, timeout: float, message: str, logs: list[Path] = ()) -> None:
    deadline = time.time() + timeout
    while not done():
        if time.time() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs
                              if p.exists())
            pytest.fail(f"{message} within {timeout:.0f} s\n{tails}")
        time.sleep(3)


def _instance_yaml(binds: list[str], docker_gid: int) -> str:
    """deploy/docker/dagster.yaml with the host network, host folders and a fast monitor."""
    config = yaml.safe_load((ROOT / "deploy" / "docker" / "dagster.yaml").read_text())
    launcher = config["run_launcher"]["config"]
    launcher["network"] = "host"
    launcher["container_kwargs"] = {"volumes": binds, "group_add": [str(docker_gid)]}
    launcher["env_vars"] = [*launcher["env_vars"], "SEEDSIEVE_BLOCKS_PER_RUN"]
    config["run_monitoring"].update({"poll_interval_seconds": 5})
    config["run_retries"].update({"max_retries": 1})
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module")
def platform(postgres) -> Iterator[dict]:  # noqa: F811 - the fixture imported above
    work = Path(tempfile.mkdtemp(prefix="seedsieve-docker-"))  # reachable by the containers
    folders = {name: work / name for name in ("home", "art", "data", "kernels")}
    for folder in folders.values():
        folder.mkdir()
        folder.chmod(0o777)  # the image's user (uid 10001) writes here
    inbox = folders["data"] / "inbox"
    inbox.mkdir()
    inbox.chmod(0o777)
    binds = [f"{folders[k]}:{v}" for k, v in IN_CONTAINER.items()]
    binds.append("/var/run/docker.sock:/var/run/docker.sock")  # run workers start step containers
    docker_gid = os.stat("/var/run/docker.sock").st_gid
    (folders["home"] / "dagster.yaml").write_text(_instance_yaml(binds, docker_gid))
    port = free_port()
    (folders["home"] / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [
        {"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": "seedsieve"}}]}))
    env = {**os.environ, **postgres, **SPACE, "DAGSTER_HOME": str(folders["home"]),
           "SEEDSIEVE_IMAGE": IMAGE, "SEEDSIEVE_BACKEND": "cpu",
           "SEEDSIEVE_INBOX": f"{IN_CONTAINER['data']}/inbox",
           "SEEDSIEVE_DOCKER_VOLUMES": ",".join(binds), "SEEDSIEVE_ALERT_WEBHOOK": "",
           "PYTHONUNBUFFERED": "1"}
    forwarded = ["SEEDSIEVE_PG_HOST", "SEEDSIEVE_PG_PORT", "SEEDSIEVE_PG_USER",
                 "SEEDSIEVE_PG_PASSWORD", "SEEDSIEVE_PG_DB", "SEEDSIEVE_OPTUNA_URL",
                 "SEEDSIEVE_BACKEND", "SEEDSIEVE_INBOX", "SEEDSIEVE_DOCKER_VOLUMES", *SPACE]
    patch = pytest.MonkeyPatch()  # this process's instance reads PostgreSQL's variables too
    for k, v in postgres.items():
        patch.setenv(k, v)
    code = f"seedsieve-code-{os.getpid()}"
    ws = ["-w", str(folders["home"] / "workspace.yaml")]
    daemon_log = work / "daemon.log"
    daemon = None
    try:
        _docker("run", "-d", "--name", code, "--network", "host",
                *[a for b in binds[:-1] for a in ("-v", b)],
                *[a for k in forwarded for a in ("-e", f"{k}={env[k]}")],
                IMAGE, "dagster", "code-server", "start", "-m", "prng_assets.definitions",
                "-h", "127.0.0.1", "-p", str(port))
        _wait_for(lambda: _grpc_answers(port, env), 300, "the code-server container did not answer")
        with open(daemon_log, "w") as log:
            daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", *ws], env=env,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        for sensor in ("draw_file_sensor", "default_automation_condition_sensor"):
            started = subprocess.run([str(BIN / "dagster"), "sensor", "start", sensor, *ws],
                                     env=env, capture_output=True, text=True, timeout=300)
            assert started.returncode == 0, started.stderr[-2000:]
        values, truth = planted_history(**SPEC)
        (inbox / f"{CASE}.seedsieve.toml").write_text(SETTINGS)
        write_history(inbox / f"{CASE}.json", values, truth)
        for path in inbox.iterdir():
            path.chmod(0o644)  # written 0600 (atomic writes): the image's user reads them
            t = time.time() - 60
            os.utime(path, (t, t))
        with dg.DagsterInstance.from_config(str(folders["home"])) as instance:
            start = time.time()
            _wait_for(lambda: _settled(instance, folders["art"]), TIMEOUT,
                      "the case did not reach predictions", [daemon_log])
            yield {"instance": instance, "work": work, "env": env, "ws": ws, "code": code,
                   "folders": folders, "inbox": inbox, "values": values, "log": daemon_log,
                   "unattended_s": time.time() - start}
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        _docker("logs", code, check=False)
        _docker("rm", "-f", code, check=False)
        for cid in _docker("ps", "-aq", "--filter", "label=dagster/run_id", check=False).split():
            _docker("rm", "-f", cid, check=False)
        shutil.rmtree(work, ignore_errors=True)
        patch.undo()


IN_FLIGHT = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _settled(instance: dg.DagsterInstance, art: Path) -> bool:
    """Predictions written and no run queued or running (the checks after them included)."""
    failed = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    if failed:
        pytest.fail(f"failed run(s): {[r.dagster_run.job_name for r in failed]}")
    busy = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT))
    return _predictions(art) is not None and not busy


def _grpc_answers(port: int, env: dict) -> bool:
    done = subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)],
                          env=env, capture_output=True, timeout=60)
    return done.returncode == 0


def _predictions(art: Path) -> dict | None:
    path = art / "cases" / CASE / "predictions" / "predictions.json"
    return json.loads(path.read_text()) if path.exists() else None


# --- the baseline: the same case, the same jobs, in this machine's own process ----------------

BASELINE = """
import json, sys
from pathlib import Path
import dagster as dg
from prng_assets import case_runs
from prng_assets.case_settings import settings_for
from prng_assets.definitions import build_defs
path, art = Path(sys.argv[1]), sys.argv[2]
defs = build_defs(artefact_root=art, backend="cpu")
with dg.DagsterInstance.ephemeral() as instance:
    ops = settings_for(path).run_config(path)["ops"]
    for r in (case_runs.prepare(defs, instance, sys.argv[3], ops),
              case_runs.scan(defs, instance, sys.argv[3]),
              case_runs.pool(defs, instance, sys.argv[3]),
              case_runs.rank(defs, instance, sys.argv[3])):
        assert r.success
"""


@pytest.fixture(scope="module")
def in_process(platform) -> Path:
    """The case run in-process on the same history and settings: its artefact root."""
    work = platform["work"] / "in-process"
    (work / "inbox").mkdir(parents=True)
    for name in (f"{CASE}.json", f"{CASE}.seedsieve.toml"):
        shutil.copy(platform["inbox"] / name, work / "inbox" / name)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | SPACE
    done = subprocess.run([sys.executable, "-c", BASELINE, str(work / "inbox" / f"{CASE}.json"),
                           str(work / "art"), CASE], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    return work / "art"


def _pool_seeds(art: Path) -> list[int]:
    import polars as pl

    return sorted(pl.read_parquet(art / "cases" / CASE / "survivor_pool" / "pool.parquet")
                  ["seed"].to_list())


def _runs(instance: dg.DagsterInstance, job: str | None = None) -> list[dg.DagsterRun]:
    filters = dg.RunsFilter(job_name=job) if job else None
    return [r.dagster_run for r in instance.get_run_records(filters)]


def test_every_run_ran_in_its_own_container_and_succeeded(platform) -> None:
    runs = _runs(platform["instance"])
    assert {r.job_name for r in runs} >= {"__ASSET_JOB"}
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, (run.job_name, run.status)
        assert run.tags.get("docker/container_id"), run.tags  # DockerRunLauncher's own tag
    print(f"unattended case in containers: {platform['unattended_s']:.0f} s, {len(runs)} runs")


def test_the_containers_result_equals_the_in_process_one(platform, in_process) -> None:
    docker = _predictions(platform["folders"]["art"])
    local = json.loads((in_process / "cases" / CASE / "predictions" / "predictions.json")
                       .read_text())
    assert docker["status"] == local["status"] == "predict", (docker["reason"], local["reason"])
    picks = [(p["seed"], p["next_draws"]) for p in docker["predictions"]]
    assert picks == [(p["seed"], p["next_draws"]) for p in local["predictions"]]
    assert picks[0][0] == SPEC["seed"]
    assert _pool_seeds(platform["folders"]["art"]) == _pool_seeds(in_process)


def _launch(platform: dict, job: str, tags: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "dagster"), "job", "launch", "-j", job, *platform["ws"],
                           "--tags", json.dumps(tags)], env=platform["env"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    newest = _runs(platform["instance"], job)[0]  # records come newest first
    return newest.run_id


def _status(platform: dict, run_id: str) -> dg.DagsterRunStatus:
    return platform["instance"].get_run_by_id(run_id).status


def _events(platform: dict, run_id: str, kind: dg.DagsterEventType) -> list:
    return platform["instance"].get_records_for_run(run_id, of_type=kind).records


SCAN_RANGE = {"dagster/asset_partition_range_start": f"{CASE}|{BLOCKS[0]}",
              "dagster/asset_partition_range_end": f"{CASE}|{BLOCKS[-1]}"}


def _block_files(art: Path) -> dict[str, object]:
    """Every block's table (bytes) and record (less its timings) under the case's survivors."""
    folder = art / "cases" / CASE / "survivors"
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix == ".parquet":
            out[str(p.relative_to(folder))] = p.read_bytes()
        elif p.suffix == ".json":
            out[str(p.relative_to(folder))] = {
                k: v for k, v in json.loads(p.read_text()).items()
                if "second" not in k and "per_s" not in k}
    return out


def _running_step_containers() -> list[str]:
    return _docker("ps", "-q", "--filter", "name=dagster-step-",
                   "--filter", "status=running").split()


def test_a_killed_step_container_is_retried_and_loses_nothing(platform) -> None:
    """scan_seed_blocks_docker: the survivors step in its own container, killed as soon as it
    runs. (Its scan takes about a second after a start-up of several: killed then, the step
    dies before it wrote anything, as a machine lost mid-scan would leave it.)"""
    before = _block_files(platform["folders"]["art"])
    assert before
    run_id = _launch(platform, "scan_seed_blocks_docker", SCAN_RANGE)
    deadline = time.time() + 600
    while not (steps := _running_step_containers()):
        assert time.time() < deadline, "no step container started"
        time.sleep(0.2)
    _docker("kill", *steps)
    _wait_for(lambda: _status(platform, run_id) in (dg.DagsterRunStatus.SUCCESS,
                                                    dg.DagsterRunStatus.FAILURE), 900,
              "the scan run did not finish", [platform["log"]])
    assert _status(platform, run_id) == dg.DagsterRunStatus.SUCCESS
    assert _events(platform, run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert _block_files(platform["folders"]["art"]) == before


def test_a_killed_run_container_is_failed_by_monitoring_and_retried(platform) -> None:
    """The ranking run (minutes of model fitting: a scan run can finish between two polls of
    its status, seen) killed once started; the retry re-executes it from the failure."""
    instance = platform["instance"]
    job = "rank_and_predict"
    run_id = _launch(platform, job, {"dagster/partition": CASE})
    _wait_for(lambda: _status(platform, run_id) == dg.DagsterRunStatus.STARTED, 600,
              "the run did not start", [platform["log"]])
    _docker("kill", instance.get_run_by_id(run_id).tags["docker/container_id"])
    _wait_for(lambda: _status(platform, run_id) == dg.DagsterRunStatus.FAILURE, 300,
              "run monitoring did not fail the dead run", [platform["log"]])

    def retried() -> list[dg.DagsterRun]:
        return [r for r in _runs(instance, job)
                if r.tags.get("dagster/parent_run_id") == run_id]

    _wait_for(lambda: retried() and retried()[0].status == dg.DagsterRunStatus.SUCCESS, 900,
              "the daemon did not retry the run to success", [platform["log"]])
    assert retried()[0].tags.get("dagster/retry_number") == "1"


def test_a_run_past_its_maximum_runtime_is_ended(platform) -> None:
    """The ranking run takes minutes; given 5 s, run monitoring ends it."""
    run_id = _launch(platform, "rank_and_predict",
                     {"dagster/partition": CASE, "dagster/max_runtime": "5"})
    _wait_for(lambda: _status(platform, run_id) in (dg.DagsterRunStatus.CANCELED,
                                                    dg.DagsterRunStatus.FAILURE,
                                                    dg.DagsterRunStatus.SUCCESS), 600,
              "the run was not ended", [platform["log"]])
    assert _status(platform, run_id) in (dg.DagsterRunStatus.CANCELED,
                                         dg.DagsterRunStatus.FAILURE)
    messages = [r.event_log_entry.message or "" for r in
                platform["instance"].get_records_for_run(run_id).records]
    assert any("maximum runtime" in m.lower() or "max runtime" in m.lower() for m in messages), \
        messages[-10:]
