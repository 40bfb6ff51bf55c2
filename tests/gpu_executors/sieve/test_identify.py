"""Pair identification: Bonferroni over the pairs scanned, skipped pairs not counted."""

from __future__ import annotations

import pytest

from gpu_executors.prng.null_model import survivor_p_value
from gpu_executors.sieve.identify import (
    PairScan,
    candidate_pairs,
    draws_for_modulus,
    identify,
)


def test_draws_for_modulus_cover_every_kind() -> None:
    assert draws_for_modulus(1000) == [
        "mod:1000",
        "nextint:1000",
        "randint:1000",
        "randrange:1000",
        "mt_rand:0:999",
        "intn:1000",
        "int63n:1000",
        "dotnet_next:1000",
    ]
    assert draws_for_modulus(2**32) == [
        "mod:4294967296",
        "randint:4294967296",
        "randrange:4294967296",
        "intn:4294967296",
        "int63n:4294967296",
    ]  # .NET's Next(n) takes n < 2^31


def test_candidate_pairs_drop_incompatible_ones() -> None:
    pairs = candidate_pairs(["msvc_rand", "mt19937"], ["mod:1000", "nextint:1000"])
    assert pairs == [
        ("msvc_rand", "mod:1000"),
        ("mt19937", "mod:1000"),
        ("mt19937", "nextint:1000"),
    ]  # msvc_rand's 15-bit words: no nextint


def test_bonferroni_over_scanned_pairs_only() -> None:
    results = {
        ("a", "mod:10"): PairScan("a", "mod:10", survivors=1, null_expected=1e-4),
        ("b", "mod:10"): PairScan("b", "mod:10", survivors=1, null_expected=0.004),
        ("c", "mod:10"): PairScan("c", "mod:10", survivors=0, null_expected=1e-4),
        ("d", "mod:10"): PairScan("d", "mod:10", skipped="48-bit seeds: give --seeds"),
    }
    seen = []
    ident = identify(list(results), lambda g, d: results[(g, d)], alpha=0.01, on_scan=seen.append)
    assert [s.generator for s in seen] == ["a", "b", "c", "d"]
    assert ident.tried == 3
    p_a = survivor_p_value(1, 1e-4)
    assert ident.p_adjusted(results[("a", "mod:10")]) == pytest.approx(3 * p_a)
    # b alone would pass at 0.01 (p ~ 0.004) but not after three tries (~0.012)
    assert [s.generator for s in ident.identified] == ["a"]
    assert [s.generator for s in ident.ranked()] == ["a", "b", "c", "d"]
    record = ident.to_dict()
    assert record["identified"] == ["a mod:10"] and record["tried"] == 3
    assert record["pairs"][-1]["skipped"] == "48-bit seeds: give --seeds"
    assert record["verdict"].endswith("Bonferroni over 3 pairs, alpha 0.01)")


def test_nothing_to_try_is_an_error() -> None:
    with pytest.raises(ValueError, match="no \\(generator, draw\\) pair"):
        identify([], lambda g, d: PairScan(g, d))
