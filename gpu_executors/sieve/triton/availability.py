"""Whether the Triton kernels can run here, and if not, why (a reason a user can act on)."""

from __future__ import annotations

from gpu_executors.sieve.triton.lazy import interpret_requested


def triton_available() -> tuple[bool, str]:
    """Whether ``triton_scan`` can run here, and why (never raises)."""
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
