"""Whether the Triton kernels can run here, and if not, why (a reason a user can act on)."""

from __future__ import annotations

import glob
import sys

from gpu_executors.sieve.triton.lazy import interpret_requested

# Device nodes a Linux GPU driver creates: NVIDIA, AMD ROCm, and WSL2's GPU paravirtualisation.
GPU_DEVICE_NODES = ("/dev/nvidia[0-9]*", "/dev/kfd", "/dev/dxg")


def gpu_device_nodes() -> list[str]:
    """The GPU device nodes present (Linux); importing torch to learn there are none costs
    seconds on every CPU-only scan."""
    return [path for pattern in GPU_DEVICE_NODES for path in glob.glob(pattern)]


def triton_available() -> tuple[bool, str]:
    """Whether ``triton_scan`` can run here, and why (never raises)."""
    if sys.platform.startswith("linux") and not interpret_requested() and not gpu_device_nodes():
        return False, "no GPU device on this machine (no /dev/nvidia*, /dev/kfd or /dev/dxg)"
    try:
        import torch
        import triton
    except Exception as exc:  # ImportError, or a broken install
        return False, f"triton/torch not importable: {exc}"
    if interpret_requested():
        return True, "TRITON_INTERPRET=1: Triton's interpreter runs the kernels on the CPU"
    try:
        if not torch.cuda.is_available():
            if not (torch.version.cuda or torch.version.hip):
                return False, "torch is a CPU-only build (no CUDA/ROCm)"
            return False, "torch sees no CUDA/ROCm device"
        backend = triton.runtime.driver.active.get_current_target().backend
        name = torch.cuda.get_device_name()
    except Exception as exc:
        return False, f"Triton has no usable GPU backend: {exc}"
    if backend not in ("cuda", "hip"):
        return False, f"Triton backend {backend!r} is neither CUDA nor HIP"
    return True, f"triton {triton.__version__} ({backend}) on {name}"
