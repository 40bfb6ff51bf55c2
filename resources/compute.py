"""The compute resource: backend choice, device pinning and CPU threads for the sieve."""

from __future__ import annotations

import os
from typing import Any, Literal

import dagster as dg
import numba

from gpu_executors.devices import detect_vendor, device_description, pinning_env, torch_vendor
from gpu_executors.sieve.backends import gpu_status, run_scan
from gpu_executors.sieve.spec import Progress, ScanResult, ScanSpec

SIEVE_POOL = "sieve"  # the CPU scan's pool (every worker may scan)
GPU_POOL = "gpu"  # shared with the GPU model family: GPUs are scarcer


class ComputeResource(dg.ConfigurableResource):
    """``auto`` = a GPU when one is usable and covers the scan, else the CPU.

    Frozen like every ConfigurableResource: the methods compute answers, they never assign
    attributes (pinning is applied to the process environment, which is per step process).
    """

    backend: Literal["auto", "cpu", "cuda", "rocm"] = "auto"
    devices: str | None = None  # e.g. "0" or "0,1": CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES
    cpu_threads: int | None = None

    def vendor(self) -> str | None:
        """The GPU vendor pinning applies to: the backend when explicit, else torch's build."""
        if self.backend in ("cuda", "rocm"):
            return self.backend
        if self.backend == "cpu":
            return None
        return torch_vendor()

    def device_env(self) -> dict[str, str]:
        """The variables that pin a process (or a Pipes subprocess) to ``devices``."""
        if self.backend == "cpu":
            return {}
        return pinning_env(self.vendor(), self.devices)

    def _pin(self) -> None:
        os.environ.update(self.device_env())

    def torch_device(self) -> str:
        """Return "cuda" when the backend allows a GPU and torch sees one (ROCm too), else "cpu"."""
        if self.backend == "cpu":
            return "cpu"
        self._pin()
        return "cuda" if detect_vendor() is not None else "cpu"

    def device_report(self) -> dict[str, Any]:
        """Which device a step would use and why: for run metadata and logs."""
        use_gpu, reason = gpu_status(self.backend)
        return {
            "backend": self.backend,
            "vendor": self.vendor() or "none",
            "pinning": self.device_env(),
            "sieve_on_gpu": use_gpu,
            "sieve_reason": reason,
            "scan_pool": self.scan_pool(),
            "torch_device": self.torch_device(),
            **device_description(),
        }

    def scan_pool(self) -> str:
        """The pool of the survivors step: ``gpu`` when scans run on a GPU (an explicit
        ``cuda``/``rocm`` backend, or ``auto`` where a GPU is usable), else ``sieve``.

        Decided once per code location: under ``auto`` a scan the GPU kernels route to the CPU
        (``triton.routing``) still queues on the GPU pool.
        """
        if self.backend == "cpu":
            return SIEVE_POOL
        if self.backend in ("cuda", "rocm"):
            return GPU_POOL
        return GPU_POOL if gpu_status(self.backend)[0] else SIEVE_POOL

    def scan(self, spec: ScanSpec, progress: Progress | None = None) -> ScanResult:
        self._pin()
        if self.cpu_threads:
            numba.set_num_threads(min(self.cpu_threads, numba.config.NUMBA_NUM_THREADS))
        return run_scan(spec, self.backend, progress)  # its device report reads the pinning
