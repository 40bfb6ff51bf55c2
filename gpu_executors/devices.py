"""GPU vendor detection, device pinning, the device report, and the out-of-memory fallback.

CUDA and ROCm builds of torch share the ``torch.cuda`` API (ROCm's reports through HIP), so the
vendor is told apart by ``torch.version.hip``. Pinning differs: CUDA reads
``CUDA_VISIBLE_DEVICES``, ROCm ``HIP_VISIBLE_DEVICES``. A GPU step that runs out of memory is
retried with half the launch batch down to a floor, then run on the CPU; each step back is
recorded, so a slow run says why it was slow instead of failing. No dagster import: the asset
layer turns a ``DeviceReport`` into metadata.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")
VENDORS = ("cuda", "rocm")
PIN_VARS = {"cuda": "CUDA_VISIBLE_DEVICES", "rocm": "HIP_VISIBLE_DEVICES"}
GpuEvent = dict[str, Any]


class Backend(StrEnum):
    """Where a scan may run; ``auto`` takes a usable GPU, else the CPU (a str, so config works)."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    ROCM = "rocm"


@dataclass
class DeviceReport:
    """The device a result was computed on, and how it got there: "the device used" metadata.

    ``backend`` is where it actually ran (CPU, CUDA or ROCm, never ``auto``); the fallback
    events and the skip reason say why a GPU was asked for and not (or not fully) used.
    """

    backend: Backend
    device_name: str
    vendor: str | None = None  # "cuda" / "rocm" on a GPU
    pinning: dict[str, str] = field(default_factory=dict)  # the visible-devices vars in effect
    fallback_events: list[GpuEvent] = field(default_factory=list)  # see run_with_fallback
    gpu_skipped_because: str | None = None
    # Why the GPU kernels do not cover this scan (set whether or not a GPU was present), so a
    # CPU-only run records the same routing a GPU machine would have taken.
    cpu_routing: str | None = None

    @classmethod
    def on_cpu(cls, device_name: str = "cpu") -> DeviceReport:
        return cls(Backend.CPU, device_name, pinning=current_pinning())

    @classmethod
    def on_gpu(cls, device_name: str) -> DeviceReport:
        vendor = torch_vendor()
        backend = Backend.ROCM if vendor == "rocm" else Backend.CUDA
        return cls(backend, device_name, vendor, current_pinning())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the enum is a str)."""
        return asdict(self)


def torch_vendor() -> str | None:
    """The vendor torch was built for ("cuda" / "rocm"), or None for a CPU build or no torch."""
    try:
        import torch
    except Exception:  # not installed, or a broken install: no GPU either way
        return None
    if getattr(torch.version, "hip", None):
        return "rocm"
    if getattr(torch.version, "cuda", None):
        return "cuda"
    return None


def gpu_visible() -> bool:
    """Whether torch sees a usable GPU (CUDA or ROCm both answer through ``torch.cuda``)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def detect_vendor() -> str | None:
    """The vendor of a GPU torch can use now, else None."""
    vendor = torch_vendor()
    return vendor if vendor and gpu_visible() else None


def pin_var(vendor: str | None) -> str:
    """The variable that restricts the visible devices; CUDA's when the vendor is unknown."""
    return PIN_VARS.get(vendor or "cuda", PIN_VARS["cuda"])


def current_pinning() -> dict[str, str]:
    """The visible-devices variables this process runs under (empty when unpinned)."""
    return {var: os.environ[var] for var in PIN_VARS.values() if var in os.environ}


def pinning_env(vendor: str | None, devices: str | None) -> dict[str, str]:
    """The environment that pins a process to ``devices`` (e.g. "0" or "0,1"); {} for none."""
    if devices is None:
        return {}
    if vendor is not None and vendor not in VENDORS:
        raise ValueError(f"unknown GPU vendor {vendor!r}; valid: {', '.join(VENDORS)}")
    return {pin_var(vendor): devices}


def device_description() -> dict[str, Any]:
    """What this process would run on: for run metadata, never raises."""
    vendor = torch_vendor()
    info: dict[str, Any] = {"torch_build": vendor or "cpu", "gpu_visible": gpu_visible()}
    if info["gpu_visible"]:
        try:
            import torch

            info["device_count"] = torch.cuda.device_count()
            info["device_name"] = torch.cuda.get_device_name()
        except Exception as exc:
            info["device_error"] = str(exc)
    return info


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError, any MemoryError, or a RuntimeError saying "out of memory"."""
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError, without torch
        return True
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _release_gpu_memory() -> None:
    """Drop torch's cached blocks after an OOM (only when torch is already loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass


def run_with_fallback(
    fn: Callable[[int], T],
    batch: int,
    min_batch: int,
    on_event: Callable[[GpuEvent], None] | None = None,
    cpu_fn: Callable[[], T] | None = None,
) -> T:
    """``fn(batch)``; on out-of-memory halve the batch down to ``min_batch``, then ``cpu_fn()``.

    Each step back is passed to ``on_event`` as ``{"kind": "smaller_batch", "batch": failed,
    "retry_batch": half, "error": ...}`` or ``{"kind": "cpu_fallback", "batch": failed,
    "error": ...}``. Errors other than out-of-memory propagate unchanged; so does the last OOM
    when there is no ``cpu_fn``.
    """
    if batch < 1 or min_batch < 1:
        raise ValueError(f"batch {batch} and min_batch {min_batch} must be positive")

    def emit(event: GpuEvent) -> None:
        if on_event is not None:
            on_event(event)

    while True:
        try:
            return fn(batch)
        except BaseException as exc:
            if not is_out_of_memory(exc):
                raise
            if batch // 2 < min_batch and cpu_fn is None:
                raise
            error = f"{type(exc).__name__}: {exc}"[:500]
        # Outside the handler, so the failed attempt's frames (and tensors) are already freed.
        _release_gpu_memory()
        if batch // 2 >= min_batch:
            emit(
                {"kind": "smaller_batch", "batch": batch, "retry_batch": batch // 2, "error": error}
            )
            batch //= 2
            continue
        emit({"kind": "cpu_fallback", "batch": batch, "error": error})
        assert cpu_fn is not None
        return cpu_fn()
