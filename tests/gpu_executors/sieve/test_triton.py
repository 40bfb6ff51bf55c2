"""The Triton executor under Triton's CPU interpreter: bit-exact with the numba registry.

``TRITON_INTERPRET=1`` is set before triton or the executor is imported, so the kernels run on
the CPU with torch CPU tensors. The interpreter is slow and numba compiles one CPU kernel per
(generator, draw) pair (``cpu_scan`` ~4 s, the re-verifying ``walk_seed`` ~1 s), so by default:

- every supported (generator, draw) pair (a generator that differs from another only in its
  seeding: one draw), plus draws that reject a quarter to a half of their words, is checked at
  the kernel level: ``gpu_flags`` (raw per-candidate flags, no CPU re-verification) must equal
  ``reference_scan``'s survivors, candidate for candidate, on a planted seed (offset 2, gap 1)
  in a window of offsets 0..3 and gaps 0..2;
- ``triton_scan`` is compared with ``cpu_scan`` end to end (planted seed, max_misses=1, random
  draws with 5-20 expected chance survivors) on one stepping and one lazy-MT pair;
- a few kernel variants are compiled ahead of time for CUDA sm_90 and ROCm gfx942 by the real
  compiler, which is stricter about types than the interpreter.

``SEEDSIEVE_FULL_MATRIX=1`` runs every pair at both levels and compiles every variant.
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"  # before triton / the executor are imported

import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
from polars.testing import assert_frame_equal

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[dev]')")
pytest.importorskip("torch", reason="torch is not installed")

from gpu_executors.prng.draws import check_compatible, generate_draws, make_drawer, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.spec import ScanResult, ScanSpec
from gpu_executors.sieve.triton.availability import triton_available
from gpu_executors.sieve.triton.launch import SUPPORTED_GENERATORS, gpu_flags
from gpu_executors.sieve.triton.scan import triton_scan

FULL_MATRIX = os.environ.get("SEEDSIEVE_FULL_MATRIX") == "1"
DRAWS = ("mod:1000", "nextint:1000", "nextint:1024", "randint:1000", "mt_rand:1:1000")
PLANT_OFFSET, PLANT_GAP, N_DRAWS = 2, 1, 8


def _compatible(gen_name: str, draw: str) -> bool:
    try:
        check_compatible(get_generator(gen_name), parse_draw(draw))
    except ValueError:
        return False
    return True


MATRIX = [(g, d) for g in SUPPORTED_GENERATORS for d in DRAWS if _compatible(g, d)]
# Generators whose kernel differs from another's only by seeding (same step, same draw code):
# by default they run with one draw; FULL_MATRIX runs them with all.
TWINS = {"java_lcg": "nextint:1024", "pcg32_original": "mod:1000", "php_mt_rand": "mt_rand:1:1000"}
KERNEL_MATRIX = MATRIX if FULL_MATRIX else [(g, d) for g, d in MATRIX if TWINS.get(g, d) == d]
# Draws that reject often, so the exact retry path (and its word shifts) is exercised.
REJECTING = [
    ("java_random", "nextint:1610612736"),  # r >= bound rejected: 25%
    ("lcg32", "nextint:1610612736"),
    ("xorshift64", "randint:513"),  # mask 1023, v > 512 rejected: ~50%
    ("pcg32_original", "mt_rand:0:1073741824"),  # PHP limit: ~25%
    ("mt19937", "randint:513"),
    ("php_mt_rand", "mt_rand:0:1073741824"),
    ("php_mt_rand_legacy", "randint:513"),
    ("xorshift32", "randint:1"),  # randint:1 consumes no word
]
# End to end (triton_scan vs cpu_scan) on two pairs, so numba compiles two CPU kernels: the
# stepping kernel and the lazy-MT kernel, each with a draw that rejects a quarter of its words.
STEP_PAIR = ("pcg32", "randint:6")
MT_PAIR = ("mt19937", "randint:6")
END_TO_END = MATRIX if FULL_MATRIX else [STEP_PAIR, MT_PAIR]


def _planted_seed(gen_name: str) -> int:
    """A seed beyond 32 bits where the generator takes one (checks the 64-bit seed path)."""
    return (1 << 40) + 98_765 if get_generator(gen_name).seed_bits > 32 else 3_000_017


def _stepped_draws(gen_name: str, draw: str, seed: int) -> list[int]:
    """The planted history by stepping ``next`` in Python (spares ``generate_draws``'s compile)."""
    gen = get_generator(gen_name)
    drawer = make_drawer(gen, parse_draw(draw))
    state = gen.seeded(seed)
    for _ in range(PLANT_OFFSET):
        gen.next(state)
    out = []
    for i in range(N_DRAWS):
        for _ in range(PLANT_GAP if i else 0):
            gen.next(state)
        out.append(int(drawer(state)))
    return out


def _planted_spec(gen_name: str, draw: str, *, python_plant: bool = False) -> tuple[ScanSpec, int]:
    """Seeds around a planted one, offsets 0..3, gaps 0..2; the plant is (seed, 2, 1)."""
    gen, seed = get_generator(gen_name), _planted_seed(gen_name)
    if python_plant:
        obs = _stepped_draws(gen_name, draw, seed)
    else:
        obs = generate_draws(
            gen, parse_draw(draw), seed, N_DRAWS, offset=PLANT_OFFSET, gaps=PLANT_GAP
        )
    spec = ScanSpec(
        gen_name,
        draw,
        tuple(int(v) for v in obs),
        seed_start=seed - 40,
        seed_stop=seed + 24,
        offset_stop=4,
        gap_max=2,
    )
    return spec, seed


def _flag_set(spec: ScanSpec, flags: np.ndarray) -> set[tuple[int, int, int]]:
    cands, lanes = np.nonzero(flags)
    return {
        (
            spec.seed_start + int(lane),
            spec.offset_start + int(c) // spec.n_gaps,
            spec.gap_min + int(c) % spec.n_gaps,
        )
        for c, lane in zip(cands, lanes, strict=True)
    }


def _survivor_set(result: ScanResult) -> set[tuple[int, int, int]]:
    return set(result.survivors.select("seed", "offset", "gap").iter_rows())


def _assert_clean(result: ScanResult) -> None:
    assert result.backend == "triton-interpret"
    assert result.complete
    assert result.extra["reverified_on_cpu"] is True
    assert result.extra["gpu_false_positives"] == 0
    assert result.extra["gpu_missed_on_flagged_seeds"] == 0


def test_interpreter_is_available() -> None:
    ok, why = triton_available()
    assert ok, why
    assert "TRITON_INTERPRET" in why


@pytest.mark.parametrize(("gen_name", "draw"), KERNEL_MATRIX + REJECTING)
def test_kernel_flags_match_reference(gen_name: str, draw: str) -> None:
    """Every candidate's GPU flag equals the plain reference sieve's verdict, bit for bit."""
    spec, seed = _planted_spec(gen_name, draw, python_plant=True)
    flags = gpu_flags(spec)
    assert flags.shape == (spec.n_offsets * spec.n_gaps, spec.n_seeds)
    assert set(np.unique(flags).tolist()) <= {0, 1}  # exact everywhere: no unsure lanes
    expected = _survivor_set(reference_scan(spec))
    assert (seed, PLANT_OFFSET, PLANT_GAP) in expected
    assert _flag_set(spec, flags) == expected


@pytest.mark.parametrize(("gen_name", "draw"), END_TO_END)
def test_scan_equals_cpu_scan_on_planted_seed(gen_name: str, draw: str) -> None:
    spec, seed = _planted_spec(gen_name, draw)
    gpu = triton_scan(spec)
    _assert_clean(gpu)
    assert_frame_equal(gpu.survivors, cpu_scan(spec).survivors)
    assert (seed, PLANT_OFFSET, PLANT_GAP) in _survivor_set(gpu)
    assert gpu.candidates_scanned == spec.candidates


def test_max_misses_one() -> None:
    """One corrupted draw: the planted seed survives with N-1 matches, as on the CPU."""
    spec, seed = _planted_spec(*STEP_PAIR)
    draws = list(spec.draws)
    draws[3] = (draws[3] + 1) % 6
    spec = replace(spec, draws=tuple(draws), max_misses=1)
    gpu = triton_scan(spec)
    _assert_clean(gpu)
    assert_frame_equal(gpu.survivors, cpu_scan(spec).survivors)
    row = gpu.survivors.filter(
        (gpu.survivors["seed"] == seed) & (gpu.survivors["offset"] == PLANT_OFFSET)
    )
    assert row["gap"].to_list() == [PLANT_GAP]
    assert row["matches"].to_list() == [N_DRAWS - 1]


@pytest.mark.parametrize(
    ("gen_name", "draw", "n_draws", "max_misses"),
    [
        (*STEP_PAIR, 4, 0),
        (*MT_PAIR, 4, 0),
        (*STEP_PAIR, 6, 1),
    ],
)
def test_random_draws_cpu_gpu_agreement(
    gen_name: str, draw: str, n_draws: int, max_misses: int
) -> None:
    """Chance survivors (null expectation 5-20) are the same set on the CPU and the GPU."""
    spec_draw = parse_draw(draw)
    rng = np.random.default_rng(20240607)
    obs = tuple(
        int(v) for v in rng.integers(spec_draw.low, spec_draw.low + spec_draw.n_values, n_draws)
    )
    common = {"offset_stop": 4, "gap_max": 2, "max_misses": max_misses}
    one = ScanSpec(gen_name, draw, obs, seed_start=5_000, seed_stop=5_001, **common)
    n_seeds = int(np.ceil(10.0 / one.null_expected()))
    spec = ScanSpec(gen_name, draw, obs, seed_start=5_000, seed_stop=5_000 + n_seeds, **common)
    assert 5 <= spec.null_expected() <= 20
    gpu = triton_scan(spec)
    _assert_clean(gpu)
    cpu = cpu_scan(spec)
    assert gpu.survivors.height > 0
    assert_frame_equal(gpu.survivors, cpu.survivors)


def test_lazy_mt_marks_words_past_226_unsure() -> None:
    """Retries that run past the lazy words pass conservatively; the CPU re-walk decides."""
    (gen_name, draw), seed = MT_PAIR, 424_242
    gen = get_generator(gen_name)
    obs = generate_draws(gen, parse_draw(draw), seed, 12, offset=215)  # 3 rejections expected
    spec = ScanSpec(
        gen_name,
        draw,
        tuple(int(v) for v in obs),
        seed_start=seed - 8,
        seed_stop=seed + 8,
        offset_start=213,
        offset_stop=216,  # the last draw without rejections reads word 226
    )
    gpu = triton_scan(spec)
    _assert_clean(gpu)
    assert gpu.extra["lazy_mt_words"] == 227
    assert gpu.extra["gpu_conservative_passes"] >= 1
    assert gpu.extra["gpu_conservative_confirmed"] >= 1
    assert _survivor_set(gpu) == _survivor_set(reference_scan(spec))
    assert (seed, 215, 0) in _survivor_set(gpu)


def test_lazy_mt_routes_word_227_to_the_cpu() -> None:
    spec = ScanSpec("php_mt_rand", "mod:1000", (1,) * 12, seed_stop=64, offset_stop=217)
    with pytest.raises(NotImplementedError, match=r"words 0\.\.226"):
        triton_scan(spec)


def test_seeds_across_2_pow_63_and_up_to_2_pow_64() -> None:
    """The seed base travels as int64 bits: both ends of the 64-bit seed space."""
    for start in ((1 << 63) - 20, (1 << 64) - 40):
        spec = ScanSpec(
            "xorshift64", "mod:2", (1, 0, 1), seed_start=start, seed_stop=start + 40, offset_stop=2
        )
        assert _flag_set(spec, gpu_flags(spec)) == _survivor_set(reference_scan(spec))


def test_batches_blocks_and_progress() -> None:
    """Several launches of small programs give the same table; progress reaches the total."""
    spec, seed = _planted_spec(*STEP_PAIR)
    calls: list[tuple[int, int, int]] = []
    gpu = triton_scan(spec, batch=16, block=16, progress=lambda *a: calls.append(a))
    _assert_clean(gpu)
    assert gpu.extra["batch"] == 16
    assert len(calls) == spec.n_seeds // 16
    assert calls[-1][:2] == (spec.candidates, spec.candidates)
    assert (seed, PLANT_OFFSET, PLANT_GAP) in _survivor_set(gpu)


def test_gpu_pass_the_cpu_refutes_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong GPU flag never reaches the table: the CPU re-walk records, and counts it."""
    import gpu_executors.sieve.triton.scan as ts

    spec, seed = _planted_spec(*STEP_PAIR)
    launch = ts.launch

    def corrupted(plan, start, count):
        flags = launch(plan, start, count)
        flags[0, 0] = 1  # seed_start at offset 0, gap 0: not a survivor
        flags[1, 0] = 2  # an unsure pass at gap 1: conservative, not a false positive
        return flags

    monkeypatch.setattr(ts, "launch", corrupted)
    gpu = triton_scan(spec)
    assert gpu.extra["gpu_false_positives"] == 1
    assert gpu.extra["gpu_conservative_passes"] == 1
    assert gpu.extra["gpu_conservative_confirmed"] == 0
    assert _survivor_set(gpu) == {(seed, PLANT_OFFSET, PLANT_GAP)}


def test_import_needs_neither_triton_nor_dagster() -> None:
    """The CPU-only install imports the executor; ``triton_available`` explains, never raises."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["triton"] = None  # as if not installed
        import gpu_executors.sieve.backends
        import gpu_executors.sieve.triton.scan
        from gpu_executors.sieve.triton.availability import triton_available
        ok, why = triton_available()
        assert not ok and "not importable" in why, why
        assert "dagster" not in sys.modules
        print("ok")
        """
    )
    # TRITON_INTERPRET=1 gets past the device-node check to the import itself.
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]


def test_no_gpu_device_is_known_without_importing_torch() -> None:
    """On a machine with no GPU device node, ``auto`` picks the CPU without importing torch or
    triton (seconds of start-up on every CPU scan)."""
    script = textwrap.dedent(
        """
        import sys
        from gpu_executors.sieve.backends import gpu_status
        from gpu_executors.sieve.triton.availability import gpu_device_nodes
        ok, why = gpu_status("auto")
        if gpu_device_nodes():
            print("skip: this machine has a GPU device node")
        else:
            assert not ok and "no GPU device" in why, why
            assert "torch" not in sys.modules and "triton" not in sys.modules
            print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    if out.stdout.startswith("skip"):
        pytest.skip(out.stdout.strip())


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"generator": "glibc_rand"}, "routed to the CPU executor: generator glibc_rand: random_r"),
        ({"generator": "go_rand", "draw": "mod:10"}, "not ported yet"),
        ({"generator": "dotnet_random", "draw": "dotnet_next:10"}, "56-word"),
        ({"generator": "python_random"}, "init_by_array"),
        ({"draw": "randrange:4294967296"}, "two words per try"),
        ({"generator": "go_rand", "draw": "intn:10"}, "generator go_rand"),
        ({"mode": "state", "generator": "mt19937"}, "no state scan"),
    ],
)
def test_unsupported_raises_not_implemented(kw: dict, match: str) -> None:
    spec = ScanSpec(**{"generator": "java_random", "draw": "mod:1000", "draws": (1, 2, 3)} | kw)
    with pytest.raises(NotImplementedError, match=match):
        triton_scan(spec)


def test_kernels_compile_for_cuda_and_hip() -> None:
    """The real compiler (stricter than the interpreter) accepts the kernels for sm_90 and gfx942.

    A few variants by default (the rejecting draws, both MT twists); FULL_MATRIX: every
    generator step and every draw kind. Runs in a subprocess without ``TRITON_INTERPRET``.
    """
    script = textwrap.dedent(
        """
        import sys
        import triton
        from triton.backends import backends
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
        from gpu_executors.sieve.triton.kernels import build
        from gpu_executors.sieve.triton.launch import MAX_RETRIES, STEPPED

        built = build()
        assert not built.interpret
        seed, mt = built.seed_kernel, built.mt_kernel
        full = sys.argv[1] == "full"
        scalars = ["n_seeds", "n_draws", "off_start", "n_off", "gap_min", "n_gap", "max_misses",
                   "n_strat"]
        common = {"WORD32": False, "NO_WORD": False, "RETRIES": MAX_RETRIES, "BLOCK": 64,
                  "GAPS": "constant"}
        draws = [("nextint", True), ("randint", True), ("mt_rand", True), ("mt_rand_legacy", False)]
        if full:
            draws += [("mod", False), ("nextint_pow2", False), ("randint_full", False),
                      ("mt_rand_pow2", False)]
        if full:
            draws += [("randrange", True)]
        steps = list(STEPPED.values()) if full else [("pcg32", "pcg32"), ("lcg32", "lcg32"),
                                                      ("philox", "philox"),
                                                      ("splitmix64", "xoshiro256pp"),
                                                      ("seed_sequence_sfc64", "sfc64")]
        one_word = {"pcg32", "lcg32", "java48", "minstd", "msvc", "xorshift32",
                    "xorshift64star", "xorshift64mul"}
        variants = [(seed, {"SEEDING": a, "STEP": b, "SHIFT": 1, "DRAW": "nextint",
                            "REJECT": True, "MODE": mode, "GAPS": gaps})
                    for a, b in steps
                    for mode, gaps in (("seed", "constant"), ("seed", "variable"),
                                       ("state", "constant"))
                    if mode == "seed" or b in one_word]
        for draw, rej in draws:
            variants.append((seed, {"SEEDING": "java_scramble", "STEP": "java48", "SHIFT": 1,
                                    "DRAW": draw, "REJECT": rej, "MODE": "seed"}))
            variants.append((mt, {"LEGACY": draw == "mt_rand_legacy", "DRAW": draw,
                                  "REJECT": rej}))
        variants.append((mt, {"LEGACY": False, "DRAW": "randint", "REJECT": True,
                              "GAPS": "variable"}))
        targets = [t for name, t in (("nvidia", GPUTarget("cuda", 90, 32)),
                                     ("amd", GPUTarget("hip", "gfx942", 64))) if name in backends]
        assert targets, "this triton build has neither the NVIDIA nor the AMD backend"
        for target in targets:
            for kernel, cx in variants:
                cx = {**common, **cx}
                sig = {"obs_ptr": "*i64", "prm_ptr": "*i64"}
                sig |= {"scratch_ptr": "*i32"} if kernel is mt else {}
                sig |= {"flag_ptr": "*i8"} | {k: "i32" for k in scalars}
                sig |= {"n_words": "i32"} if kernel is mt else {"anchor": "i32"}
                sig |= {k: "constexpr" for k in cx}
                triton.compile(ASTSource(fn=kernel, signature=sig, constexprs=cx), target=target)
        print("compiled", len(variants), "variants for", [t.backend for t in targets])
        """
    )
    env = {**os.environ, "TRITON_INTERPRET": "0", "TRITON_DEFAULT_FP_FUSION": "0"}
    mode = "full" if FULL_MATRIX else "quick"
    out = subprocess.run(
        [sys.executable, "-c", script, mode], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert "compiled" in out.stdout, out.stdout
