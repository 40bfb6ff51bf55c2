"""Host side of one launch: the per-scan plan and one batch of seeds (what the kernels cover
is ``routing``'s, enforced by ``check_supported``).

A plan fixes everything that does not change from batch to batch (kernel, constexprs, observed
draws on the device, batch size); ``launch`` runs one batch and returns its per-candidate flags.
``gpu_flags`` exposes the raw flags of a small scan, without the CPU re-verification of
``scan.triton_scan``, for tests and debugging.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_executors.devices import DeviceReport
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import DrawSpec, mask_for
from gpu_executors.sieve.prefilters import MT_LAZY_WORDS
from gpu_executors.sieve.spec import ScanMode, ScanSpec
from gpu_executors.sieve.strategies import rule_array
from gpu_executors.sieve.triton.availability import triton_available
from gpu_executors.sieve.triton.kernels import Built, build
from gpu_executors.sieve.triton.routing import (
    LAZY_MT,
    STEPPED,
    TRITON_DRAWS,
    TRITON_GENERATORS,
    cpu_route,
)

SUPPORTED_GENERATORS: tuple[str, ...] = TRITON_GENERATORS
SUPPORTED_DRAWS: tuple[str, ...] = TRITON_DRAWS

MAX_RETRIES = 64  # consecutive rejections before a lane is unsure (the kernels' RETRIES)
FLAG_BUDGET = 1 << 28  # bytes of per-candidate flags (and of MT scratch) per launch
MAX_BLOCK = 1 << 12


def draw_params(gen: Generator, spec: DrawSpec) -> tuple[str, tuple[int, int, int], bool]:
    """(kernel draw kind, (p0, p1, p2), rejects?) mirroring ``draws.make_drawer``'s branches."""
    kind, params = spec.kind, spec.params
    if kind == "mod":
        return "mod", (params[0], 0, 0), False
    if kind == "nextint":
        bound = params[0]
        if bound & (bound - 1) == 0:
            return "nextint_pow2", (bound, 0, 0), False
        return "nextint", (bound, 0, 0), True
    if kind == "randint":
        rng = params[0] - 1
        if rng == 0:
            return "none", (0, 0, 0), False
        if rng == 0xFFFFFFFF:
            return "randint_full", (0, 0, 0), False
        mask = mask_for(rng)
        return "randint", (rng, mask, 0), mask != rng
    if kind == "randrange":
        n = params[0]
        return "randrange", (n, 32 - n.bit_length(), 0), True
    if kind == "mt_rand":
        lo, hi = params
        umod = hi - lo + 1
        if gen.php_legacy_range:
            return "mt_rand_legacy", (lo, umod, 0), False
        if umod & (umod - 1) == 0:
            return "mt_rand_pow2", (lo, umod, 0), False
        limit = 0xFFFFFFFF - (0xFFFFFFFF % umod) - 1
        return "mt_rand", (lo, umod, limit), True
    raise NotImplementedError(
        f"draw {spec.text}: the Triton executor supports {', '.join(SUPPORTED_DRAWS)}"
    )


def check_supported(spec: ScanSpec) -> None:
    """NotImplementedError, with ``routing.cpu_route``'s reason, for what only the CPU runs."""
    why = cpu_route(spec)
    if why is not None:
        raise NotImplementedError(f"routed to the CPU executor: {why}")


def _scratch_words(spec: ScanSpec, rejects: bool) -> int:
    """Rows of lazy-MT scratch: every word needed, plus slack for rejection retries."""
    last = spec.last_word()
    if last >= MT_LAZY_WORDS:
        raise ValueError(
            f"{spec.generator}: the lazy MT19937 kernel computes words 0..{MT_LAZY_WORDS - 1} of "
            f"a seed (before the second twist); this scan reads word {last} (offset up to "
            f"{spec.offset_stop - 1}, {len(spec.draws)} draws, gap up to {spec.gap_max}). "
            "Shorten the window or use the CPU executor."
        )
    slack = len(spec.draws) + 8 if rejects else 0
    return min(MT_LAZY_WORDS, last + 1 + slack)


def n_candidates(spec: ScanSpec) -> int:
    """Flags per seed: (offset, gap) pairs; offsets with variable gaps; gaps in a state scan."""
    if spec.mode is ScanMode.STATE:
        return spec.n_gaps
    return spec.n_offsets * (1 if spec.variable_gap else spec.n_gaps)


def candidate_index(spec: ScanSpec, offset: int, gap: int) -> int:
    """The flag row of a CPU survivor (gap -1 with variable gaps; offset 0 in a state scan)."""
    if spec.mode is ScanMode.STATE:
        return gap - spec.gap_min
    if spec.variable_gap:
        return offset - spec.offset_start
    return (offset - spec.offset_start) * spec.n_gaps + gap - spec.gap_min


def _device_context(dev: Any) -> AbstractContextManager:
    """Make an indexed CUDA/HIP device current for the launch (Triton launches there)."""
    if dev.type == "cuda" and dev.index is not None:
        import torch

        return torch.cuda.device(dev.index)
    return nullcontext()


def _as_int64(x: int) -> int:
    """A uint64 value as the int64 with the same bits (the kernel bitcasts it back)."""
    return x - (1 << 64) if x >= 1 << 63 else x


@dataclass
class LaunchPlan:
    """Everything a launch needs that does not change from batch to batch."""

    spec: ScanSpec
    built: Built
    dev: Any  # torch.device
    obs: Any  # torch int64 tensor of the observed draws, on dev
    params: tuple[int, int, int]
    rules: np.ndarray  # the variable-gap strategies' (max consecutive, tolerance), flattened
    is_mt: bool
    n_words: int
    block: int
    batch: int
    consts: dict[str, Any]

    @property
    def n_cand(self) -> int:
        return n_candidates(self.spec)

    @property
    def backend(self) -> str:
        if self.built.interpret:
            return "triton-interpret"
        import torch

        return "triton-hip" if torch.version.hip else "triton-cuda"

    def device_report(self) -> DeviceReport:
        """The device the kernels run on (the interpreter runs them on the CPU)."""
        if self.built.interpret:
            return DeviceReport.on_cpu(f"cpu (Triton interpreter, torch device {self.dev})")
        import torch

        return DeviceReport.on_gpu(f"{torch.cuda.get_device_name(self.dev)} ({self.dev})")


def plan_launches(spec: ScanSpec, device: str | None, batch: int, block: int | None) -> LaunchPlan:
    """Check support, validate, pick the kernel and its constants, size the batches."""
    check_supported(spec)
    spec.validate()
    gen = spec.gen
    draw_kind, params, rejects = draw_params(gen, spec.draw_spec)
    is_mt = spec.generator in LAZY_MT
    n_words = _scratch_words(spec, rejects) if is_mt else 0
    built = build()
    if not built.interpret:
        ok, why = triton_available()
        if not ok:
            raise RuntimeError(f"Triton GPU executor unavailable: {why}")
    import torch

    dev = torch.device(device or ("cpu" if built.interpret else "cuda"))
    block = block or (1024 if built.interpret else 64)
    if block & (block - 1) or not 16 <= block <= MAX_BLOCK:
        raise ValueError(f"block {block} must be a power of two in [16, {MAX_BLOCK}]")
    if batch < 1:
        raise ValueError(f"batch {batch} must be positive")
    consts: dict[str, Any] = {
        "DRAW": draw_kind if draw_kind != "none" else "mod",
        "WORD32": gen.output_bits <= 32 and params[0] < (1 << 32),
        "REJECT": rejects,
        "NO_WORD": draw_kind == "none",
        "RETRIES": MAX_RETRIES,
        "BLOCK": block,
        "GAPS": "variable" if spec.variable_gap else "constant",
        # One warp per 64 lanes at most: small programs make the all-lanes-failed exit frequent.
        "num_warps": max(1, min(8, block // 64)),
        # Legacy mt_rand scales in float64 as PHP does: no fused multiply-adds anywhere.
        "enable_fp_fusion": False,
    }
    if is_mt:
        consts["LEGACY"] = LAZY_MT[spec.generator]
    else:
        consts["MODE"] = spec.mode.value
        consts["SEEDING"], consts["STEP"] = STEPPED[spec.generator]
        consts["SHIFT"] = max(gen.output_bits - 31, 0)  # nextint keeps the top 31 bits
    per_seed = n_candidates(spec) + 4 * n_words  # flag bytes + MT scratch bytes
    batch = max(block, min(batch, FLAG_BUDGET // per_seed) // block * block)
    obs = torch.as_tensor(spec.observed(), dtype=torch.int64, device=dev)
    rules = rule_array(spec.gap_strategies) if spec.variable_gap else np.empty(0, np.int64)
    return LaunchPlan(spec, built, dev, obs, params, rules, is_mt, n_words, block, batch, consts)


def launch(plan: LaunchPlan, start: int, count: int) -> Any:
    """Flags for seeds ``start .. start + count - 1``: int8 tensor [candidate, seed] on device.

    Candidate ``c`` is offset ``offset_start + c // n_gaps``, gap ``gap_min + c % n_gaps`` (see
    ``candidate_index`` for variable gaps and state scans); flag 0 = fails, 1 = passes (exact),
    2 = passes conservatively (unsure, see ``kernels``).
    """
    import torch

    sp, dev, block = plan.spec, plan.dev, plan.block
    grid = (-(-count // block),)
    # [start, p0, p1, p2, (max consecutive misses, tolerance) per strategy]: see ``kernels``
    prm = torch.tensor([_as_int64(start), *plan.params, *plan.rules.tolist()], dtype=torch.int64,
                       device=dev)
    flags = torch.empty((plan.n_cand, count), dtype=torch.int8, device=dev)
    n_off = 1 if sp.mode is ScanMode.STATE else sp.n_offsets
    scalars = (count, len(sp.draws), sp.offset_start, n_off, sp.gap_min, sp.n_gaps,
               sp.max_misses, len(plan.rules) // 2)
    with _device_context(dev):
        if plan.is_mt:
            scratch = torch.empty(grid[0] * plan.n_words * block, dtype=torch.int32, device=dev)
            plan.built.mt_kernel[grid](
                plan.obs, prm, scratch, flags, *scalars, plan.n_words, **plan.consts
            )
        else:
            plan.built.seed_kernel[grid](
                plan.obs, prm, flags, *scalars, sp.anchor, **plan.consts
            )
    return flags


def gpu_flags(spec: ScanSpec, *, device: str | None = None, block: int | None = None) -> np.ndarray:
    """The kernel's raw per-candidate flags for a small scan, without CPU re-verification.

    Returns int8 ``[n_candidates(spec), n_seeds]`` (see ``launch``): for tests and debugging.
    """
    plan = plan_launches(spec, device, spec.n_seeds, block)
    parts = [
        launch(plan, start, min(plan.batch, spec.stop - start)).cpu().numpy()
        for start in range(spec.seed_start, spec.stop, plan.batch)
    ]
    return np.concatenate(parts, axis=1)
