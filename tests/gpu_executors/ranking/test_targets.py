"""Targets equal a plain reference and their chance levels, and read the holdout draws only."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from gpu_executors.ranking.schema import TARGET_SCHEMA
from gpu_executors.ranking.targets import quality_lanes, target_chance, target_columns


def reference_targets(p: np.ndarray, h: np.ndarray, low: int, m_all: int) -> tuple[float, float]:
    a, b = p - low, h - low
    hits = float((a == b).mean())
    d = np.abs(a - b) % m_all
    c = 1 - np.minimum(d, m_all - d) / (m_all / 2)
    lanes = quality_lanes(m_all)
    if lanes:
        lane = np.mean([(a % q == b % q).mean() for q in lanes])
        return hits, 0.5 * hits + 0.25 * lane + 0.25 * c.mean()
    return hits, 0.5 * hits + 0.5 * c.mean()


def test_quality_lanes():
    assert quality_lanes(1000) == [8, 125]
    assert quality_lanes(36) == [4, 9]
    assert quality_lanes(1024) == [] and quality_lanes(997) == [] and quality_lanes(2) == []
    assert quality_lanes(2 * 3 * 5) == [2, 3, 5]


@pytest.mark.parametrize(("low", "m_all"), [(0, 1000), (1, 36), (0, 997), (0, 1024)])
def test_targets_equal_reference_and_chance(low, m_all):
    rng = np.random.default_rng(m_all)
    holdout = rng.integers(low, low + m_all, 200).astype(np.int64)
    pred = rng.integers(low, low + m_all, (4000, 200)).astype(np.int64)
    pred[0] = holdout  # the exact candidate
    got = target_columns(pred, holdout, low, m_all)
    assert list(got) == list(TARGET_SCHEMA)
    assert got["holdout_hits"][0] == 1.0 and got["holdout_quality"][0] == 1.0
    for i in range(1, 6):
        hits, quality = reference_targets(pred[i], holdout, low, m_all)
        assert got["holdout_hits"][i] == pytest.approx(hits, abs=1e-12)
        assert got["holdout_quality"][i] == pytest.approx(quality, abs=1e-12)
    chance = target_chance(m_all)
    assert got["holdout_quality"][1:].mean() == pytest.approx(chance["holdout_quality"], abs=3e-3)
    assert got["holdout_hits"][1:].mean() == pytest.approx(chance["holdout_hits"], abs=3e-3)
    if m_all == 1000:
        assert chance["holdout_quality"] == pytest.approx(0.142125)


def test_targets_read_only_the_holdout():
    assert list(inspect.signature(target_columns).parameters) == [
        "pred_holdout",
        "holdout",
        "low",
        "modulus",
    ]
    with pytest.raises(ValueError, match="holdout has"):
        target_columns(np.zeros((2, 5), np.int64), np.zeros(4, np.int64), 0, 10)
