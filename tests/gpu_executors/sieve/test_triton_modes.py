"""Every (generator, draw, mode) the Triton kernels claim equals the CPU, candidate for candidate.

Under Triton's CPU interpreter (``TRITON_INTERPRET=1``, set before triton is imported), the raw
per-candidate flags of ``gpu_flags`` (no CPU re-verification) must equal the survivors of
``reference_scan``, the plain CPU sieve, on a tiny range of seeds (or states) around a planted
one, in each mode: seed scans with constant gaps, seed scans with variable gaps (every gap
strategy, the default, kept per candidate as the CPU keeps them; and one strict strategy alone),
and state scans (forward from the anchor, backward with the inverse step) for the
generators whose state is one integer.

The claimed matrix comes from ``routing`` (generators and draws) with one parameter per draw
kind that rejects some words, so the exact retry path runs. By default each generator runs
every mode with one draw and each draw kind runs every mode on one generator (the kernels
specialise on the step and on the draw kind independently); the remaining cells of the product
are marked slow (``make test`` runs them, ``make test-fast`` skips them).
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"  # before triton / the executor are imported

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[dev]')")
pytest.importorskip("torch", reason="torch is not installed")

from gpu_executors.prng.draws import check_compatible, make_drawer, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.spec import ScanSpec
from gpu_executors.sieve.triton.launch import gpu_flags, n_candidates
from gpu_executors.sieve.triton.routing import LAZY_MT, STEPPED, TRITON_DRAWS, TRITON_GENERATORS
from gpu_executors.sieve.triton.scan import triton_scan

# One parameter per claimed draw kind; each but mod rejects some words (a quarter to a half).
DRAW_OF_KIND = {
    "mod": "mod:1000",
    "nextint": "nextint:1610612736",
    "randint": "randint:513",
    "randrange": "randrange:600",
    "mt_rand": "mt_rand:0:1073741824",
}
assert set(DRAW_OF_KIND) == set(TRITON_DRAWS), "a claimed draw kind has no test parameter"
MODES = ("seed", "variable", "state")
OFFSET, GAP, ANCHOR, N_DRAWS = 2, 1, 3, 8
VARIABLE_GAPS = (0, 2, 1, 0, 2, 1, 1)  # jumps of 2: beyond steady's tolerance (1)
STEADY_GAPS = (0, 1, 1, 2, 2, 1, 1)  # each gap within 1 of the last: steady follows it
SEED = 3_000_017
SEED_64 = (1 << 40) + 98_765  # where seeds are wider than 32 bits: the 64-bit seeding paths


def _compatible(gen_name: str, draw: str) -> bool:
    try:
        check_compatible(get_generator(gen_name), parse_draw(draw))
    except ValueError:
        return False
    return True


# State scans need a state that packs into one integer and an inverse step (``ScanSpec``).
STATE_SCANNED = {
    g for g in TRITON_GENERATORS if get_generator(g).unpack and get_generator(g).prev
}


def _claimed() -> list[tuple[str, str, str]]:
    """Every (generator, draw, mode) the kernels claim."""
    return [
        (g, d, m)
        for g in TRITON_GENERATORS
        for d in DRAW_OF_KIND.values()
        for m in MODES
        if _compatible(g, d) and (m != "state" or g in STATE_SCANNED)
    ]


CLAIMED = _claimed()
# Default: each generator with its first compatible draw, each draw kind on pcg32 (32-bit words,
# every draw applies) and on mt19937 (the lazy kernel), in every mode.
_FIRST = {g: next(d for gg, d, _ in CLAIMED if gg == g) for g in TRITON_GENERATORS}
DEFAULT = {
    (g, d, m) for g, d, m in CLAIMED if d == _FIRST[g] or g in ("pcg32", "mt19937")
}
MATRIX = [
    pytest.param(*cell, marks=() if cell in DEFAULT else pytest.mark.slow) for cell in CLAIMED
]


def _planted(
    gen_name: str,
    draw: str,
    mode: str,
    *,
    planted_gaps: tuple[int, ...] = VARIABLE_GAPS,
    strategies: tuple[str, ...] | None = None,
    max_misses: int = 0,
    corrupt: tuple[int, ...] = (),
) -> tuple[ScanSpec, tuple[int, int, int]]:
    """A tiny scan around a planted candidate, and the candidate as (seed, offset, gap).

    Variable gaps: ``planted_gaps`` between the draws, ``strategies`` (default: all); the draws
    at ``corrupt`` are replaced by a value the generator did not draw (planted misses)."""
    gen = get_generator(gen_name)
    drawer = make_drawer(gen, parse_draw(draw))
    seed = SEED_64 if gen.seed_bits > 32 else SEED
    state = gen.seeded(seed)
    for _ in range(OFFSET):
        gen.next(state)
    gaps = planted_gaps if mode == "variable" else (GAP,) * (N_DRAWS - 1)
    obs, anchor_state = [], None
    for i in range(N_DRAWS):
        if i == ANCHOR:
            anchor_state = int(state[0])
        obs.append(int(drawer(state)))
        for _ in range(gaps[i] if i < N_DRAWS - 1 else 0):
            gen.next(state)
    for i in corrupt:
        obs[i] = obs[i] + 1 if obs[i] < 2 else obs[i] - 1  # in range for any draw function
    common = {"generator": gen_name, "draw": draw, "draws": tuple(obs), "gap_max": 2,
              "max_misses": max_misses}
    if mode == "state":
        width = gen.state_bits or 64
        lo = min(max(anchor_state - 20, 0), (1 << width) - 32)
        spec = ScanSpec(**common, seed_start=lo, seed_stop=lo + 32, mode="state", anchor=ANCHOR)
        return spec, (anchor_state, 0, GAP)
    spec = ScanSpec(
        **common, seed_start=seed - 20, seed_stop=seed + 12, offset_stop=4,
        variable_gap=mode == "variable",
        **({"gap_strategies": strategies} if strategies else {}),
    )
    return spec, (seed, OFFSET, -1 if mode == "variable" else GAP)


def _flag_set(spec: ScanSpec, flags: np.ndarray) -> set[tuple[int, int, int]]:
    """Flags back to (seed, offset, gap), the inverse of ``launch.candidate_index``."""
    out = set()
    for c, lane in zip(*np.nonzero(flags), strict=True):
        seed, c = spec.seed_start + int(lane), int(c)
        if spec.mode == "state":
            out.add((seed, 0, spec.gap_min + c))
        elif spec.variable_gap:
            out.add((seed, spec.offset_start + c, -1))
        else:
            out.add((seed, spec.offset_start + c // spec.n_gaps, spec.gap_min + c % spec.n_gaps))
    return out


@pytest.mark.parametrize(("gen_name", "draw", "mode"), MATRIX)
def test_kernel_equals_cpu_per_candidate(gen_name: str, draw: str, mode: str) -> None:
    spec, plant = _planted(gen_name, draw, mode)
    flags = gpu_flags(spec)
    assert flags.shape == (n_candidates(spec), spec.n_seeds)
    assert set(np.unique(flags).tolist()) <= {0, 1}  # exact: no unsure lanes in these windows
    expected = set(reference_scan(spec).survivors.select("seed", "offset", "gap").iter_rows())
    assert _flag_set(spec, flags) == expected
    # Greedy may take a smaller matching gap than the planted one; a state scan's backward walk
    # assumes one word per earlier draw (as the CPU does), so a rejection there loses the plant.
    if mode == "seed" or (mode == "state" and draw == "mod:1000"):
        assert plant in expected


def _kernel_equals_reference(spec: ScanSpec) -> set[tuple[int, int, int]]:
    """The kernel's raw flags equal the reference's survivors; returns them."""
    flags = gpu_flags(spec)
    assert set(np.unique(flags).tolist()) <= {0, 1}
    expected = set(reference_scan(spec).survivors.select("seed", "offset", "gap").iter_rows())
    assert _flag_set(spec, flags) == expected
    return expected


@pytest.mark.parametrize(
    ("gen_name", "draw"),
    [("pcg32", "mod:1000"), ("xoshiro256pp", "mod:1000"), ("mt19937", "mod:1000"),
     ("pcg32", "randint:513"), ("mt19937", "randint:513")],
)
def test_one_strict_strategy_equals_cpu_per_candidate(gen_name: str, draw: str) -> None:
    """``steady`` alone (tolerance 1 around the last gap) flags what the reference keeps. Without
    rejections the plant is unambiguous: steady follows gaps that change by one at a time and
    loses gaps that jump by two, which ``wide`` keeps. (A rejected word retried into the next one
    makes two gaps land on the same draw, and the smallest is taken: the plant's gaps are then
    not the ones walked, so only the equality is asserted.)"""
    exact = parse_draw(draw).kind == "mod"
    spec, plant = _planted(gen_name, draw, "variable", planted_gaps=STEADY_GAPS,
                           strategies=("steady",))
    kept = _kernel_equals_reference(spec)
    assert plant in kept or not exact
    spec, plant = _planted(gen_name, draw, "variable", strategies=("steady",))
    assert plant not in _kernel_equals_reference(spec) or not exact
    wide = _kernel_equals_reference(ScanSpec(**{**spec.__dict__, "gap_strategies": ("wide",)}))
    assert plant in wide or not exact


@pytest.mark.parametrize("gen_name", ["pcg32", "mt19937"])
def test_consecutive_miss_limit_and_strategy_column(gen_name: str) -> None:
    """Two planted misses in a row (two allowed in all): steady (at most one in a row) loses the
    plant, drift (two) keeps it; ``triton_scan`` records drift for it, and its table is the
    CPU's."""
    # the gaps around the misses stay at 1, so a miss taken at the expected gap stays in step
    kw = {"planted_gaps": (0, 1, 1, 1, 1, 1, 2), "max_misses": 2, "corrupt": (3, 4)}
    spec, plant = _planted(gen_name, "mod:1000", "variable", strategies=("steady",), **kw)
    assert plant not in _kernel_equals_reference(spec)
    spec, plant = _planted(gen_name, "mod:1000", "variable", strategies=("steady", "drift"), **kw)
    assert plant in _kernel_equals_reference(spec)
    gpu = triton_scan(spec)
    assert gpu.extra["gpu_false_positives"] == 0
    assert_frame_equal(gpu.survivors, cpu_scan(spec).survivors)
    row = gpu.survivors.filter((pl.col("seed") == plant[0]) & (pl.col("offset") == plant[1]))
    assert row["strategy"].to_list() == ["drift"]
    assert row["forward_matches"].to_list() == [N_DRAWS - 2]


def test_matrix_covers_every_claimed_generator_draw_and_mode() -> None:
    """The default cells touch every generator and draw kind in each of its modes."""
    assert {g for g, _, _ in DEFAULT} == set(TRITON_GENERATORS)
    assert {d for _, d, _ in DEFAULT} == set(DRAW_OF_KIND.values())
    for g in TRITON_GENERATORS:
        modes = {m for gg, _, m in DEFAULT if gg == g}
        assert modes == (set(MODES) if g in STATE_SCANNED else {"seed", "variable"}), g
    assert set(STEPPED) > STATE_SCANNED and not STATE_SCANNED & set(LAZY_MT)
    assert len(STATE_SCANNED) == 10  # every one-word generator


@pytest.mark.parametrize(
    ("gen_name", "draw", "mode"),
    [("pcg32", "randint:1000", "variable"), ("pcg32", "randint:6", "state"),
     ("mt19937", "randint:1000", "variable")],
)
def test_triton_scan_equals_cpu_scan(gen_name: str, draw: str, mode: str) -> None:
    """End to end with chance survivors (max_misses 1): the re-walked table is the CPU's,
    with its gap sequences, strategies (every one, the default) and reverse matches, and the
    kernel flagged nothing the CPU refutes."""
    spec, _plant = _planted(gen_name, draw, mode)
    spec = ScanSpec(**{**spec.__dict__, "max_misses": 1})
    gpu = triton_scan(spec)
    assert gpu.backend == "triton-interpret"
    assert gpu.extra["gpu_false_positives"] == 0
    assert gpu.extra["gpu_missed_on_flagged_seeds"] == 0
    cpu = cpu_scan(spec)
    assert gpu.survivors.height > 0
    assert_frame_equal(gpu.survivors, cpu.survivors)
    assert gpu.candidates_scanned == cpu.candidates_scanned


def test_inverse_constants_are_the_registry_inverses() -> None:
    """``device.back``'s literals are pow(a, -1, m) of the generators' multipliers."""
    from pathlib import Path

    from gpu_executors.sieve.triton import device

    src = Path(device.__file__).read_text()  # (jitted once the kernels are built)
    src = src[src.index("def back(") : src.index("def mt_partial(")]
    for a, m in [(0x5DEECE66D, 1 << 48), (1103515245, 2**31 - 1), (48271, 2**31 - 1),
                 (214013, 1 << 32), (6364136223846793005, 1 << 64),
                 (0x2545F4914F6CDD1D, 1 << 64)]:
        assert f"{pow(a, -1, m):#X}".replace("0X", "0x") in src, hex(a)
