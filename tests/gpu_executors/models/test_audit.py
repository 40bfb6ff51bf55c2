"""The checks' own recomputations (``models.audit``): they agree with the writer's when both
are honest, and judge constants and p-values by what they recompute."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_executors.models.audit import (
    PERMUTATIONS,
    p_values_agree,
    permutation_p,
    plain_r2,
    relatively_equal,
)
from gpu_executors.models.evaluation import permutation_p_value
from gpu_executors.models.validation import r2


def test_plain_r2_matches_the_writers_r2_and_refuses_broadcast() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    pred = y + rng.normal(size=200)
    assert relatively_equal(plain_r2(y, pred), r2(y, pred), 1e-12)
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        plain_r2(y, pred[:, None])


@pytest.mark.parametrize("signal", [0.0, 0.3, 2.0])
def test_permutation_p_agrees_with_the_writers_within_monte_carlo_error(signal: float) -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=120)
    pred = signal * y + rng.normal(size=120)
    mine = permutation_p(y, pred, seed=7)
    theirs = permutation_p_value(y, pred, r2(y, pred), seed=123)
    assert p_values_agree(theirs, mine)
    assert 1 / (PERMUTATIONS + 1) <= mine <= 1.0


def test_a_hard_coded_p_disagrees_with_the_recomputation() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=120)
    pred = rng.normal(size=120)  # no signal: p is far from 0.0001
    assert not p_values_agree(0.0001, permutation_p(y, pred))
    assert not p_values_agree(0.0004, 4 * permutation_p(y, pred), scale=4)
