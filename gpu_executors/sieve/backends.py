"""Which executor runs a scan: the CPU, or a GPU through Triton (CUDA or ROCm).

``auto`` takes a GPU when one is usable and the GPU kernels cover the scan, else the CPU. Every
result says which device ran it, and why a GPU was not used. A GPU scan that runs out of memory
is retried with smaller launch batches and finally on the CPU (``devices.run_with_fallback``);
the steps back are in ``result.extra["gpu_events"]``.
"""

from __future__ import annotations

from collections.abc import Callable

from gpu_executors.devices import GpuEvent, run_with_fallback
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.spec import ScanResult, ScanSpec

Progress = Callable[[int, int, int], None]
BACKENDS = ("auto", "cpu", "cuda", "rocm")
# Seeds per Triton launch: triton_scan's default, halved on OOM down to the floor (below which a
# launch no longer fills a GPU, so the CPU is as good).
GPU_BATCH = 1 << 22
GPU_MIN_BATCH = 1 << 14


def gpu_status(backend: str) -> tuple[bool, str]:
    if backend == "cpu":
        return False, "backend cpu requested"
    try:
        from gpu_executors.sieve.triton_scan import triton_available
    except ImportError as exc:  # triton not installed
        return False, f"no GPU executor: {exc}"
    return triton_available()


def run_scan(spec: ScanSpec, backend: str = "auto", progress: Progress | None = None) -> ScanResult:
    """Run ``spec``; a GPU scan's survivors are re-verified on the CPU by ``triton_scan``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    use_gpu, reason = gpu_status(backend)
    if use_gpu:
        from gpu_executors.sieve.triton_scan import triton_scan

        events: list[GpuEvent] = []

        def on_cpu() -> ScanResult:
            fallback = cpu_scan(spec, progress=progress)
            fallback.extra["gpu_skipped_because"] = "GPU out of memory at the smallest batch"
            return fallback

        try:
            result = run_with_fallback(
                lambda batch: triton_scan(spec, progress=progress, batch=batch),
                GPU_BATCH,
                GPU_MIN_BATCH,
                on_event=events.append,
                cpu_fn=on_cpu,
            )
            result.extra["gpu_events"] = events
            return result
        except NotImplementedError as exc:
            if backend in ("cuda", "rocm"):
                raise
            reason = f"GPU kernels do not cover this scan ({exc})"
    elif backend in ("cuda", "rocm"):
        raise RuntimeError(f"backend {backend} requested but unavailable: {reason}")
    result = cpu_scan(spec, progress=progress)
    result.extra["gpu_skipped_because"] = reason
    return result
