"""Which executor runs a scan: the CPU, or a GPU through Triton (CUDA or ROCm).

``auto`` takes a GPU when one is usable and the scan is one the GPU kernels support, else the
CPU. Every result says which device ran it, so metadata never leaves that to guesswork.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import dagster as dg
import numba

from gpu_executors.cpu_sieve import cpu_scan
from gpu_executors.scan import ScanResult, ScanSpec

Progress = Callable[[int, int, int], None]


class ComputeResource(dg.ConfigurableResource):
    """Backend choice, device pinning and CPU threads for the sieve."""

    backend: Literal["auto", "cpu", "cuda", "rocm"] = "auto"
    devices: str | None = None  # e.g. "0" or "0,1": CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES
    cpu_threads: int | None = None

    def _pin(self) -> None:
        if self.devices is None:
            return
        var = "HIP_VISIBLE_DEVICES" if self.backend == "rocm" else "CUDA_VISIBLE_DEVICES"
        os.environ[var] = self.devices

    def gpu_status(self) -> tuple[bool, str]:
        if self.backend == "cpu":
            return False, "backend cpu requested"
        try:
            from gpu_executors.triton_sieve import triton_available
        except ImportError as exc:  # triton not installed
            return False, f"no GPU executor: {exc}"
        return triton_available()

    def scan(self, spec: ScanSpec, progress: Progress | None = None) -> ScanResult:
        """Run ``spec`` on the chosen backend; a GPU scan's survivors are re-verified on the CPU."""
        self._pin()
        if self.cpu_threads:
            numba.set_num_threads(min(self.cpu_threads, numba.config.NUMBA_NUM_THREADS))
        use_gpu, reason = self.gpu_status()
        if use_gpu:
            from gpu_executors.triton_sieve import triton_scan

            try:
                return triton_scan(spec, progress=progress)
            except NotImplementedError as exc:
                if self.backend in ("cuda", "rocm"):
                    raise
                reason = f"GPU kernels do not cover this scan ({exc})"
        elif self.backend in ("cuda", "rocm"):
            raise RuntimeError(f"backend {self.backend} requested but unavailable: {reason}")
        result = cpu_scan(spec, progress=progress)
        result.extra["gpu_skipped_because"] = reason
        return result

    def describe(self) -> dict[str, str | int]:
        use_gpu, reason = self.gpu_status()
        return {
            "backend_requested": self.backend,
            "gpu": "yes" if use_gpu else f"no ({reason})",
            "cpu_threads": numba.get_num_threads(),
        }
