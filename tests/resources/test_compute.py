"""GPU resources without a GPU: OOM fallback (simulated), device pinning, torch's device."""

from __future__ import annotations

import os

import pytest

from gpu_executors import devices
from gpu_executors.devices import is_out_of_memory, pinning_env, run_with_fallback
from gpu_executors.prng.synth import planted_history
from gpu_executors.sieve import backends
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.spec import ScanSpec
from resources.compute import ComputeResource

PIN_VARS = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")


@pytest.fixture
def clean_pinning():
    """ComputeResource pins the process environment; put it back after each test."""
    saved = {k: os.environ.get(k) for k in PIN_VARS}
    for k in PIN_VARS:
        os.environ.pop(k, None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _oom_above(
    limit: int, calls: list[int], message: str = "CUDA out of memory. Tried to allocate 2.00 GiB"
):
    def fn(batch: int) -> str:
        calls.append(batch)
        if batch > limit:
            raise RuntimeError(message)
        return f"ran at {batch}"

    return fn


def test_oom_halves_the_batch_until_it_fits() -> None:
    calls: list[int] = []
    events: list[dict] = []
    out = run_with_fallback(
        _oom_above(256, calls), 1024, 64, on_event=events.append, cpu_fn=lambda: "cpu"
    )
    assert out == "ran at 256"
    assert calls == [1024, 512, 256]
    assert [(e["kind"], e["batch"], e["retry_batch"]) for e in events] == [
        ("smaller_batch", 1024, 512),
        ("smaller_batch", 512, 256),
    ]
    assert all("out of memory" in e["error"] for e in events)


def test_oom_at_the_floor_falls_back_to_the_cpu() -> None:
    calls: list[int] = []
    events: list[dict] = []
    out = run_with_fallback(
        _oom_above(0, calls, "HIP out of memory"),
        1024,
        256,
        on_event=events.append,
        cpu_fn=lambda: "cpu",
    )
    assert out == "cpu"
    assert calls == [1024, 512, 256]
    assert [e["kind"] for e in events] == ["smaller_batch", "smaller_batch", "cpu_fallback"]
    assert events[-1]["batch"] == 256 and "HIP out of memory" in events[-1]["error"]


def test_torch_oom_class_and_memory_error_count_as_oom() -> None:
    torch = pytest.importorskip("torch")
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(RuntimeError("CUDA error: an illegal memory access"))
    assert not is_out_of_memory(ValueError("out of memory"))

    def fn(batch: int) -> str:
        if batch > 8:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return "ok"

    events: list[dict] = []
    assert run_with_fallback(fn, 32, 1, on_event=events.append) == "ok"
    assert [e["retry_batch"] for e in events] == [16, 8]


def test_other_errors_propagate_untouched() -> None:
    events: list[dict] = []

    def fn(batch: int) -> str:
        raise RuntimeError("an illegal memory access was encountered")

    with pytest.raises(RuntimeError, match="illegal memory access"):
        run_with_fallback(fn, 1024, 64, on_event=events.append, cpu_fn=lambda: "cpu")
    assert events == []


def test_without_a_cpu_function_the_last_oom_is_raised() -> None:
    calls: list[int] = []
    with pytest.raises(RuntimeError, match="out of memory"):
        run_with_fallback(_oom_above(0, calls), 64, 16)
    assert calls == [64, 32, 16]


def _small_spec() -> ScanSpec:
    values, _truth = planted_history("java_lcg", "mod:1000", 5000, n=12, offset=1)
    return ScanSpec(
        "java_lcg",
        "mod:1000",
        tuple(int(v) for v in values[:8]),
        seed_start=4000,
        seed_stop=6000,
        offset_start=0,
        offset_stop=3,
    )


def test_run_scan_retries_smaller_launches_then_reports_the_events(monkeypatch) -> None:
    """The Triton path of run_scan, with a fake GPU that fits only small launches."""
    spec = _small_spec()
    batches: list[int] = []
    fits = backends.GPU_BATCH // 8

    def fake_triton_scan(spec, *, progress=None, batch=1 << 22, **kw):
        batches.append(batch)
        if batch > fits:
            raise RuntimeError("CUDA out of memory. Tried to allocate 8.00 GiB")
        result = cpu_scan(spec, progress=progress)
        result.backend = "triton (fake GPU)"
        return result

    monkeypatch.setattr(backends, "gpu_status", lambda backend: (True, "fake GPU"))
    monkeypatch.setattr(backends, "triton_scan", fake_triton_scan)
    result = backends.run_scan(spec, "auto")
    assert result.backend == "triton (fake GPU)"
    assert batches == [backends.GPU_BATCH, backends.GPU_BATCH // 2, backends.GPU_BATCH // 4, fits]
    events = result.device.fallback_events
    assert [e["kind"] for e in events] == ["smaller_batch"] * 3
    assert events[-1]["retry_batch"] == fits
    assert result.survivors["seed"].to_list() == [5000]
    assert result.stats()["device"]["fallback_events"] == events  # reaches the survivors JSON


def test_run_scan_falls_back_to_the_cpu_when_nothing_fits(monkeypatch) -> None:
    spec = _small_spec()

    def fake_triton_scan(spec, *, progress=None, batch=1 << 22, **kw):
        raise MemoryError()

    monkeypatch.setattr(backends, "gpu_status", lambda backend: (True, "fake GPU"))
    monkeypatch.setattr(backends, "triton_scan", fake_triton_scan)
    result = backends.run_scan(spec, "cuda")
    reference = cpu_scan(spec)
    assert result.backend == reference.backend
    assert result.survivors.equals(reference.survivors)
    kinds = [e["kind"] for e in result.device.fallback_events]
    assert kinds[-1] == "cpu_fallback" and set(kinds[:-1]) == {"smaller_batch"}
    assert result.device.fallback_events[-1]["batch"] >= backends.GPU_MIN_BATCH
    assert "out of memory" in result.device.gpu_skipped_because
    assert result.device.backend == "cpu"


@pytest.mark.parametrize(
    ("backend", "devices_", "expected"),
    [
        ("cuda", "1", {"CUDA_VISIBLE_DEVICES": "1"}),
        ("rocm", "0,1", {"HIP_VISIBLE_DEVICES": "0,1"}),
        ("cuda", None, {}),
        ("cpu", "0", {}),
    ],
)
def test_device_env_pins_the_vendor_variable(backend, devices_, expected) -> None:
    assert ComputeResource(backend=backend, devices=devices_).device_env() == expected


def test_auto_backend_pins_for_the_torch_build(monkeypatch) -> None:
    import resources.compute as compute_module

    monkeypatch.setattr(compute_module, "torch_vendor", lambda: "rocm")
    assert ComputeResource(devices="2").device_env() == {"HIP_VISIBLE_DEVICES": "2"}
    monkeypatch.setattr(compute_module, "torch_vendor", lambda: "cuda")
    assert ComputeResource(devices="2").device_env() == {"CUDA_VISIBLE_DEVICES": "2"}
    assert pinning_env(None, "3") == {"CUDA_VISIBLE_DEVICES": "3"}
    with pytest.raises(ValueError, match="unknown GPU vendor"):
        pinning_env("metal", "0")


def test_torch_device_is_cpu_here(clean_pinning) -> None:
    """This machine has no GPU, so every backend trains on the CPU (a frozen resource: no
    attribute is assigned along the way)."""
    if devices.gpu_visible():
        pytest.skip("a GPU is visible: this test is for CPU-only machines")
    for backend in ("auto", "cpu", "cuda", "rocm"):
        assert ComputeResource(backend=backend).torch_device() == "cpu"


def test_device_report_and_scan_keep_their_api(clean_pinning) -> None:
    compute = ComputeResource(backend="cpu", devices="0")
    report = compute.device_report()
    assert report["backend"] == "cpu" and report["sieve_on_gpu"] is False
    assert report["torch_device"] == "cpu" and report["pinning"] == {}
    seen: list[tuple[int, int, int]] = []
    result = compute.scan(_small_spec(), progress=lambda d, t, f: seen.append((d, t, f)))
    assert result.survivors["seed"].to_list() == [5000]
    pinned = ComputeResource(backend="cuda", devices="0")
    assert pinned.device_env() == {"CUDA_VISIBLE_DEVICES": "0"}
    pinned._pin()
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"


def test_scan_result_carries_the_device_report(clean_pinning, monkeypatch) -> None:
    """The typed device report (backend, device, vendor, pinning, why no GPU) reaches stats()."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    result = backends.run_scan(_small_spec(), "cpu")
    report = result.device
    assert report.backend == devices.Backend.CPU and report.vendor is None
    assert report.device_name.startswith("cpu (")
    assert report.pinning == {"CUDA_VISIBLE_DEVICES": "1"}
    assert report.gpu_skipped_because == "backend cpu requested"
    assert report.fallback_events == []
    assert result.stats()["device"] == report.as_dict()
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        backends.run_scan(_small_spec(), "tpu")
