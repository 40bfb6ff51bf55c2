"""The GF(2) elimination against brute force and a plain reference elimination."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gpu_executors.linear.gf2 import Echelon, pack_bits, unpack_bits


def reference_rank(a: np.ndarray) -> int:
    """Textbook elimination on a 0/1 matrix, one row at a time."""
    a = a.copy()
    r = 0
    for c in range(a.shape[1]):
        hits = np.flatnonzero(a[r:, c])
        if len(hits) == 0:
            continue
        p = r + hits[0]
        a[[r, p]] = a[[p, r]]
        others = np.flatnonzero(a[:, c])
        a[others[others != r]] ^= a[r]
        r += 1
        if r == len(a):
            break
    return r


def add_in_chunks(ech: Echelon, a: np.ndarray, b: np.ndarray, rng) -> int:
    cuts = sorted(rng.integers(0, len(a) + 1, 3))
    bad = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(a)], strict=True):
        bad += len(ech.add(pack_bits(a[lo:hi]), b[lo:hi]))
    return bad


def test_pack_round_trip() -> None:
    bits = np.random.default_rng(0).integers(0, 2, (5, 130)).astype(np.uint8)
    assert (unpack_bits(pack_bits(bits), 130) == bits).all()


@pytest.mark.parametrize("seed", range(6))
def test_random_systems_match_the_reference(seed: int) -> None:
    """Rank, consistency, a solution and the nullspace, on systems of up to 200 unknowns
    (several 64-column blocks) added in random chunks."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n, m = int(rng.integers(1, 200)), int(rng.integers(1, 260))
        a = (rng.random((m, n)) < rng.uniform(0.02, 0.6)).astype(np.uint8)
        b = (a.astype(int) @ rng.integers(0, 2, n) % 2).astype(np.uint8)
        if rng.random() < 0.4:
            b[rng.integers(0, m)] ^= 1
        ech = Echelon(n)
        bad = add_in_chunks(ech, a, b, rng)
        rank = reference_rank(a)
        assert ech.rank == rank
        assert ech.consistent == (reference_rank(np.c_[a, b]) == rank)
        assert (bad == 0) == ech.consistent
        if not ech.consistent:
            with pytest.raises(ValueError, match="inconsistent"):
                ech.solution()
            continue
        x = unpack_bits(ech.solution(), n)
        assert ((a.astype(int) @ x) % 2 == b).all()
        null = ech.nullspace(limit=n)
        assert len(null) == ech.nullity == n - rank
        for v in null:
            assert ((a.astype(int) @ unpack_bits(v, n)) % 2 == 0).all()


def test_solution_count_matches_brute_force() -> None:
    """2^nullity solutions, counted by trying every assignment of 10 unknowns."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        a = rng.integers(0, 2, (int(rng.integers(1, 12)), 10)).astype(np.uint8)
        b = rng.integers(0, 2, len(a)).astype(np.uint8)
        ech = Echelon(10)
        ech.add(pack_bits(a), b)
        count = sum(
            ((a.astype(int) @ np.array(x)) % 2 == b).all()
            for x in itertools.product((0, 1), repeat=10))
        assert count == (2**ech.nullity if ech.consistent else 0)


def test_inconsistent_rows_are_reported_not_solved() -> None:
    ech = Echelon(3)
    rows = pack_bits(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], np.uint8))
    bad = ech.add(rows, np.array([1, 1, 1], np.uint8))  # the third is the sum of the others: 0
    assert list(bad) == [2] and not ech.consistent and ech.inconsistent == 1
    with pytest.raises(ValueError, match="inconsistent"):
        ech.solution()
