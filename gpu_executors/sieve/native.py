"""The native MT19937 pre-filter: ``mt_lazy.c``, built with gcc on first use, loaded with ctypes.

Why C: the lazy MT filter's cost is the seeding recurrence (~400 steps per seed for
init_genrand, ~1250 for CPython's init_by_array), which numba runs in 64-bit lanes; gcc's
vector extensions run it in 32-bit lanes, 16 per AVX-512 vector, 16 vectors in flight (measured
~3x numba's rate single-threaded; bench/peer_bench.py compares it with php_mt_seed). The
library is compiled with ``-O3 -march=native`` into the kernel cache's folder, named by a digest
of the source, the flags, the compiler and the CPU, so it is built once per machine and code.
Anything missing (no gcc, a failed build, ``SEEDSIEVE_NATIVE=0``) leaves the numba kernel
(``lanes.mt_lanes``) in charge, which flags what the C kernel flags and more (seeds whose draws
reject a word, which the C kernel follows), and ``why_not_native`` says why. python_random has
no numba lazy kernel: without the C one it keeps the generic walk. Threads: the range is split
over ``numba.get_num_threads()`` Python threads; ctypes releases the GIL for each call.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numba
import numpy as np

from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import check_compatible, mask_for, parse_draw

SOURCE = Path(__file__).with_name("mt_lazy.c")
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC", "-std=gnu11")
ENV_SWITCH = "SEEDSIEVE_NATIVE"  # "0" keeps the numba kernels
ALWAYS = 1 << 32  # a limit no 32-bit word exceeds: the draw never rejects
MT_LAZY_WORDS = 227  # words 0..226 of MT19937 need no twisted word, only the seeding's words
# Words kept beyond the last judged one, so a lane whose draw rejected a word is judged exactly
# (mt_lazy.c's rescue) instead of flagged for the generic walk; only for draws that reject more
# than REJECT_RARE of their words (randrange:1000 rejects 2.3%, mt_rand:0:999 7e-8).
EXTRA_WORDS = 16
REJECT_RARE = 1e-6
MODE_MOD, MODE_MUL, MODE_LEGACY = 0, 1, 2

_i64 = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")


def _cpu_name() -> str:
    """The CPU's model and instruction-set flags: a ``-march=native`` build is only reused on a
    CPU with the same ones (a VM's model name alone, e.g. "AMD EPYC", says too little)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    keep = {}
    for line in lines:
        key = line.split(":", 1)[0].strip()
        if key in ("model name", "flags") and key not in keep:
            keep[key] = line
    return "\n".join(keep.values()) or platform.machine()


def _build(folder: Path) -> Path:
    """Compile the library into ``folder`` unless this source/flags/CPU's build is there."""
    compiler = shutil.which(os.environ.get("CC", "gcc"))
    if compiler is None:
        raise RuntimeError("no C compiler (gcc, or $CC) on PATH")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256(
        b"\0".join(
            [SOURCE.read_bytes(), " ".join(FLAGS).encode(), version.encode(), _cpu_name().encode()]
        )
    ).hexdigest()[:16]
    target = folder / f"mt_lazy-{digest}.so"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=folder)
    os.close(fd)
    try:
        done = subprocess.run(
            [compiler, *FLAGS, str(SOURCE), "-o", tmp, "-lm"], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{compiler} failed: {done.stderr.strip()[-500:]}")
        os.replace(tmp, target)  # atomic: a concurrent build of the same digest is identical
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@cache
def _library() -> tuple[ctypes.CDLL | None, str]:
    """The loaded library, or None and why not."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None, f"{ENV_SWITCH}=0"
    from gpu_executors.kernel_cache import locate

    try:
        lib = ctypes.CDLL(str(_build(locate().folder / "native")))
    except (OSError, RuntimeError) as err:
        return None, f"native build unavailable: {err}"
    lib.mt_lazy_scan.restype = ctypes.c_int
    lib.mt_lazy_scan.argtypes = [
        ctypes.c_uint64, ctypes.c_int64, _i64, _i64, ctypes.c_void_p, _i64, ctypes.c_int64,
        _i64, _i64, ctypes.c_int64, ctypes.c_int64, _i64, ctypes.c_int, ctypes.c_int,
        ctypes.c_int64,
    ]  # fmt: skip
    lib.mt_lazy_group.restype = ctypes.c_int
    lib.mt_lazy_group.argtypes = []
    lib.mt_judge.restype = None
    lib.mt_judge.argtypes = [
        np.ctypeslib.ndpointer(np.uint32, flags="C_CONTIGUOUS"), ctypes.c_int64, _i64, _i64,
        np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS"),
        np.ctypeslib.ndpointer(np.uint8, flags="C_CONTIGUOUS"),
    ]  # fmt: skip
    return lib, ""


def why_not_native() -> str:
    """Empty when the native kernels load, else the reason the numba ones run."""
    return _library()[1]


def value_params(gen: Generator, draw_text: str) -> np.ndarray | None:
    """``mt_lazy.c``'s value parameters (shift, mask, mode, m, base, limit) for this draw on a
    32-bit MT word, mirroring draws.py's ``word_value``; None for a draw it does not express."""
    spec = parse_draw(draw_text)
    check_compatible(gen, spec)
    kind, p = spec.kind, spec.params
    full = 0xFFFFFFFF
    if kind == "mod":
        row = (0, full, MODE_MOD, p[0], 0, ALWAYS)
    elif kind == "randint":
        mask = mask_for(p[0] - 1)
        row = (0, mask, MODE_MOD, mask + 1, 0, p[0] - 1)
    elif kind == "randrange":
        k = p[0].bit_length()
        if k > 32:  # two words per draw: never certain from one word
            return None
        row = (32 - k, full, MODE_MOD, 1 << k, 0, p[0] - 1)
    elif kind == "mt_rand":
        lo, hi = p
        span = hi - lo + 1
        if gen.php_legacy_range:
            row = (1, full, MODE_LEGACY, span, lo, ALWAYS)
        else:
            pow2 = span & (span - 1) == 0
            row = (0, full, MODE_MOD, span, lo, ALWAYS if pow2 else full - full % span - 1)
    elif kind == "nextint":
        bound = p[0]
        if bound & (bound - 1) == 0:
            row = (1, 0x7FFFFFFF, MODE_MUL, bound, 0, ALWAYS)
        else:
            row = (1, 0x7FFFFFFF, MODE_MOD, bound, 0, (1 << 31) // bound * bound - 1)
    else:
        return None
    return np.array(row, dtype=np.int64)


def reject_rate(vp: np.ndarray) -> float:
    """The share of uniform words the draw rejects (``value_params``' shift, mask and limit)."""
    shift, mask, _mode, _m, _base, limit = (int(x) for x in vp)
    top = (0xFFFFFFFF >> shift) & mask
    return max(0, top - limit) / (top + 1)


def judge_words(gen: Generator, draw_text: str, words: np.ndarray, want: np.ndarray):
    """(missed, rejected) per word as the native filter judges it (for the tests)."""
    lib, why = _library()
    if lib is None:
        raise RuntimeError(why)
    vp = value_params(gen, draw_text)
    if vp is None:
        raise ValueError(f"{draw_text} has no native form")
    w = np.ascontiguousarray(words, dtype=np.uint32)
    missed = np.zeros(w.size, np.int32)
    rejected = np.zeros(w.size, np.uint8)
    lib.mt_judge(w, w.size, vp, np.ascontiguousarray(want, dtype=np.int64), missed, rejected)
    return missed, rejected


def native_mt_filter(gen: Generator, draw_text: str, needed_words, *, by_array: bool = False):
    """The native filter for this pair (prefilters' ``Filter`` signature), or None when it
    cannot run here. ``needed_words(p)`` gives the word indices and their rows. ``by_array``:
    seeded as CPython's ``random.seed(n)`` for n < 2^32 (init_by_array with a one-word key),
    else by init_genrand."""
    lib, _why = _library()
    vp = value_params(gen, draw_text)
    if lib is None or vp is None:
        return None
    legacy = int(gen.mt_legacy_twist)
    rescues = reject_rate(vp) > REJECT_RARE
    group = lib.mt_lazy_group()  # seeds per group: threads split the range on these boundaries

    def run(start, count, obs, p, flags, n_blocks):
        if flags.dtype != np.uint8 or not flags.flags.c_contiguous or flags.size < count:
            raise ValueError("flags must be a contiguous uint8 array of at least count bytes")
        ks, krow = needed_words(p)
        avail = min(MT_LAZY_WORDS, int(ks[-1]) + 1 + EXTRA_WORDS) if rescues else 0
        words = {int(k) for k in ks} | set(range(avail))
        need = sorted({k + d for k in words for d in (0, 1, 397)})
        slot = np.full(need[-1] + 1, -1, np.int64)
        slot[need] = np.arange(len(need))
        obs = np.ascontiguousarray(obs, dtype=np.int64)
        p = np.ascontiguousarray(p, dtype=np.int64)
        n_groups = (count + group - 1) // group
        parts = max(1, min(numba.get_num_threads(), n_groups))
        bounds = [min(count, (n_groups * t // parts) * group) for t in range(parts + 1)]
        base = flags.ctypes.data

        def one(t: int) -> int:
            lo, hi = bounds[t], bounds[t + 1]
            if hi <= lo:
                return 0
            return lib.mt_lazy_scan(
                int(start) + lo, hi - lo, obs, p, base + lo, ks, ks.size, krow, slot,
                need[-1], len(need), vp, legacy, int(by_array), avail,
            )  # fmt: skip

        if parts == 1:
            codes = [one(0)]
        else:
            with ThreadPoolExecutor(parts) as pool:
                codes = list(pool.map(one, range(parts)))
        if any(codes):
            raise MemoryError("mt_lazy_scan could not allocate its scratch rows")

    return run
