"""The GPU executor: one Triton kernel source for CUDA and ROCm (and Triton's CPU interpreter).

Each kernel program takes ``BLOCK`` consecutive seeds, one per lane, and for every (offset, gap)
candidate of a seed computes the draws and counts mismatches, writing one pass flag per
candidate. The host compacts the flags and **re-walks every flagged seed on the CPU** with the
numba ``walk_seed`` of ``cpu_sieve``: the survivors table is always the CPU's record, and a GPU
pass the CPU does not confirm is counted in ``extra["gpu_false_positives"]`` (a kernel bug).

Generators are re-written in Triton bit for bit with ``generators.py`` (all arithmetic in
``tl.uint64``/``tl.uint32``, which wrap like numba's ``uint64``). MT19937 is lazy: after
``init_genrand`` the first twist's word ``k < 227`` needs only init words ``k``, ``k + 1`` and
``k + 397``, so a seed's first 227 outputs cost one pass of the init recurrence, not a full
twist; candidates needing word 227 or later are refused (``ValueError``, use the CPU executor).

Rejection draws (``nextint:BOUND`` when BOUND is not a power of two, ``randint:M``,
``mt_rand:MIN:MAX`` on PHP 7.1+) are computed as single-word fast values and, when a word is
rejected, retried *exactly* (the lane consumes the next word, as the CPU does), so the GPU count
is exact. (Merely counting a rejected draw as a match would not be conservative: every later
draw of the true candidate sits one word further on, so it would then be lost; and ``randint``
rejects up to half its words.) Where exactness cannot be had (a lazy-MT retry runs past the
computed words, or 64 retries in a row) the lane is marked *unsure*: that draw and every later
one count as potential matches, so the GPU filter never loses a true candidate; the CPU re-walk
decides, and such passes are reported as ``extra["gpu_conservative_passes"]``, not as false
positives.

Kernels are compiled once per (generator, draw kind, block) by ``triton.jit`` (constexpr
specialisation; scalar arguments are not specialised) and kept in Triton's on-disk cache.
Importing this module never imports triton or torch: both load on first use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from gpu_executors.prng.draws import DrawSpec, _mask_for
from gpu_executors.prng.generators import Generator
from gpu_executors.sieve.spec import ScanResult, ScanSpec, survivors_frame

Progress = Callable[[int, int, int], None]  # (candidates done, candidates total, survivors)

# Stepping generators: registry name -> (seeding, step) constexpr names used by the kernel.
STEPPED: dict[str, tuple[str, str]] = {
    "java_lcg": ("mask48", "java48"),
    "java_random": ("java_scramble", "java48"),
    "lcg32": ("mask32", "lcg32"),
    "minstd": ("minstd", "minstd"),
    "msvc_rand": ("mask32", "msvc"),
    "xorshift32": ("mask32", "xorshift32"),
    "xorshift64": ("identity", "xorshift64star"),
    "xorshift64_original": ("identity", "xorshift64mul"),
    "pcg32": ("pcg32", "pcg32"),
    "pcg32_original": ("identity", "pcg32"),
}
# Lazy MT19937: registry name -> legacy twist (PHP 5.2.1-7.0 takes the low bit of mt[k]).
LAZY_MT: dict[str, bool] = {"mt19937": False, "php_mt_rand": False, "php_mt_rand_legacy": True}
SUPPORTED_GENERATORS: tuple[str, ...] = (*STEPPED, *LAZY_MT)
SUPPORTED_DRAWS: tuple[str, ...] = ("mod", "nextint", "randint", "mt_rand")

MT_LAZY_WORDS = 227  # words 0..226 of the first twist need no other twisted word
MAX_RETRIES = 64  # consecutive rejections before a lane is unsure (the kernels' literal 64)
FLAG_BUDGET = 1 << 28  # bytes of per-candidate flags (and of MT scratch) per launch
MAX_BLOCK = 1 << 12

# --- lazy triton: the jit'able functions below are plain functions until _build() runs.

tl: Any = None  # triton.language, bound by _build()
_PLAIN: dict[str, Callable] = {}  # the jit'able functions, as written


def _jit(fn: Callable) -> Callable:
    """Mark ``fn`` for ``triton.jit`` at first use, so importing this module needs no triton."""
    _PLAIN[fn.__name__] = fn
    return fn


def _interpret_requested() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() not in ("", "0", "false")


@dataclass(frozen=True)
class _Built:
    interpret: bool
    seed_kernel: Any
    mt_kernel: Any


@cache
def _build() -> _Built:
    """Import triton, jit every marked function and rebind it in this module's globals.

    Kernels look their callees up in the module globals when they compile (or, interpreted,
    when they run), so after the rebinding they call each other's jitted versions. Whether the
    interpreter is used is fixed here, by ``TRITON_INTERPRET`` at the first scan.
    """
    global tl
    import triton
    import triton.language as language

    tl = language
    module = globals()
    for name, fn in _PLAIN.items():
        if name.endswith("_kernel"):
            # One compile per (generator, draw kind): scalars must not fork specialisations.
            scalars = [
                p
                for p in fn.__code__.co_varnames[: fn.__code__.co_argcount]
                if not p.endswith("_ptr") and not p.isupper()
            ]
            module[name] = triton.jit(fn, do_not_specialize=scalars)
        else:
            module[name] = triton.jit(fn)
    interpret = type(module["_seed_kernel"]).__name__ == "InterpretedFunction"
    return _Built(interpret, module["_seed_kernel"], module["_mt_kernel"])


# --- device functions (Triton): generators


@_jit
def _mod_mersenne31(x):
    """``x % (2^31 - 1)`` for ``x < 2^63`` by two folds (2^31 == 1): no 64-bit division."""
    t = (x & 0x7FFFFFFF) + (x >> 31)
    t = (t & 0x7FFFFFFF) + (t >> 31)
    return tl.where(t >= 0x7FFFFFFF, t - 0x7FFFFFFF, t)


@_jit
def _seed_state(seed, SEEDING: tl.constexpr):
    """The registry's ``seed(seed, state)`` for one-word states; ``seed`` is uint64."""
    if SEEDING == "mask48":
        s = seed & 0xFFFFFFFFFFFF
    elif SEEDING == "java_scramble":
        s = (seed ^ 0x5DEECE66D) & 0xFFFFFFFFFFFF
    elif SEEDING == "mask32":
        s = seed & 0xFFFFFFFF
    elif SEEDING == "minstd":
        s = _mod_mersenne31(seed)
        s = tl.where(s == 0, s + 1, s)
    elif SEEDING == "pcg32":
        # pcg32_srandom_r(seed, 721347520444481703): (INC + seed) * MULT + INC, mod 2^64
        s = (seed + 1442695040888963407) * 6364136223846793005 + 1442695040888963407
    else:  # "identity"
        s = seed
    return s


@_jit
def _step(s, STEP: tl.constexpr):
    """The registry's ``next``: returns (new state, output word), both uint64."""
    if STEP == "java48":
        s = (s * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF
        w = s >> 16
    elif STEP == "lcg32":
        s = _mod_mersenne31(s * 1103515245 + 12345)
        w = s
    elif STEP == "minstd":
        s = _mod_mersenne31(s * 48271)
        w = s
    elif STEP == "msvc":
        x = s.to(tl.uint32) * 214013 + 2531011  # wraps mod 2^32
        s = x.to(tl.uint64)
        w = (s >> 16) & 0x7FFF
    elif STEP == "xorshift32":
        x = s.to(tl.uint32)
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        s = x.to(tl.uint64)
        w = s
    elif STEP == "xorshift64star":
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        w = s * 0x2545F4914F6CDD1D
    elif STEP == "xorshift64mul":
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        s = s * 0x2545F4914F6CDD1D
        w = s
    else:  # "pcg32": XSH-RR output of the old state
        old = s
        s = old * 6364136223846793005 + 1442695040888963407
        xs = ((((old >> 18) ^ old) >> 27) & 0xFFFFFFFF).to(tl.uint32)
        rot = (old >> 59).to(tl.uint32)
        w = ((xs >> rot) | (xs << ((32 - rot) & 31))).to(tl.uint64)
    return s, w


@_jit
def _mt_partial(a, b, LEGACY: tl.constexpr):
    """The part of twisted word k known from mt[k] = a and mt[k+1] = b (uint32 in, uint64 out)."""
    y = ((a >> 31) << 31) | (b & 0x7FFFFFFF)
    low = a & 1 if LEGACY else b & 1
    return (y >> 1).to(tl.uint64) ^ (low.to(tl.uint64) * 0x9908B0DF)


@_jit
def _mt_temper(y):
    """MT19937 tempering on a uint64 holding 32 bits (the masks keep it within 32 bits)."""
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@_jit
def _load_u32(ptr, mask):
    """A uint32 stored in int32 scratch, zero-extended to uint64 (not sign-extended)."""
    return tl.load(ptr, mask=mask, other=0).to(tl.uint32, bitcast=True).to(tl.uint64)


# --- device functions: draws


@_jit
def _draw_value(w, p0, p1, p2, DRAW: tl.constexpr, SHIFT: tl.constexpr, WORD32: tl.constexpr):
    """One word -> (draw value int64, rejected?) exactly as ``draws.make_drawer`` maps it.

    p0, p1, p2 are the host-side parameters of ``_draw_params`` (int64 scalars).
    """
    rej = w != w  # all False; the rejection draws overwrite it
    if DRAW == "mod":
        if WORD32:  # 32-bit remainder where words and M fit: far cheaper than 64-bit on GPUs
            v = (w.to(tl.uint32) % p0.to(tl.uint32)).to(tl.int64)
        else:
            v = (w % p0.to(tl.uint64)).to(tl.int64)
    elif DRAW == "nextint_pow2":
        r = ((w >> SHIFT) & 0x7FFFFFFF).to(tl.int64)
        v = (p0 * r) >> 31
    elif DRAW == "nextint":
        r = ((w >> SHIFT) & 0x7FFFFFFF).to(tl.uint32)
        bound = p0.to(tl.uint32)
        val = r % bound
        rej = (r - val) + (bound - 1) >= 0x80000000  # Java's `bits - val + (bound-1) < 0`
        v = val.to(tl.int64)
    elif DRAW == "randint_full":
        v = (w & 0xFFFFFFFF).to(tl.int64)
    elif DRAW == "randint":
        m = w & p1.to(tl.uint64)  # p1 = mask, p0 = M - 1
        rej = m > p0.to(tl.uint64)
        v = m.to(tl.int64)
    elif DRAW == "mt_rand_pow2":  # p0 = MIN, p1 = MAX - MIN + 1
        v = p0 + (w.to(tl.uint32) % p1.to(tl.uint32)).to(tl.int64)
    elif DRAW == "mt_rand":
        r = w.to(tl.uint32)
        rej = r > p2.to(tl.uint32)  # p2 = PHP's rejection limit
        v = p0 + (r % p1.to(tl.uint32)).to(tl.int64)
    else:  # "mt_rand_legacy": MIN + (long)(span * (n / 2^31)), n = word >> 1, in float64
        n = (w.to(tl.uint32) >> 1).to(tl.float64)
        v = p0 + (p1.to(tl.float64) * (n * 4.656612873077393e-10)).to(tl.int64)
    return v, rej


# --- kernels


@_jit
def _seed_kernel(
    obs_ptr,
    prm_ptr,
    flag_ptr,
    n_seeds,
    n_draws,
    off_start,
    n_off,
    gap_min,
    n_gap,
    max_misses,
    SEEDING: tl.constexpr,
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """One-word-state generators: flag[c, lane] = 0 fail, 1 pass, 2 unsure (conservative pass)."""
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    valid = lane < n_seeds
    base = tl.load(prm_ptr).to(tl.uint64, bitcast=True)
    p0 = tl.load(prm_ptr + 1)
    p1 = tl.load(prm_ptr + 2)
    p2 = tl.load(prm_ptr + 3)
    st0 = _seed_state(base + lane.to(tl.uint64), SEEDING)
    for _ in range(off_start):
        st0, _w = _step(st0, STEP)
    # Lanes past the batch start dead, so they never hold the program's early exit open.
    fresh = tl.where(valid, 0, max_misses + 1)
    for oi in range(n_off):
        for gi in range(n_gap):
            gap = gap_min + gi
            st = st0
            misses = fresh
            unsure = lane < 0
            i = 0
            while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
                want = tl.load(obs_ptr + i)
                if NO_WORD:  # randint:1 consumes no word
                    v = tl.zeros([BLOCK], tl.int64)
                else:
                    st, w = _step(st, STEP)
                    v, rej = _draw_value(w, p0, p1, p2, DRAW, SHIFT, WORD32)
                    if REJECT:
                        retry = rej & (misses <= max_misses) & ~unsure
                        tries = 0
                        while (tl.max(retry.to(tl.int32), axis=0) > 0) & (tries < 64):
                            st2, w2 = _step(st, STEP)
                            v2, rej2 = _draw_value(w2, p0, p1, p2, DRAW, SHIFT, WORD32)
                            st = tl.where(retry, st2, st)
                            v = tl.where(retry, v2, v)
                            retry = retry & rej2
                            tries += 1
                        unsure = unsure | retry
                misses += ((v != want) & ~unsure).to(tl.int32)
                for _ in range(gap):
                    st, _w = _step(st, STEP)
                i += 1
            flag = tl.where(misses <= max_misses, tl.where(unsure, 2, 1), 0)
            tl.store(flag_ptr + (oi * n_gap + gi) * n_seeds + lane, flag.to(tl.int8), mask=valid)
        st0, _w = _step(st0, STEP)


@_jit
def _mt_kernel(
    obs_ptr,
    prm_ptr,
    scratch_ptr,
    flag_ptr,
    n_seeds,
    n_draws,
    off_start,
    n_off,
    gap_min,
    n_gap,
    max_misses,
    n_words,
    LEGACY: tl.constexpr,
    DRAW: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Lazy MT19937: tempered words 0..n_words-1 of each seed into scratch, then the candidates.

    Scratch holds, per program, ``n_words`` rows of ``BLOCK`` uint32 (row j = word j): first the
    twist's partial from init words j, j+1, then the finished word once init word j+397 is known.
    """
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    lane = pid * BLOCK + cols
    valid = lane < n_seeds
    base = tl.load(prm_ptr).to(tl.uint64, bitcast=True)
    p0 = tl.load(prm_ptr + 1)
    p1 = tl.load(prm_ptr + 2)
    p2 = tl.load(prm_ptr + 3)
    rows = scratch_ptr + pid.to(tl.int64) * n_words * BLOCK + cols
    prev = ((base + lane.to(tl.uint64)) & 0xFFFFFFFF).to(tl.uint32)
    for k in range(1, n_words + 1):
        x = 1812433253 * (prev ^ (prev >> 30)) + k  # init_genrand, wraps mod 2^32
        tl.store(rows + (k - 1) * BLOCK, _mt_partial(prev, x, LEGACY).to(tl.uint32))
        prev = x
    for k in range(n_words + 1, 397):
        prev = 1812433253 * (prev ^ (prev >> 30)) + k
    # Each lane reads back only its own column (same layout, same thread), but a CTA barrier
    # makes the scratch visibility explicit rather than an artefact of the layout.
    tl.debug_barrier()
    for j in range(0, n_words):
        prev = 1812433253 * (prev ^ (prev >> 30)) + (397 + j)
        part = _load_u32(rows + j * BLOCK, valid)
        tl.store(rows + j * BLOCK, _mt_temper(prev.to(tl.uint64) ^ part).to(tl.uint32))
    tl.debug_barrier()

    fresh = tl.where(valid, 0, max_misses + 1)
    for oi in range(n_off):
        for gi in range(n_gap):
            gap = gap_min + gi
            pos = tl.zeros([BLOCK], tl.int32) + (off_start + oi)
            misses = fresh
            unsure = lane < 0
            i = 0
            while (i < n_draws) & (tl.min(misses, axis=0) <= max_misses):
                want = tl.load(obs_ptr + i)
                if NO_WORD:
                    v = tl.zeros([BLOCK], tl.int64)
                else:
                    known = pos < n_words
                    w = _load_u32(rows + pos * BLOCK, known)
                    unsure = unsure | ~known
                    pos += 1
                    v, rej = _draw_value(w, p0, p1, p2, DRAW, 1, WORD32)
                    if REJECT:
                        retry = rej & (misses <= max_misses) & ~unsure
                        tries = 0
                        while (tl.max(retry.to(tl.int32), axis=0) > 0) & (tries < 64):
                            known = pos < n_words
                            unsure = unsure | (retry & ~known)
                            retry = retry & known
                            w2 = _load_u32(rows + pos * BLOCK, retry)
                            v2, rej2 = _draw_value(w2, p0, p1, p2, DRAW, 1, WORD32)
                            pos = tl.where(retry, pos + 1, pos)
                            v = tl.where(retry, v2, v)
                            retry = retry & rej2
                            tries += 1
                        unsure = unsure | retry
                misses += ((v != want) & ~unsure).to(tl.int32)
                pos += gap
                i += 1
            flag = tl.where(misses <= max_misses, tl.where(unsure, 2, 1), 0)
            tl.store(flag_ptr + (oi * n_gap + gi) * n_seeds + lane, flag.to(tl.int8), mask=valid)


# --- host side


def triton_available() -> tuple[bool, str]:
    """Whether ``triton_scan`` can run here, and why (never raises)."""
    try:
        import torch
        import triton
    except Exception as exc:  # ImportError, or a broken install
        return False, f"triton/torch not importable: {exc}"
    if _interpret_requested():
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


def _draw_params(gen: Generator, spec: DrawSpec) -> tuple[str, tuple[int, int, int], bool]:
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
        mask = _mask_for(rng)
        return "randint", (rng, mask, 0), mask != rng
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


def _check_supported(spec: ScanSpec) -> None:
    """NotImplementedError for what only the CPU executor runs (the caller falls back)."""
    if spec.generator not in SUPPORTED_GENERATORS:
        raise NotImplementedError(
            f"generator {spec.generator!r} has no Triton kernel; supported: "
            f"{', '.join(SUPPORTED_GENERATORS)} (use the CPU executor)"
        )
    if spec.mode != "seed":
        raise NotImplementedError("the Triton executor runs seed scans only (state scans: CPU)")
    if spec.variable_gap:
        raise NotImplementedError("the Triton executor runs constant-gap scans only (CPU)")
    if spec.draw_spec.kind not in SUPPORTED_DRAWS:
        raise NotImplementedError(
            f"draw {spec.draw}: the Triton executor supports {', '.join(SUPPORTED_DRAWS)}"
        )


def mt_words_needed(spec: ScanSpec) -> int:
    """Highest MT output index a candidate of ``spec`` reads when no draw is rejected."""
    return spec.offset_stop - 1 + (len(spec.draws) - 1) * (spec.gap_max + 1)


def _mt_words(spec: ScanSpec, rejects: bool) -> int:
    """Rows of lazy-MT scratch: every word needed, plus slack for rejection retries."""
    last = mt_words_needed(spec)
    if last >= MT_LAZY_WORDS:
        raise ValueError(
            f"{spec.generator}: the lazy MT19937 kernel computes words 0..{MT_LAZY_WORDS - 1} of "
            f"a seed (before the second twist); this scan reads word {last} (offset up to "
            f"{spec.offset_stop - 1}, {len(spec.draws)} draws, gap up to {spec.gap_max}). "
            "Shorten the window or use the CPU executor."
        )
    slack = len(spec.draws) + 8 if rejects else 0
    return min(MT_LAZY_WORDS, last + 1 + slack)


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
class _Plan:
    """Everything a launch needs that does not change from batch to batch."""

    spec: ScanSpec
    built: _Built
    dev: Any  # torch.device
    obs: Any  # torch int64 tensor of the observed draws, on dev
    params: tuple[int, int, int]
    is_mt: bool
    n_words: int
    block: int
    batch: int
    consts: dict[str, Any]

    @property
    def n_cand(self) -> int:
        return self.spec.n_offsets * self.spec.n_gaps

    @property
    def backend(self) -> str:
        if self.built.interpret:
            return "triton-interpret"
        import torch

        return "triton-hip" if torch.version.hip else "triton-cuda"


def _plan(spec: ScanSpec, device: str | None, batch: int, block: int | None) -> _Plan:
    """Check support, validate, pick the kernel and its constants, size the batches."""
    _check_supported(spec)
    spec.validate()
    gen = spec.gen
    draw_kind, params, rejects = _draw_params(gen, spec.draw_spec)
    is_mt = spec.generator in LAZY_MT
    n_words = _mt_words(spec, rejects) if is_mt else 0
    built = _build()
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
        "BLOCK": block,
        # One warp per 64 lanes at most: small programs make the all-lanes-failed exit frequent.
        "num_warps": max(1, min(8, block // 64)),
        # Legacy mt_rand scales in float64 as PHP does: no fused multiply-adds anywhere.
        "enable_fp_fusion": False,
    }
    if is_mt:
        consts["LEGACY"] = LAZY_MT[spec.generator]
    else:
        consts["SEEDING"], consts["STEP"] = STEPPED[spec.generator]
        consts["SHIFT"] = max(gen.output_bits - 31, 0)  # nextint keeps the top 31 bits
    n_cand = spec.n_offsets * spec.n_gaps
    per_seed = n_cand + 4 * n_words  # flag bytes + MT scratch bytes
    batch = max(block, min(batch, FLAG_BUDGET // per_seed) // block * block)
    obs = torch.as_tensor(spec.observed(), dtype=torch.int64, device=dev)
    return _Plan(spec, built, dev, obs, params, is_mt, n_words, block, batch, consts)


def _launch(plan: _Plan, start: int, count: int) -> Any:
    """Flags for seeds ``start .. start + count - 1``: int8 tensor [candidate, seed] on device.

    Candidate ``c`` is offset ``offset_start + c // n_gaps``, gap ``gap_min + c % n_gaps``;
    flag 0 = fails, 1 = passes (exact), 2 = passes conservatively (unsure, see module doc).
    """
    import torch

    sp, dev, block = plan.spec, plan.dev, plan.block
    grid = (-(-count // block),)
    prm = torch.tensor([_as_int64(start), *plan.params], dtype=torch.int64, device=dev)
    flags = torch.empty((plan.n_cand, count), dtype=torch.int8, device=dev)
    scalars = (count, len(sp.draws), sp.offset_start, sp.n_offsets, sp.gap_min, sp.n_gaps)
    with _device_context(dev):
        if plan.is_mt:
            scratch = torch.empty(grid[0] * plan.n_words * block, dtype=torch.int32, device=dev)
            plan.built.mt_kernel[grid](
                plan.obs, prm, scratch, flags, *scalars, sp.max_misses, plan.n_words, **plan.consts
            )
        else:
            plan.built.seed_kernel[grid](
                plan.obs, prm, flags, *scalars, sp.max_misses, **plan.consts
            )
    return flags


def gpu_flags(spec: ScanSpec, *, device: str | None = None, block: int | None = None) -> np.ndarray:
    """The kernel's raw per-candidate flags for a small scan, without CPU re-verification.

    Returns int8 ``[n_offsets * n_gaps, n_seeds]`` (see ``_launch``): for tests and debugging.
    """
    plan = _plan(spec, device, spec.n_seeds, block)
    parts = [
        _launch(plan, start, min(plan.batch, spec.stop - start)).cpu().numpy()
        for start in range(spec.seed_start, spec.stop, plan.batch)
    ]
    return np.concatenate(parts, axis=1)


@dataclass
class _Verifier:
    """Re-walks GPU-flagged seeds on the CPU and tallies agreement."""

    spec: ScanSpec
    walk_seed: Callable
    obs: np.ndarray
    p: np.ndarray
    size: int
    false_positives: int = 0
    missed: int = 0
    conservative: int = 0
    conservative_confirmed: int = 0

    def __post_init__(self) -> None:
        n_cand = self.spec.n_offsets * self.spec.n_gaps
        n_gaps = max(len(self.spec.draws) - 1, 0)
        self._states = [np.empty(self.size, np.uint64) for _ in range(4)]
        self._gaps_out = np.zeros(n_gaps, np.int64)
        self._rec = [np.zeros(n_cand, np.int64) for _ in range(3)]
        self._rec_gaps = np.zeros((n_cand, n_gaps), np.int64)
        self.cols: dict[str, list] = {
            k: [] for k in ("seed", "offset", "gap", "gaps", "forward_matches", "reverse_matches")
        }

    def verify(self, seed: int, cands: np.ndarray, flags: np.ndarray) -> None:
        """Record the CPU's survivors of ``seed``; compare with the GPU's (candidate, flag)s."""
        rec_off, rec_gap, rec_fwd = self._rec
        n = self.walk_seed(
            seed, self.obs, self.p, *self._states, self._gaps_out, *self._rec, self._rec_gaps
        )
        sp = self.spec
        cpu = {
            int((rec_off[k] - sp.offset_start) * sp.n_gaps + rec_gap[k] - sp.gap_min)
            for k in range(n)
        }
        exact = {int(c) for c, f in zip(cands, flags, strict=True) if f == 1}
        unsure = {int(c) for c, f in zip(cands, flags, strict=True) if f == 2}
        self.false_positives += len(exact - cpu)
        self.missed += len(cpu - exact - unsure)
        self.conservative += len(unsure)
        self.conservative_confirmed += len(unsure & cpu)
        self.cols["seed"] += [seed] * n
        self.cols["offset"] += rec_off[:n].tolist()
        self.cols["gap"] += rec_gap[:n].tolist()
        self.cols["gaps"] += [[]] * n
        self.cols["forward_matches"] += rec_fwd[:n].tolist()
        self.cols["reverse_matches"] += [0] * n


def triton_scan(
    spec: ScanSpec,
    *,
    device: str | None = None,
    batch: int = 1 << 22,
    progress: Progress | None = None,
    block: int | None = None,
) -> ScanResult:
    """Run a seed scan with the Triton kernels; every GPU survivor is re-verified on the CPU.

    ``device``: a torch device (default ``"cuda"``; ``"cpu"`` under ``TRITON_INTERPRET=1``).
    ``batch``: seeds per launch (capped so flags and MT scratch stay within 256 MiB).
    ``block``: seeds per kernel program (default 64 on a GPU, so the early exit, taken once
    every lane of a program has failed, triggers often).
    Raises NotImplementedError for what only the CPU executor runs (the caller falls back),
    ValueError for an invalid spec or a lazy-MT window past word 226, RuntimeError when no GPU
    backend is usable. Ctrl-C returns what was found so far (``complete=False``).
    """
    plan = _plan(spec, device, batch, block)
    import torch

    from gpu_executors.sieve.cpu import _kernels, _params

    walk_seed, _walk_state, _count_seeds, _count_states, size = _kernels(spec.gen, spec.draw)
    verifier = _Verifier(spec, walk_seed, spec.observed(), _params(spec), size)
    n_cand = plan.n_cand
    t0 = time.perf_counter()
    done = flagged = 0
    complete = True
    try:
        for start in range(spec.seed_start, spec.stop, plan.batch):
            count = min(plan.batch, spec.stop - start)
            flags = _launch(plan, start, count)
            # Compact on the device: only the (candidate, lane, flag) of passes come back.
            hits = torch.nonzero(flags)
            hit_flags = flags[hits[:, 0], hits[:, 1]].cpu().numpy()
            hits = hits.cpu().numpy()
            flagged += len(hits)
            order = np.lexsort((hits[:, 0], hits[:, 1]))  # by lane, then candidate
            lanes, firsts = np.unique(hits[order, 1], return_index=True)
            bounds = [*firsts.tolist(), len(order)]
            for k, lane in enumerate(lanes.tolist()):
                sel = order[bounds[k] : bounds[k + 1]]
                verifier.verify(start + lane, hits[sel, 0], hit_flags[sel])
            done = start + count - spec.seed_start
            if progress is not None:
                progress(done * n_cand, spec.candidates, len(verifier.cols["seed"]))
    except KeyboardInterrupt:
        complete = False
    seconds = time.perf_counter() - t0
    scanned = done * n_cand
    frac = scanned / spec.candidates if spec.candidates else 1.0
    extra: dict[str, Any] = {
        "reverified_on_cpu": True,
        "gpu_false_positives": verifier.false_positives,
        "gpu_missed_on_flagged_seeds": verifier.missed,
        "gpu_conservative_passes": verifier.conservative,
        "gpu_conservative_confirmed": verifier.conservative_confirmed,
        "gpu_flagged_candidates": flagged,
        "device": str(plan.dev),
        "block": plan.block,
        "batch": plan.batch,
    }
    if plan.is_mt:
        extra["lazy_mt_words"] = plan.n_words
    return ScanResult(
        spec,
        survivors_frame(spec, verifier.cols),
        scanned,
        seconds,
        plan.backend,
        spec.null_expected() * frac,
        complete=complete,
        extra=extra,
    )
