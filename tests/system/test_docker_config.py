"""dagster-docker as configuration: executors, launcher, Dockerfile, compose. No Docker engine.

What runs for real here: config validation against dagster-docker's own schemas, building the
executors (StepDelegatingExecutor + DockerStepHandler, which need no daemon), docker-py turning
the GPU container_kwargs into a HostConfig, the launcher rehydrated from the instance profile,
and the Dockerfile's CMD started as a local process (a gRPC code server answering pings). What
does not: building the image, starting containers, a GPU seen from inside one.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.executor.init import InitExecutorContext
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import ConfigurableClassData
from dagster_docker import DockerRunLauncher, docker_executor

from prng_assets.assets.ingest import draw_history
from prng_assets.assets.sieve import sieve_settings, survivor_pool, survivors
from prng_assets.executors import (
    CPU_EXECUTOR_CONFIG,
    ENV_VARS,
    GPU_CONTAINER_KWARGS,
    GPU_TAG,
    GPU_VENDOR_ENV,
    VOLUMES,
    cpu_docker_executor,
    gpu_executor_config,
    gpu_job,
    gpu_vendor,
)
from prng_assets.hooks import MAX_RUNTIME_TAG, RETRY_POLICY
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.notifications import Notifier
from resources.optuna_storage import OptunaStorage
from tests.net import free_port
from tests.paths import ROOT

DOCKER_YAML = ROOT / "deploy" / "docker" / "dagster.yaml"
PG_ENV = {
    "SEEDSIEVE_PG_HOST": "db",
    "SEEDSIEVE_PG_PORT": "5432",
    "SEEDSIEVE_PG_USER": "u",
    "SEEDSIEVE_PG_PASSWORD": "p",
    "SEEDSIEVE_PG_DB": "dagster",
    "SEEDSIEVE_IMAGE": "seedsieve:latest",
}
EXECUTOR_SCHEMA = docker_executor.config_schema.config_type


@pytest.mark.parametrize(
    "config",
    [CPU_EXECUTOR_CONFIG, gpu_executor_config("cuda"), gpu_executor_config("rocm")],
    ids=["cpu", "cuda", "rocm"],
)
def test_executor_configs_validate_against_dagster_docker(config: dict) -> None:
    result = validate_config(EXECUTOR_SCHEMA, config)
    assert result.success, result.errors


def test_the_schema_check_is_real() -> None:
    assert not validate_config(EXECUTOR_SCHEMA, {"container_kwargs": 3}).success
    assert not validate_config(EXECUTOR_SCHEMA, {"no_such_key": 1}).success


def test_gpu_container_kwargs_per_vendor(monkeypatch) -> None:
    cuda = gpu_executor_config("cuda")["container_kwargs"]
    rocm = gpu_executor_config("rocm")["container_kwargs"]
    assert cuda["device_requests"] == [{"count": -1, "capabilities": [["gpu"]]}]
    assert rocm["devices"] == ["/dev/kfd", "/dev/dri"] and rocm["group_add"] == ["video"]
    assert cuda["volumes"] == rocm["volumes"] == VOLUMES
    assert "device_requests" not in CPU_EXECUTOR_CONFIG["container_kwargs"]
    monkeypatch.setenv(GPU_VENDOR_ENV, "ROCm")
    assert gpu_vendor() == "rocm"
    monkeypatch.delenv(GPU_VENDOR_ENV)
    assert gpu_vendor() == "cuda"
    monkeypatch.setenv(GPU_VENDOR_ENV, "metal")
    with pytest.raises(ValueError, match="valid vendors"):
        gpu_vendor()


@pytest.mark.parametrize("vendor", ["cuda", "rocm"])
def test_docker_py_accepts_the_gpu_container_kwargs(vendor: str) -> None:
    """docker-py's own conversion (what containers.create does before calling the daemon)."""
    from docker.models.containers import _create_container_args

    kwargs = gpu_executor_config(vendor)["container_kwargs"]
    args = _create_container_args({"image": "seedsieve:latest", "version": "1.44", **kwargs})
    host = args["host_config"]
    assert host["Binds"] == VOLUMES
    if vendor == "cuda":
        assert host["DeviceRequests"][0]["Count"] == -1
        assert host["DeviceRequests"][0]["Capabilities"] == [["gpu"]]
    else:
        assert [d["PathOnHost"] for d in host["Devices"]] == ["/dev/kfd", "/dev/dri"]
        assert host["GroupAdd"] == ["video"]


def _defs(vendor: str) -> dg.Definitions:
    cpu_job = dg.define_asset_job(
        "prepare_in_docker",
        selection=dg.AssetSelection.assets(draw_history, sieve_settings),
        executor_def=cpu_docker_executor,
    )
    return dg.Definitions(
        assets=[draw_history, sieve_settings, survivors, survivor_pool],
        jobs=[gpu_job(dg.AssetSelection.assets(survivors), vendor=vendor), cpu_job],
        resources={
            "artefacts": ArtefactStore(root="/tmp/unused"),
            "compute": ComputeResource(),
            "optuna_storage": OptunaStorage(root="/tmp/unused"),
            "notifications": Notifier(),
        },
    )


@pytest.mark.parametrize("vendor", ["cuda", "rocm"])
def test_gpu_job_loads_and_builds_its_executor_without_a_daemon(vendor: str) -> None:
    defs = _defs(vendor)
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("gpu_assets")
    assert job.executor_def.name == f"seedsieve_docker_{vendor}"
    assert job.tags[GPU_TAG] == vendor and int(job.tags[MAX_RUNTIME_TAG]) > 0
    assert [h.name for h in job.hook_defs] == ["failure_alert"]
    assert job.op_retry_policy == RETRY_POLICY
    # survivors' (case, seed block) keys: one GPU run per block of a case
    assert isinstance(job.partitions_def, dg.MultiPartitionsDefinition)
    assert [d.name for d in job.partitions_def.partitions_defs] == ["case", "seed_block"]
    resolved = dg.validate_run_config(job, {})["execution"][f"seedsieve_docker_{vendor}"]
    assert resolved["container_kwargs"] == {"volumes": VOLUMES, **GPU_CONTAINER_KWARGS[vendor]}
    config = job.executor_def.config_schema.resolve_config({})
    assert config.success, config.errors
    with dg.instance_for_test() as instance:
        executor = job.executor_def.executor_creation_fn(
            InitExecutorContext(
                job=InMemoryJob(job),
                executor_def=job.executor_def,
                executor_config=config.value["config"],
                instance=instance,
            )
        )
    handler = executor._step_handler  # DockerStepHandler: built, no Docker client opened
    assert type(handler).__name__ == "DockerStepHandler"
    assert handler._container_context.container_kwargs == resolved["container_kwargs"]
    assert executor._max_concurrent == 1
    cpu = defs.resolve_job_def("prepare_in_docker")
    assert cpu.executor_def.name == "seedsieve_docker_cpu"
    assert "device_requests" not in json.dumps(dg.validate_run_config(cpu, {})["execution"])


def test_docker_instance_profile_validates_and_rehydrates_the_launcher(
    tmp_path: Path, monkeypatch
) -> None:
    """The instance schema check and the launcher object; the full instance (which connects to
    Postgres) is loaded in test_scale_out.py."""
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "dagster.yaml").write_text(DOCKER_YAML.read_text())
    config, _custom_class = dagster_instance_config(str(tmp_path))
    launcher_cfg = config["run_launcher"]
    assert (launcher_cfg["module"], launcher_cfg["class"]) == (
        "dagster_docker",
        "DockerRunLauncher",
    )
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    data = ConfigurableClassData(
        launcher_cfg["module"], launcher_cfg["class"], yaml.safe_dump(launcher_cfg["config"])
    )
    launcher = data.rehydrate(DockerRunLauncher)
    assert isinstance(launcher, DockerRunLauncher)
    assert launcher.image == "seedsieve:latest" and launcher.networks == ["seedsieve"]
    assert launcher.container_kwargs["volumes"] == VOLUMES
    assert set(ENV_VARS) <= set(launcher.env_vars)


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    logical, buf = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, rest = buf.partition(" ")
        logical.append((instr.upper(), rest.strip()))
        buf = ""
    return logical


def _stages() -> dict[str, list[tuple[str, str]]]:
    """The Dockerfile's instructions per stage (``FROM x AS name``), the global ARGs under ''."""
    stages: dict[str, list[tuple[str, str]]] = {"": []}
    current = ""
    for instr, rest in _dockerfile():
        if instr == "FROM":
            current = rest.split(" AS ")[-1].strip()
            stages[current] = []
        stages[current].append((instr, rest))
    return stages


def test_dockerfile_builds_the_code_location_images() -> None:
    """Both targets: the full image (default, last) and the scan image without torch."""
    stages = _stages()
    assert stages[""] == [("ARG", "BASE_IMAGE=python:3.11-slim")]  # users keep the slim base
    assert stages["python"][0] == ("FROM", "${BASE_IMAGE} AS python")
    assert list(stages)[-1] == "full"  # `docker build .` builds the full image
    full_deps = stages["full-deps"]
    args = dict(a.split("=", 1) for i, a in full_deps if i == "ARG" and "=" in a)
    assert "/whl/cpu" in args["TORCH_INDEX"] and args["TORCH_SPEC"].strip('"').startswith("torch")
    (torch_run,) = [a for i, a in full_deps if i == "RUN"]
    assert torch_run.index("${TORCH_SPEC}") < torch_run.index("models > ")  # torch first
    assert "--mount=type=secret,id=pip_cert" in torch_run
    assert not any("torch" in a for i, a in stages["scan-deps"] if i == "RUN")
    for target in ("scan", "full"):
        steps = stages[target]
        runs = [a for i, a in steps if i == "RUN"]
        assert any(r.startswith("python -m pip install --no-deps .") for r in runs)
        env = next(a for i, a in steps if i == "ENV")
        assert "SEEDSIEVE_KERNEL_CACHE=/opt/seedsieve/kernels" in env
        assert "DAGSTER_CURRENT_IMAGE=${IMAGE_NAME}" in env
        user = steps.index(("USER", "seedsieve"))  # not root at run time; kernels warmed as it
        warm = next(k for k, (i, a) in enumerate(steps) if i == "RUN" and "seedsieve warm" in a)
        assert warm > user
        assert ("EXPOSE", "4000") in steps
        cmd = json.loads(next(a for i, a in steps if i == "CMD"))
        assert cmd == ["dagster", "code-server", "start", "-m", "prng_assets.definitions",
                       "-h", "0.0.0.0", "-p", "4000"]
    assert any("pip check" in a for i, a in stages["full"] if i == "RUN")
    copies = [a for st in stages.values() for i, a in st if i == "COPY"]
    assert any("dagster.yaml" in c and "workspace.yaml" in c for c in copies)
    for c in copies:  # every source exists and is not excluded by .dockerignore
        if c.startswith("--from="):
            continue
        *sources, _dest = shlex.split(c)
        for src in sources:
            assert (ROOT / src).exists(), src
    ignored = {
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    assert {".venv", ".git", "artefacts", ".dagster_home"} <= ignored
    assert not ignored & {"prng_assets", "resources", "gpu_executors", "pyproject.toml", "deploy"}


def test_the_scan_image_leaves_out_exactly_the_model_libraries() -> None:
    """deploy/docker/requirements.py splits pyproject's list; nothing is lost or doubled."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]

    def listed(which: str) -> list[str]:
        done = subprocess.run([sys.executable, str(ROOT / "deploy" / "docker" / "requirements.py"),
                               str(ROOT / "pyproject.toml"), which],
                              capture_output=True, text=True, check=True)
        return done.stdout.split()

    scan, models = listed("scan"), listed("models")
    assert not any(r.startswith(("torch", "lightgbm", "xgboost", "catboost", "scikit"))
                   for r in scan)
    assert sorted(scan + models + [d for d in deps if d.startswith("torch")]) == sorted(deps)


def test_compose_matches_the_launcher() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker" / "docker-compose.yml").read_text())
    launcher = yaml.safe_load(DOCKER_YAML.read_text())["run_launcher"]["config"]
    workspace = yaml.safe_load((ROOT / "deploy" / "docker" / "workspace.yaml").read_text())
    services = compose["services"]
    grpc = workspace["load_from"][0]["grpc_server"]
    assert grpc["host"] in services and grpc["port"] == 4000
    assert compose["networks"][launcher["network"]]["name"] == launcher["network"]
    for volume in launcher["container_kwargs"]["volumes"]:
        name = volume.split(":")[0]
        assert compose["volumes"][name]["name"] == name
    for svc in ("seedsieve_webserver", "seedsieve_daemon"):
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[svc]["volumes"]
    # A variable forwarded by name must be set in the launching container, or every launch
    # fails ("Tried to load environment variable ..., but it was not set"): seen for real.
    by_name = {v for v in launcher["env_vars"] if "=" not in v}
    for svc in ("seedsieve_daemon", "seedsieve_webserver"):
        assert by_name <= set(services[svc]["environment"]), (svc, by_name)



@pytest.mark.slow
def test_the_image_cmd_serves_the_code_location(tmp_path: Path) -> None:
    """The Dockerfile's CMD, run here as a process (host 127.0.0.1), answers over gRPC."""
    from dagster._grpc.client import DagsterGrpcClient

    cmd = json.loads(next(a for i, a in _dockerfile() if i == "CMD"))
    port = free_port()
    cmd = [sys.executable, "-m", *cmd[:-4], "-h", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "SEEDSIEVE_ARTEFACTS": str(tmp_path)}
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 90
        while True:
            try:
                assert client.ping("seedsieve")["echo"] == "seedsieve"
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stderr.read().decode()[-3000:]) from None
                time.sleep(0.5)
        repos = client.list_repositories()
        assert "prng_assets.definitions" in str(repos)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
