"""Which executor runs a scan: the CPU, or a GPU through Triton (CUDA or ROCm).

``auto`` takes a GPU when one is usable and the GPU kernels cover the scan, else the CPU. Every
result says which device ran it, and why a GPU was not used.
"""

from __future__ import annotations

from collections.abc import Callable

from gpu_executors.cpu_sieve import cpu_scan
from gpu_executors.scan import ScanResult, ScanSpec

Progress = Callable[[int, int, int], None]
BACKENDS = ("auto", "cpu", "cuda", "rocm")


def gpu_status(backend: str) -> tuple[bool, str]:
    if backend == "cpu":
        return False, "backend cpu requested"
    try:
        from gpu_executors.triton_sieve import triton_available
    except ImportError as exc:  # triton not installed
        return False, f"no GPU executor: {exc}"
    return triton_available()


def run_scan(spec: ScanSpec, backend: str = "auto", progress: Progress | None = None) -> ScanResult:
    """Run ``spec``; a GPU scan's survivors are re-verified on the CPU by ``triton_scan``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    use_gpu, reason = gpu_status(backend)
    if use_gpu:
        from gpu_executors.triton_sieve import triton_scan

        try:
            return triton_scan(spec, progress=progress)
        except NotImplementedError as exc:
            if backend in ("cuda", "rocm"):
                raise
            reason = f"GPU kernels do not cover this scan ({exc})"
    elif backend in ("cuda", "rocm"):
        raise RuntimeError(f"backend {backend} requested but unavailable: {reason}")
    result = cpu_scan(spec, progress=progress)
    result.extra["gpu_skipped_because"] = reason
    return result
