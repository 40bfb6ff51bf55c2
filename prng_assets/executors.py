"""The Docker executors (CPU and GPU) and the GPU asset job.

Docker's ``container_kwargs`` apply to every step of a run, so GPU assets get their own job
(``gpu_job``) whose executor asks for the GPU devices; everything else runs under the CPU
executor. Both are plain configuration: nothing here talks to a Docker daemon until a run is
launched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_docker import docker_executor

from prng_assets.hooks import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    RETRY_POLICY,
    failure_alert,
    max_runtime_tags,
)

GPU_TAG = "seedsieve/gpu"  # matched by the instance's concurrency.runs.tag_concurrency_limits
GPU_VENDOR_ENV = "SEEDSIEVE_GPU_VENDOR"
GPU_VENDORS = ("cuda", "rocm")

# Run containers share the artefact root and the draw inbox through named volumes at fixed paths
# (deploy/docker/dagster.yaml mounts the same ones on the run container).
ARTEFACTS_IN_CONTAINER = "/opt/seedsieve/artefacts"
DATA_IN_CONTAINER = "/opt/seedsieve/data"
NAMED_VOLUMES = [
    f"seedsieve-artefacts:{ARTEFACTS_IN_CONTAINER}",
    f"seedsieve-data:{DATA_IN_CONTAINER}",
]
# Another set (host folders bound at the same paths, as the Docker test does): comma-separated.
VOLUMES_ENV = "SEEDSIEVE_DOCKER_VOLUMES"


def volumes() -> list[str]:
    """The step containers' mounts: ``SEEDSIEVE_DOCKER_VOLUMES``, else the named volumes."""
    chosen = os.environ.get(VOLUMES_ENV, "").strip()
    return [v.strip() for v in chosen.split(",") if v.strip()] if chosen else list(NAMED_VOLUMES)


VOLUMES = volumes()
# Forwarded from the run container to each step container (the launcher forwards them too).
ENV_VARS = [
    "SEEDSIEVE_PG_HOST",
    "SEEDSIEVE_PG_PORT",
    "SEEDSIEVE_PG_USER",
    "SEEDSIEVE_PG_PASSWORD",
    "SEEDSIEVE_PG_DB",
    "SEEDSIEVE_OPTUNA_URL",
    "SEEDSIEVE_BACKEND",
    "SEEDSIEVE_SPACE_BITS",
    "SEEDSIEVE_BLOCK_BITS",
    "SEEDSIEVE_ALERT_WEBHOOK",
    VOLUMES_ENV,
    "SEEDSIEVE_IMAGE",  # the instance's DockerRunLauncher reads it when a step loads it
    f"SEEDSIEVE_ARTEFACTS={ARTEFACTS_IN_CONTAINER}",
]
# What docker-py's containers.create() needs to hand a container the GPUs.
GPU_CONTAINER_KWARGS: dict[str, dict[str, Any]] = {
    # NVIDIA Container Toolkit: all GPUs (`docker run --gpus all`).
    "cuda": {"device_requests": [{"count": -1, "capabilities": [["gpu"]]}]},
    # ROCm: the kernel driver and render nodes, and the group that may open them.
    "rocm": {"devices": ["/dev/kfd", "/dev/dri"], "group_add": ["video"]},
}

CPU_EXECUTOR_CONFIG: dict[str, Any] = {
    "env_vars": ENV_VARS,
    "container_kwargs": {"volumes": VOLUMES},
    "max_concurrent": 4,
    "retries": {"enabled": {}},
}


def gpu_vendor(vendor: str | None = None) -> str:
    """The GPU executor's vendor: the argument, else ``SEEDSIEVE_GPU_VENDOR``, else cuda."""
    chosen = (vendor or os.environ.get(GPU_VENDOR_ENV) or "cuda").strip().lower()
    if chosen not in GPU_VENDORS:
        raise ValueError(f"{GPU_VENDOR_ENV}={chosen!r}: valid vendors are {', '.join(GPU_VENDORS)}")
    return chosen


def gpu_executor_config(vendor: str | None = None) -> dict[str, Any]:
    """The GPU executor's config: CPU config plus devices, one GPU step at a time per run."""
    return {
        "env_vars": ENV_VARS,
        "container_kwargs": {"volumes": VOLUMES, **GPU_CONTAINER_KWARGS[gpu_vendor(vendor)]},
        "max_concurrent": 1,
        "retries": {"enabled": {}},
    }


cpu_docker_executor = docker_executor.configured(CPU_EXECUTOR_CONFIG, name="seedsieve_docker_cpu")


def gpu_docker_executor(vendor: str | None = None) -> dg.ExecutorDefinition:
    """A docker executor whose step containers see the GPUs of ``vendor``."""
    v = gpu_vendor(vendor)
    return docker_executor.configured(gpu_executor_config(v), name=f"seedsieve_docker_{v}")


def gpu_job(
    selection: dg.AssetSelection | str | list,
    name: str = "gpu_assets",
    vendor: str | None = None,
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS,
    extra_tags: Mapping[str, str] | None = None,
) -> dg.UnresolvedAssetJobDefinition:
    """An asset job for GPU assets: GPU containers, a GPU run tag, retries, alerts, a timeout."""
    v = gpu_vendor(vendor)
    return dg.define_asset_job(
        name,
        selection=selection,
        executor_def=gpu_docker_executor(v),
        tags={GPU_TAG: v, **max_runtime_tags(max_runtime_seconds), **(extra_tags or {})},
        op_retry_policy=RETRY_POLICY,
        hooks={failure_alert},
    )
