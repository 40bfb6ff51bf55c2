"""The compute resource: backend choice, device pinning and CPU threads for the sieve."""

from __future__ import annotations

import os
from typing import Literal

import dagster as dg
import numba

from gpu_executors.backends import Progress, run_scan
from gpu_executors.scan import ScanResult, ScanSpec


class ComputeResource(dg.ConfigurableResource):
    """``auto`` = a GPU when one is usable and covers the scan, else the CPU."""

    backend: Literal["auto", "cpu", "cuda", "rocm"] = "auto"
    devices: str | None = None  # e.g. "0" or "0,1": CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES
    cpu_threads: int | None = None

    def _pin(self) -> None:
        if self.devices is None:
            return
        var = "HIP_VISIBLE_DEVICES" if self.backend == "rocm" else "CUDA_VISIBLE_DEVICES"
        os.environ[var] = self.devices

    def scan(self, spec: ScanSpec, progress: Progress | None = None) -> ScanResult:
        self._pin()
        if self.cpu_threads:
            numba.set_num_threads(min(self.cpu_threads, numba.config.NUMBA_NUM_THREADS))
        return run_scan(spec, self.backend, progress)
