"""Which executor runs a scan: the CPU, or a GPU through Triton (CUDA or ROCm).

``auto`` takes a GPU when one is usable and the GPU kernels cover the scan, else the CPU; what
they do not cover is routed to the CPU by ``triton.routing`` with a reason, recorded in
``result.device.cpu_routing`` whether or not a GPU is present (an explicit ``cuda``/``rocm``
backend refuses such a scan instead). Every
result says which device ran it, and why a GPU was not used (``result.device``, a
``DeviceReport``). A GPU scan that runs out of memory is retried with smaller launch batches and
finally on the CPU (``devices.run_with_fallback``); the steps back are in
``result.device.fallback_events``.
"""

from __future__ import annotations

from gpu_executors.devices import Backend, GpuEvent, run_with_fallback
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.spec import Progress, ScanResult, ScanSpec
from gpu_executors.sieve.triton.availability import triton_available
from gpu_executors.sieve.triton.routing import cpu_route
from gpu_executors.sieve.triton.scan import triton_scan

# Seeds per Triton launch: triton_scan's default, halved on OOM down to the floor (below which a
# launch no longer fills a GPU, so the CPU is as good).
GPU_BATCH = 1 << 22
GPU_MIN_BATCH = 1 << 14


def _backend(name: str) -> Backend:
    try:
        return Backend(name)
    except ValueError:
        valid = ", ".join(b.value for b in Backend)
        raise ValueError(f"unknown backend {name!r}; valid: {valid}") from None


def gpu_status(backend: str) -> tuple[bool, str]:
    """Whether ``backend`` would run a scan on a GPU here, and why (never raises)."""
    if backend == Backend.CPU:
        return False, "backend cpu requested"
    return triton_available()


def run_scan(
    spec: ScanSpec, backend: str = Backend.AUTO, progress: Progress | None = None
) -> ScanResult:
    """Run ``spec``; a GPU scan's survivors are re-verified on the CPU by ``triton_scan``."""
    chosen = _backend(backend)
    explicit_gpu = chosen in (Backend.CUDA, Backend.ROCM)
    route = cpu_route(spec)
    use_gpu, reason = gpu_status(chosen)
    if use_gpu and route is not None:
        if explicit_gpu:
            raise NotImplementedError(f"backend {chosen}: routed to the CPU executor: {route}")
        use_gpu, reason = False, f"routed to the CPU executor: {route}"
    if use_gpu:
        events: list[GpuEvent] = []

        def on_cpu() -> ScanResult:
            fallback = cpu_scan(spec, progress=progress)
            fallback.device.gpu_skipped_because = "GPU out of memory at the smallest batch"
            return fallback

        try:
            result = run_with_fallback(
                lambda batch: triton_scan(spec, progress=progress, batch=batch),
                GPU_BATCH,
                GPU_MIN_BATCH,
                on_event=events.append,
                cpu_fn=on_cpu,
            )
            result.device.fallback_events = events
            return result
        except NotImplementedError as exc:
            if explicit_gpu:
                raise
            reason = f"GPU kernels do not cover this scan ({exc})"
    elif explicit_gpu:
        raise RuntimeError(f"backend {chosen} requested but unavailable: {reason}")
    result = cpu_scan(spec, progress=progress)
    result.device.gpu_skipped_because = reason
    result.device.cpu_routing = route
    return result
