"""The survivors step queues on the ``gpu`` pool when scans run on a GPU, and its metadata says
which executor ran the scan: the device report, and the reason a scan was routed to the CPU."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

import resources.compute as compute_module
from gpu_executors.prng.synth import planted_history, write_history
from prng_assets import case_runs
from prng_assets.definitions import build_defs
from prng_assets.partitions import DEMO_CASE
from tests.run_config import QUIET


def _pool(tmp_path: Path, backend: str) -> str | None:
    defs = build_defs(artefact_root=str(tmp_path / "artefacts"), backend=backend)
    return defs.resolve_assets_def("survivors").op.pool


def test_scan_pool_follows_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute_module, "gpu_status", lambda backend: (False, "no GPU here"))
    assert _pool(tmp_path, "cpu") == "sieve"
    assert _pool(tmp_path, "auto") == "sieve"
    assert _pool(tmp_path, "cuda") == "gpu"  # explicit: a GPU step even before it fails
    assert _pool(tmp_path, "rocm") == "gpu"
    # A usable GPU (faked, as tests/resources/test_compute.py does) puts auto scans on it.
    monkeypatch.setattr(compute_module, "gpu_status", lambda backend: (True, "fake GPU"))
    assert _pool(tmp_path, "auto") == "gpu"
    assert _pool(tmp_path, "cpu") == "sieve"
    assert compute_module.ComputeResource(backend="auto").device_report()["scan_pool"] == "gpu"


def _survivors_metadata(tmp_path: Path, instance, generator: str, draw: str) -> dict:
    """One seed block of a planted history scanned by the CPU backend; the step's metadata."""
    defs = build_defs(artefact_root=str(tmp_path / "artefacts"), backend="cpu")
    values, truth = planted_history(generator, draw, 3_000_001, 300, 2, (1, 1))
    path = write_history(tmp_path / f"{generator}.json", values, truth)
    config = case_runs.head_config(path, {"generator": generator, "draw": draw, "search": False,
                                          "window": 10, "offset_max": 2, "gap_min": 1,
                                          "gap_max": 1})
    assert case_runs.prepare(defs, instance, DEMO_CASE, config, QUIET).success
    result = case_runs.scan(defs, instance, DEMO_CASE, ["b"])  # 3_000_001 >> 18 == 11
    assert result.success
    [event] = result.asset_materializations_for_node("survivors")
    return {k: v.value for k, v in event.metadata.items()}


def test_metadata_records_the_cpu_routing_reason(tmp_path: Path, instance) -> None:
    meta = _survivors_metadata(tmp_path, instance, "glibc_rand", "mod:1000")
    assert meta["pool"] == "sieve"
    assert meta["cpu_routing"].startswith("generator glibc_rand: random_r's 31-word additive")
    assert meta["device_report"]["cpu_routing"] == meta["cpu_routing"]
    assert meta["device_report"]["backend"] == "cpu"
    assert meta["device_report"]["gpu_skipped_because"] == "backend cpu requested"


def test_metadata_says_when_the_gpu_kernels_cover_the_scan(tmp_path: Path, instance) -> None:
    meta = _survivors_metadata(tmp_path, instance, "pcg32", "mod:1000")
    assert meta["cpu_routing"] == "none (the GPU kernels cover this scan)"
    assert meta["device_report"]["cpu_routing"] is None
    assert meta["survivors"] >= 1  # the planted seed


def test_run_scan_routes_uncovered_scans_to_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a (fake) usable GPU, auto runs what the kernels do not cover on the CPU and says
    why; an explicit GPU backend refuses it."""
    from gpu_executors.sieve import backends
    from gpu_executors.sieve.spec import ScanSpec

    def no_triton(*a, **kw):
        raise AssertionError("a routed scan must not reach the Triton executor")

    monkeypatch.setattr(backends, "gpu_status", lambda backend: (True, "fake GPU"))
    monkeypatch.setattr(backends, "triton_scan", no_triton)
    spec = ScanSpec("python_random", "mod:1000", (1, 2, 3), seed_stop=64)
    result = backends.run_scan(spec, "auto")
    assert result.device.backend == "cpu"
    assert result.device.cpu_routing.startswith("generator python_random: MT19937 seeded by")
    assert result.device.gpu_skipped_because.startswith("routed to the CPU executor")
    with pytest.raises(NotImplementedError, match="routed to the CPU executor"):
        backends.run_scan(spec, "cuda")


def test_survivors_asset_keeps_its_key_and_group() -> None:
    from prng_assets.assets.sieve import survivors, survivors_asset

    gpu = survivors_asset("gpu")
    assert gpu.key == survivors.key == dg.AssetKey("survivors")
    assert gpu.op.pool == "gpu" and survivors.op.pool == "sieve"
    assert gpu.group_names_by_key == survivors.group_names_by_key
