"""What the Triton kernels run, and what is routed to the CPU executor with the reason why.

Every generator and draw function of the registry is in exactly one table here: claimed by a
kernel, or routed to the CPU with a reason (``tests/gpu_executors/sieve/test_triton_routing``
fails when one is added to the registry without being placed). ``cpu_route`` is the reason a
given scan goes to the CPU, or None when the kernels cover it; it needs no triton, so a
CPU-only machine records the same routing in the survivors' metadata as a GPU machine would.
"""

from __future__ import annotations

from gpu_executors.prng.draws import parse_draw
from gpu_executors.prng.generators import GENERATORS
from gpu_executors.sieve.prefilters import MT_LAZY_WORDS
from gpu_executors.sieve.spec import ScanMode, ScanSpec

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
    # Four-word states (``device.step4``): seed scans only, as on the CPU (no unpack).
    "xorshift128": ("xorshift128", "xorshift128"),
    "xoshiro256pp": ("splitmix64", "xoshiro256pp"),
    "xoshiro256pp_original": ("fill3", "xoshiro256pp"),
    "sfc64": ("seed_sequence_sfc64", "sfc64"),
    "sfc64_original": ("sfc_fill", "sfc64"),
    "philox4x32": ("philox", "philox"),
    "philox4x32_original": ("philox", "philox_original"),
}
# Lazy MT19937: registry name -> legacy twist (PHP 5.2.1-7.0 takes the low bit of mt[k]).
LAZY_MT: dict[str, bool] = {g.name: g.mt_legacy_twist for g in GENERATORS.values() if g.mt_genrand}
TRITON_GENERATORS: tuple[str, ...] = (*STEPPED, *LAZY_MT)

# Generators the kernels do not run, and why.
CPU_GENERATORS: dict[str, str] = {
    "python_random": (
        "MT19937 seeded by init_by_array: the key is mixed through all 624 words in two "
        "sequential passes (about 1,250 steps) before the first output, so no lane can compute "
        "its early words lazily as the init_genrand kernel does; a lane would need the whole "
        "state (2.5 KB) in scratch memory and a full twist per seed. Not ported; the CPU "
        "runs it"
    ),
    "glibc_rand": (
        "random_r's 31-word additive ring, 310 words discarded per seed: a lane indexes its ring "
        "by a running position, so the ring would live in per-lane scratch memory (as lazy "
        "MT19937's words do) for 341 + window words per seed; not ported yet, and the CPU's "
        "glibc-lanes prefilter covers it"
    ),
    "go_rand": (
        "Go's rngSource: a 607-word ring of Park-Miller values XORed with a 607-word constant "
        "table; its early words have a lazy form (the CPU's go-lazy prefilter computes only "
        "them) that a kernel could take from the table in global memory, but it is not ported "
        "yet"
    ),
    "dotnet_random": (
        ".NET Random's 56-word subtractive table, mixed by four passes over all 55 words at "
        "seeding (every word depends on every other) and then read at running positions: per-"
        "lane scratch memory, not ported yet; the CPU's dotnet-lanes prefilter covers it"
    ),
}

TRITON_DRAWS: tuple[str, ...] = ("mod", "nextint", "randint", "randrange", "mt_rand")
_GO_WORDS = "reads Go rand.Source's 63-bit words; only go_rand makes them, and it runs on the CPU"
_DOTNET_WORDS = (
    "scales .NET InternalSample() words; only dotnet_random makes them, and it runs on the CPU"
)
CPU_DRAWS: dict[str, str] = {
    "intn": _GO_WORDS,
    "int63n": _GO_WORDS,
    "dotnet_next": _DOTNET_WORDS,
    "dotnet_range": _DOTNET_WORDS,
}
RANDRANGE_TWO_WORDS = (
    "randrange:{n}: getrandbits(33) takes two words per try; the kernels draw from one word"
)
# Variable-gap strategies the kernels walk (``walks.strategy_walk`` reads each one's (max
# consecutive misses, tolerance) from ``strategies.RULES``): all of them. A strategy added to
# ``GapStrategy`` is routed to the CPU until it is placed here (``test_triton_routing``).
VARIABLE_GAP_RULES: tuple[str, ...] = ("steady", "drift", "wide", "greedy")


def cpu_route(spec: ScanSpec) -> str | None:
    """Why ``spec`` runs on the CPU executor, or None when the Triton kernels cover it."""
    if spec.generator not in TRITON_GENERATORS:
        why = CPU_GENERATORS.get(spec.generator, "not in the Triton routing tables")
        return f"generator {spec.generator}: {why}"
    draw = parse_draw(spec.draw)
    if draw.kind not in TRITON_DRAWS:
        why = CPU_DRAWS.get(draw.kind, "not in the Triton routing tables")
        return f"draw {draw.text}: {why}"
    if draw.kind == "randrange" and draw.params[0].bit_length() > 32:
        return RANDRANGE_TWO_WORDS.format(n=draw.params[0])
    if spec.variable_gap:
        missing = [s.value for s in spec.gap_strategies if s.value not in VARIABLE_GAP_RULES]
        if missing:
            return (f"variable gaps: the Triton kernels walk the strategies "
                    f"{', '.join(VARIABLE_GAP_RULES)}; {', '.join(missing)} run on the CPU "
                    f"(gpu_executors.sieve.strategies)")
    if spec.generator in LAZY_MT:
        if spec.mode is ScanMode.STATE:
            return f"{spec.generator}: no state scan (624-word state, no inverse step)"
        last = spec.last_word()
        if last >= MT_LAZY_WORDS:
            return (
                f"{spec.generator}: the lazy MT19937 kernel computes words 0..{MT_LAZY_WORDS - 1} "
                f"of a seed (before the second twist); this scan reads word {last} (offset up to "
                f"{spec.offset_stop - 1}, {len(spec.draws)} draws, gap up to {spec.gap_max})"
            )
    return None
