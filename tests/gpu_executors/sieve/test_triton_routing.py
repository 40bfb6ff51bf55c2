"""The Triton routing tables cannot silently rot: every generator and draw function the CPU
supports is either claimed by a kernel or routed to the CPU with a reason (no triton needed)."""

from __future__ import annotations

import pytest

from gpu_executors.prng.draws import DRAW_KINDS, check_compatible, parse_draw
from gpu_executors.prng.generators import GENERATORS, get_generator
from gpu_executors.sieve.spec import ScanSpec
from gpu_executors.sieve.strategies import RULES, GapStrategy
from gpu_executors.sieve.triton.launch import draw_params
from gpu_executors.sieve.triton.routing import (
    CPU_DRAWS,
    CPU_GENERATORS,
    LAZY_MT,
    STEPPED,
    TRITON_DRAWS,
    TRITON_GENERATORS,
    VARIABLE_GAP_RULES,
    cpu_route,
)

# One valid parameter text per draw kind, for the checks below.
SAMPLE_DRAW = {
    "mod": "mod:10",
    "nextint": "nextint:10",
    "randint": "randint:10",
    "randrange": "randrange:10",
    "mt_rand": "mt_rand:1:10",
    "intn": "intn:10",
    "int63n": "int63n:10",
    "dotnet_next": "dotnet_next:10",
    "dotnet_range": "dotnet_range:0:10",
}


def _compatible(gen_name: str, draw: str) -> bool:
    try:
        check_compatible(get_generator(gen_name), parse_draw(draw))
    except ValueError:
        return False
    return True


def test_every_generator_is_claimed_or_routed_with_a_reason() -> None:
    claimed, routed = set(TRITON_GENERATORS), set(CPU_GENERATORS)
    assert not claimed & routed, "a generator is both claimed and routed"
    assert claimed | routed == set(GENERATORS), "a generator is in neither table (or a stale one)"
    assert set(STEPPED) | set(LAZY_MT) == claimed
    assert all(len(why) > 40 for why in CPU_GENERATORS.values())


def test_every_draw_kind_is_claimed_or_routed_with_a_reason() -> None:
    assert set(SAMPLE_DRAW) == set(DRAW_KINDS), "a draw kind has no sample here"
    claimed, routed = set(TRITON_DRAWS), set(CPU_DRAWS)
    assert not claimed & routed
    assert claimed | routed == set(DRAW_KINDS)
    assert all(len(why) > 40 for why in CPU_DRAWS.values())


def test_claimed_draws_have_kernel_parameters() -> None:
    for kind in TRITON_DRAWS:
        gen = get_generator("pcg32")
        kernel_kind, params, _rejects = draw_params(gen, parse_draw(SAMPLE_DRAW[kind]))
        assert kernel_kind and len(params) == 3


def test_routed_draws_only_apply_to_routed_generators() -> None:
    """The CPU_DRAWS reasons say so: no claimed generator produces the words they read."""
    for kind in CPU_DRAWS:
        users = {g for g in GENERATORS if _compatible(g, SAMPLE_DRAW[kind])}
        assert users and users <= set(CPU_GENERATORS), (kind, users)


@pytest.mark.parametrize("gen_name", sorted(GENERATORS))
def test_cpu_route_names_the_reason(gen_name: str) -> None:
    draw = next(d for d in SAMPLE_DRAW.values() if _compatible(gen_name, d))
    why = cpu_route(ScanSpec(gen_name, draw, (1, 2, 3)))
    if gen_name in CPU_GENERATORS:
        assert why == f"generator {gen_name}: {CPU_GENERATORS[gen_name]}"
    else:
        assert why is None


def test_cpu_route_of_claimed_generators_beyond_the_kernels() -> None:
    assert "two words per try" in cpu_route(ScanSpec("pcg32", "randrange:4294967296", (1,)))
    assert "no state scan" in cpu_route(ScanSpec("mt19937", "mod:10", (1,), mode="state"))
    late = ScanSpec("mt19937", "mod:10", (1, 2), offset_stop=230)
    assert "words 0..226" in cpu_route(late)
    assert cpu_route(ScanSpec("mt19937", "mod:10", (1, 2), offset_stop=200)) is None
    assert cpu_route(ScanSpec("pcg32", "mod:10", (1, 2), mode="state", anchor=1)) is None
    # variable gaps: each strategy alone and all of them (the default) run on the GPU
    for strategy in GapStrategy:
        assert cpu_route(ScanSpec("minstd", "mod:10", (1, 2), variable_gap=True, gap_max=3,
                                  gap_strategies=(strategy,))) is None, strategy
    assert cpu_route(ScanSpec("minstd", "mod:10", (1, 2), variable_gap=True, gap_max=3)) is None


def test_every_gap_strategy_is_claimed_by_the_kernels() -> None:
    """A strategy added to ``GapStrategy`` fails here until the kernels walk it; one named in the
    routing table must be a real strategy with a rule the kernels read."""
    assert set(VARIABLE_GAP_RULES) == {s.value for s in GapStrategy}
    assert set(RULES) == set(GapStrategy)


def test_a_strategy_the_kernels_do_not_walk_is_routed_with_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard that stays for a future strategy: it names what runs on the CPU."""
    from gpu_executors.sieve.triton import routing

    monkeypatch.setattr(routing, "VARIABLE_GAP_RULES", ("greedy",))
    why = cpu_route(ScanSpec("minstd", "mod:10", (1, 2), variable_gap=True, gap_max=3))
    assert why is not None and "steady, drift, wide run on the CPU" in why
